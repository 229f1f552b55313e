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

#include "tests/support/sockets.hpp"

namespace dnslb::test {

namespace {

using Clock = std::chrono::steady_clock;

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
    fd_ = listen_socket(ip_, port_);
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

std::map<std::string, int> HttpBackend::requests_by_source() const {
    std::lock_guard lock(mutex_);
    return by_source_;
}

void HttpBackend::clear_counts() {
    std::lock_guard lock(mutex_);
    by_source_.clear();
}

void HttpBackend::set_refused(std::set<std::string> sources) {
    std::lock_guard lock(mutex_);
    refused_ = std::move(sources);
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
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        int conn = accept4(fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_CLOEXEC);
        if (conn >= 0) {
            ++connections_;
            char text[INET6_ADDRSTRLEN] = {};
            const void* addr = ss.ss_family == AF_INET6
                                   ? static_cast<const void*>(
                                         &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr)
                                   : &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr;
            inet_ntop(ss.ss_family, addr, text, sizeof text);
            bool refused = false;
            {
                std::lock_guard lock(mutex_);
                refused = refused_.count(text) != 0;
            }
            if (refused) {
                linger lg{1, 0};  // RST: the client sees the connection reset
                setsockopt(conn, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            } else {
                handle(conn, text);
            }
            close(conn);
        }
    }
}

void HttpBackend::handle(int conn, const std::string& peer) {
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
        ++by_source_[peer];
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
