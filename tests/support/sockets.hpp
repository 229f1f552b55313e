// Sockets for the local test servers (tests/support backends, the e2e TLS backend, the probe
// unit tests): bound to an IPv4 or IPv6 address given as text.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>

namespace dnslb::test {

// A socket of `type` (SOCK_STREAM, SOCK_DGRAM) bound to ip:port (port 0: any free one), with
// SO_REUSEADDR; -1 when it cannot be bound. Throws std::runtime_error for text that is not an
// IP address.
int bind_socket(const std::string& ip, uint16_t port, int type);

// A listening TCP socket on ip:port; throws std::runtime_error (with the reason) when it
// cannot be had.
int listen_socket(const std::string& ip, uint16_t port, int backlog = 128);

// The IPv4 socket address ip:port; throws std::runtime_error for text that is not one.
sockaddr_in ipv4_address(const std::string& ip, uint16_t port);

// The port a bound socket has.
uint16_t local_port(int fd);

}  // namespace dnslb::test
