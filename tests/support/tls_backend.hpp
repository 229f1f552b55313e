// A TLS server for the health-check tests (unit and e2e): `openssl s_server -www` on ip:port
// (IPv4 text) with a self-signed certificate made for the test (`openssl req -x509 -newkey
// rsa:2048 -nodes -days 1`, CN and subjectAltName the address): valid for the name, signed by
// nobody a client trusts.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "tests/support/no_copy.hpp"

namespace dnslb::test {

class TlsBackend : NoCopy {
public:
    // Returns once the server accepts connections (port 0: a free port, read back with
    // port()); throws std::runtime_error when openssl fails or does not come up within 5 s.
    explicit TlsBackend(std::string ip = "127.0.0.1", uint16_t port = 0);
    ~TlsBackend();

    uint16_t port() const { return port_; }

private:
    std::string ip_;
    uint16_t port_ = 0;
    std::string dir_;
    pid_t pid_ = -1;
};

}  // namespace dnslb::test
