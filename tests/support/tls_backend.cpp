#include "tests/support/tls_backend.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "tests/support/sockets.hpp"

namespace dnslb::test {

namespace {

using Clock = std::chrono::steady_clock;

// A free TCP port on `ip`: bound once, then released for openssl to take.
uint16_t free_port(const std::string& ip) {
    int fd = bind_socket(ip, 0, SOCK_STREAM);
    if (fd < 0) {
        throw std::runtime_error("cannot bind " + ip);
    }
    uint16_t port = local_port(fd);
    close(fd);
    return port;
}

bool accepts(const std::string& ip, uint16_t port) {
    sockaddr_in sa = ipv4_address(ip, port);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    close(fd);
    return ok;
}

}  // namespace

TlsBackend::TlsBackend(std::string ip, uint16_t port)
    : ip_(std::move(ip)), port_(port != 0 ? port : free_port(ip_)) {
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
    auto end = Clock::now() + std::chrono::seconds(5);
    while (!accepts(ip_, port_)) {
        if (Clock::now() >= end) {
            kill(pid_, SIGTERM);
            waitpid(pid_, nullptr, 0);
            throw std::runtime_error("openssl s_server did not start on " + accept);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
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

}  // namespace dnslb::test
