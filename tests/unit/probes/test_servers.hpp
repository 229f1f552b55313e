// Small real servers on loopback for the probes tests: an HTTP responder whose status, body and
// delay can be changed while it runs, a UDP DNS responder, and an `openssl s_server` with a
// self-signed certificate for https.
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

namespace probes_test {

inline sockaddr_in loopback(const char* ip, uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    inet_pton(AF_INET, ip, &sa.sin_addr);
    return sa;
}

// Binds a new TCP socket to ip:0 (IPv4 or IPv6 text); returns the descriptor.
inline int bind_any(const std::string& ip) {
    int fd = dnslb::test::bind_socket(ip, 0, SOCK_STREAM);
    if (fd < 0) {
        throw std::runtime_error("cannot bind " + ip);
    }
    return fd;
}

// A TCP port on `ip` with nothing listening: connecting to it is refused.
inline uint16_t closed_port(const char* ip = "127.0.0.1") {
    int fd = bind_any(ip);
    uint16_t port = dnslb::test::local_port(fd);
    close(fd);
    return port;
}

inline bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return pred();
}

// HTTP/1.1 on a loopback address (tests/support/http_backend.hpp).
using HttpServer = dnslb::test::HttpBackend;

// A DNS server on a free loopback port (tests/support/dns_backend.hpp).
using DnsServer = dnslb::test::DnsBackend;

// `openssl s_server -www` with a certificate for IP 127.0.0.1 signed by nobody we trust.
class TlsServer {
public:
    TlsServer() {
        char tmpl[] = "/tmp/probes-tls-XXXXXX";
        if (mkdtemp(tmpl) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        dir_ = tmpl;
        std::string cmd =
            "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost"
            " -addext subjectAltName=IP:127.0.0.1 -keyout " +
            dir_ + "/key.pem -out " + dir_ + "/cert.pem >/dev/null 2>&1";
        if (std::system(cmd.c_str()) != 0) {
            throw std::runtime_error("openssl req failed");
        }
        port_ = closed_port();
        std::string accept = "127.0.0.1:" + std::to_string(port_);
        std::string cert = dir_ + "/cert.pem";
        std::string key = dir_ + "/key.pem";
        pid_ = fork();
        if (pid_ == 0) {
            int null = open("/dev/null", 0);
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
            execlp("openssl", "openssl", "s_server", "-accept", accept.c_str(), "-cert",
                   cert.c_str(), "-key", key.c_str(), "-www", "-quiet", nullptr);
            _exit(127);
        }
        bool up = wait_until(
            [&] {
                int fd = socket(AF_INET, SOCK_STREAM, 0);
                sockaddr_in sa = loopback("127.0.0.1", port_);
                bool ok = connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
                close(fd);
                return ok;
            },
            std::chrono::seconds(5));
        if (!up) {
            throw std::runtime_error("openssl s_server did not start");
        }
    }
    ~TlsServer() {
        kill(pid_, SIGTERM);
        waitpid(pid_, nullptr, 0);
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    TlsServer(const TlsServer&) = delete;
    TlsServer& operator=(const TlsServer&) = delete;
    uint16_t port() const { return port_; }

private:
    std::string dir_;
    uint16_t port_ = 0;
    pid_t pid_ = -1;
};

}  // namespace probes_test
