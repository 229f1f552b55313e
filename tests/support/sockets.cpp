#include "tests/support/sockets.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace dnslb::test {

int bind_socket(const std::string& ip, uint16_t port, int type) {
    const bool v6 = ip.find(':') != std::string::npos;
    sockaddr_storage ss{};
    socklen_t len = 0;
    int ok = 0;
    if (v6) {
        auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
        sa->sin6_family = AF_INET6;
        sa->sin6_port = htons(port);
        ok = inet_pton(AF_INET6, ip.c_str(), &sa->sin6_addr);
        len = sizeof *sa;
    } else {
        auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
        sa->sin_family = AF_INET;
        sa->sin_port = htons(port);
        ok = inet_pton(AF_INET, ip.c_str(), &sa->sin_addr);
        len = sizeof *sa;
    }
    if (ok != 1) {
        throw std::runtime_error("not an IP address: " + ip);
    }
    int fd = socket(v6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    const int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int listen_socket(const std::string& ip, uint16_t port, int backlog) {
    int fd = bind_socket(ip, port, SOCK_STREAM);
    if (fd < 0 || listen(fd, backlog) != 0) {
        const int err = errno;
        if (fd >= 0) {
            close(fd);
        }
        throw std::runtime_error("cannot listen on " + ip + ":" + std::to_string(port) + ": " +
                                 std::strerror(err));
    }
    return fd;
}

sockaddr_in ipv4_address(const std::string& ip, uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (inet_pton(AF_INET, ip.c_str(), &sa.sin_addr) != 1) {
        throw std::runtime_error("not an IPv4 address: " + ip);
    }
    return sa;
}

uint16_t local_port(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    return ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

}  // namespace dnslb::test
