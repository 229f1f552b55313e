// Real backends on loopback aliases (127.0.0.x) for the health end-to-end tests: an HTTP server
// whose status, body and delay change while it runs and that can be stopped and restarted on the
// same address, a UDP DNS responder, `openssl s_server` with a certificate made for the test, and
// a blackhole (a listening socket whose accept queue is full, so connects hang until they time
// out). Every backend counts what it received so a test can tell how often it was checked.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/dns_backend.hpp"
#include "tests/support/http_backend.hpp"
#include "tests/support/no_copy.hpp"
#include "tests/support/tls_backend.hpp"
#include "tests/support/wait_until.hpp"

namespace dnslb::e2e {

// A port on which a socket of `type` (SOCK_STREAM, SOCK_DGRAM) can be bound on every address of
// `ips` (IPv4 text), so one monitor port reaches a backend on each of them. Throws when none is
// found.
uint16_t common_port(const std::vector<std::string>& ips, int type = SOCK_STREAM);

// Polls `pred` until it holds or a limit passes (tests/support/wait_until.hpp).
using test::wait_until;

// HTTP/1.1 on ip:port (tests/support/http_backend.hpp).
using HttpBackend = test::HttpBackend;

// A DNS server on ip:port (tests/support/dns_backend.hpp).
using DnsBackend = test::DnsBackend;

// `openssl s_server -www` on ip:port with a certificate nobody trusts
// (tests/support/tls_backend.hpp).
using TlsBackend = test::TlsBackend;

// A listening TCP socket on ip:port that never accepts, with its accept queue filled by our own
// connects: further SYNs are dropped, so a connect neither succeeds nor is refused and every
// check runs into its timeout.
class Blackhole : test::NoCopy {
public:
    Blackhole(std::string ip, uint16_t port);
    ~Blackhole();

    // True when a fresh connect does not complete within `wait`: the hole swallows connects.
    bool swallows(std::chrono::milliseconds wait) const;

private:
    std::string ip_;
    uint16_t port_ = 0;
    int fd_ = -1;
    std::vector<int> fillers_;
};

}  // namespace dnslb::e2e
