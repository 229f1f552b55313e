#include "tests/support/http_backend.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace dnslb::test {

namespace {

using Clock = std::chrono::steady_clock;

// A listening TCP socket on ip:port (port 0: any free one); throws when it cannot be had.
int listen_on(const std::string& ip, uint16_t port) {
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
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0 || listen(fd, 128) != 0) {
        const int err = errno;
        if (fd >= 0) {
            close(fd);
        }
        throw std::runtime_error("cannot listen on " + ip + ":" + std::to_string(port) + ": " +
                                 std::strerror(err));
    }
    return fd;
}

uint16_t local_port(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    return ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

bool readable(int fd, int ms) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, ms) > 0;
}

}  // namespace

HttpBackend::HttpBackend(std::string ip, uint16_t port) : ip_(std::move(ip)), port_(port) {
    start();
}

HttpBackend::~HttpBackend() { stop(); }

void HttpBackend::start() {
    if (fd_ >= 0) {
        return;
    }
    fd_ = listen_on(ip_, port_);
    port_ = local_port(fd_);
    stop_ = false;
    thread_ = std::thread([this] { serve(); });
}

void HttpBackend::stop() {
    stop_ = true;
    if (thread_.joinable()) {
        thread_.join();
    }
    if (fd_ >= 0) {
        close(fd_);
        fd_ = -1;
    }
}

void HttpBackend::set_body(std::string body) {
    std::lock_guard lock(mutex_);
    body_ = std::move(body);
}

std::string HttpBackend::last_request() const {
    std::lock_guard lock(mutex_);
    return last_request_;
}

void HttpBackend::serve() {
    while (!stop_) {
        if (!readable(fd_, 20)) {
            continue;
        }
        int conn = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (conn >= 0) {
            ++connections_;
            handle(conn);
            close(conn);
        }
    }
}

void HttpBackend::handle(int conn) {
    std::string req;
    char buf[2048];
    auto end = Clock::now() + std::chrono::seconds(2);
    while (req.find("\r\n\r\n") == std::string::npos && Clock::now() < end && !stop_) {
        if (!readable(conn, 20)) {
            continue;
        }
        ssize_t n = recv(conn, buf, sizeof buf, 0);
        if (n <= 0) {
            return;  // a tcp check: connected and closed without a request
        }
        req.append(buf, static_cast<size_t>(n));
    }
    if (req.find("\r\n\r\n") == std::string::npos) {
        return;
    }
    ++requests_;
    std::string body;
    {
        std::lock_guard lock(mutex_);
        last_request_ = req;
        body = body_;
    }
    for (int waited = 0; waited < delay_ms_ && !stop_; waited += 10) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    int status = status_;
    std::string resp =
        "HTTP/1.1 " + std::to_string(status) + " " + (status < 400 ? "OK" : "Unavailable") +
        "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\nConnection: close\r\n\r\n" + body;
    send(conn, resp.data(), resp.size(), MSG_NOSIGNAL);
}

}  // namespace dnslb::test
