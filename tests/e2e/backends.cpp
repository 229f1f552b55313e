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

// ---- Blackhole -------------------------------------------------------------------------------

Blackhole::Blackhole(std::string ip, uint16_t port) : ip_(std::move(ip)), port_(port) {
    // Backlog 0: the accept queue holds one connection; once it is full Linux drops further
    // SYNs (tcp_conn_request), so a client's connect stays pending.
    fd_ = test::listen_socket(ip_, port_, 0);
    sockaddr_in sa = test::ipv4_address(ip_, port_);
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
    sockaddr_in sa = test::ipv4_address(ip_, port_);
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
