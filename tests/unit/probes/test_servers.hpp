// Small real servers on loopback for the probes tests: an HTTP responder whose status, body and
// delay can be changed while it runs, a UDP DNS responder, and an `openssl s_server` with a
// self-signed certificate for https (all from tests/support).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/dns_backend.hpp"
#include "tests/support/http_backend.hpp"
#include "tests/support/sockets.hpp"
#include "tests/support/tls_backend.hpp"
#include "tests/support/wait_until.hpp"

namespace probes_test {

// A TCP port on `ip` with nothing listening: connecting to it is refused.
inline uint16_t closed_port(const std::string& ip = "127.0.0.1") {
    int fd = dnslb::test::bind_socket(ip, 0, SOCK_STREAM);
    if (fd < 0) {
        throw std::runtime_error("cannot bind " + ip);
    }
    uint16_t port = dnslb::test::local_port(fd);
    close(fd);
    return port;
}

using dnslb::test::wait_until;

// HTTP/1.1 on a loopback address (tests/support/http_backend.hpp).
using HttpServer = dnslb::test::HttpBackend;

// A DNS server on a free loopback port (tests/support/dns_backend.hpp).
using DnsServer = dnslb::test::DnsBackend;

// `openssl s_server -www` on 127.0.0.1, a free port (tests/support/tls_backend.hpp).
using TlsServer = dnslb::test::TlsBackend;

}  // namespace probes_test
