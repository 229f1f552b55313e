// Socket set-up for the query threads: addresses, SO_REUSEPORT sockets, the asker of a
// received datagram or connection.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include "dnslb/answer/context.hpp"
#include "dnslb/config/config.hpp"

namespace dnslb::server {

union SockAddr {
    sockaddr sa;
    sockaddr_in v4;
    sockaddr_in6 v6;
    sockaddr_storage storage;
};

// The socket address of a listen address; `len` receives its length.
SockAddr to_sockaddr(const config::ListenAddress& a, socklen_t& len);
// The asker of a received datagram or accepted connection.
ClientAddress client_of(const sockaddr* sa) noexcept;
// A non-blocking, close-on-exec socket of `type` (SOCK_DGRAM, SOCK_STREAM) with SO_REUSEPORT,
// bound to `a` (not yet listening). Throws std::runtime_error naming the address and the
// reason.
int bound_socket(const config::ListenAddress& a, int type);

}  // namespace dnslb::server
