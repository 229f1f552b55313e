#include "tests/e2e/backends.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "tests/support/sockets.hpp"

namespace dnslb::e2e {

namespace {

using Clock = std::chrono::steady_clock;

sockaddr_in make_addr(const std::string& ip, uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (inet_pton(AF_INET, ip.c_str(), &sa.sin_addr) != 1) {
        throw std::runtime_error("not an IPv4 address: " + ip);
    }
    return sa;
}

}  // namespace

uint16_t common_port(const std::vector<std::string>& ips, int type) {
    for (int attempt = 0; attempt < 100 && !ips.empty(); ++attempt) {
        int first = test::bind_socket(ips.front(), 0, type);
        if (first < 0) {
            continue;
        }
        uint16_t port = test::local_port(first);
        bool all = true;
        for (size_t i = 1; i < ips.size() && all; ++i) {
            int fd = test::bind_socket(ips[i], port, type);
            all = fd >= 0;
            if (fd >= 0) {
                close(fd);
            }
        }
        close(first);
        if (all) {
            return port;
        }
    }
    throw std::runtime_error("no port free on every backend address");
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit,
                std::chrono::milliseconds step) {
    auto end = Clock::now() + limit;
    while (Clock::now() < end) {
        if (pred()) {
            return true;
        }
        std::this_thread::sleep_for(step);
    }
    return pred();
}

// ---- TlsBackend ------------------------------------------------------------------------------

TlsBackend::TlsBackend(std::string ip, uint16_t port) : ip_(std::move(ip)), port_(port) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "dnslb-tls-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
        throw std::runtime_error("mkdtemp failed");
    }
    dir_ = tmpl;
    std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=" + ip_ +
                      " -addext subjectAltName=IP:" + ip_ + " -keyout " + dir_ + "/key.pem -out " +
                      dir_ + "/cert.pem >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) {
        throw std::runtime_error("openssl req failed");
    }
    std::string accept = ip_ + ":" + std::to_string(port_);
    std::string cert = dir_ + "/cert.pem";
    std::string key = dir_ + "/key.pem";
    pid_ = fork();
    if (pid_ == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execlp("openssl", "openssl", "s_server", "-accept", accept.c_str(), "-cert", cert.c_str(),
               "-key", key.c_str(), "-www", "-quiet", nullptr);
        _exit(127);
    }
    bool up = wait_until(
        [&] {
            int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            sockaddr_in sa = make_addr(ip_, port_);
            bool ok = connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
            close(fd);
            return ok;
        },
        std::chrono::seconds(5), std::chrono::milliseconds(20));
    if (!up) {
        throw std::runtime_error("openssl s_server did not start on " + accept);
    }
}

TlsBackend::~TlsBackend() {
    if (pid_ > 0) {
        kill(pid_, SIGTERM);
        waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

// ---- Blackhole -------------------------------------------------------------------------------

Blackhole::Blackhole(std::string ip, uint16_t port) : ip_(std::move(ip)), port_(port) {
    // Backlog 0: the accept queue holds one connection; once it is full Linux drops further
    // SYNs (tcp_conn_request), so a client's connect stays pending.
    fd_ = test::listen_socket(ip_, port_, 0);
    sockaddr_in sa = make_addr(ip_, port_);
    for (int i = 0; i < 3; ++i) {
        int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        connect(c, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
        fillers_.push_back(c);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

Blackhole::~Blackhole() {
    for (int c : fillers_) {
        close(c);
    }
    close(fd_);
}

bool Blackhole::swallows(std::chrono::milliseconds wait) const {
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in sa = make_addr(ip_, port_);
    int rc = connect(c, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    bool pending = rc != 0 && errno == EINPROGRESS;
    if (pending) {
        pollfd p{c, POLLOUT, 0};
        pending = poll(&p, 1, static_cast<int>(wait.count())) == 0;
    }
    close(c);
    return pending;
}

}  // namespace dnslb::e2e
