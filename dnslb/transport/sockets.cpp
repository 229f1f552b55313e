#include "dnslb/transport/sockets.hpp"

#include <arpa/inet.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "dnslb/base/errno_text.hpp"

namespace dnslb::server {

SockAddr to_sockaddr(const config::ListenAddress& a, socklen_t& len) {
    SockAddr sa{};
    if (inet_pton(AF_INET, a.host.c_str(), &sa.v4.sin_addr) == 1) {
        sa.v4.sin_family = AF_INET;
        sa.v4.sin_port = htons(a.port);
        len = sizeof(sockaddr_in);
    } else {
        inet_pton(AF_INET6, a.host.c_str(), &sa.v6.sin6_addr);
        sa.v6.sin6_family = AF_INET6;
        sa.v6.sin6_port = htons(a.port);
        len = sizeof(sockaddr_in6);
    }
    return sa;
}

ClientAddress client_of(const sockaddr* sa) noexcept {
    ClientAddress c;
    if (sa->sa_family == AF_INET) {
        c.family = 4;
        std::memcpy(c.bytes, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, 4);
    } else {
        c.family = 6;
        std::memcpy(c.bytes, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, 16);
    }
    return c;
}

// libuv 1.44 has no UV_UDP_REUSEPORT: the option goes on the fd before bind.
int bound_socket(const config::ListenAddress& a, int type) {
    socklen_t len = 0;
    SockAddr sa = to_sockaddr(a, len);
    int fd = socket(sa.sa.sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw std::runtime_error(a.text() + ": socket: " + base::errno_text(errno));
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (sa.sa.sa_family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    if (type == SOCK_DGRAM) {
        // Bursts beyond the default 208 KiB receive buffer were lost as RcvbufErrors before the
        // worker could read them; FORCE works as root past net.core.rmem_max.
        int bytes = 4 << 20;
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) != 0) {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
        }
    }
    if (bind(fd, &sa.sa, len) != 0) {
        int err = errno;
        close(fd);
        throw std::runtime_error(a.text() + (type == SOCK_DGRAM ? " (udp)" : " (tcp)") +
                                 ": bind: " + base::errno_text(err));
    }
    return fd;
}

}  // namespace dnslb::server
