#include "tests/support/dns_backend.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iterator>
#include <stdexcept>
#include <vector>

#include "tests/support/sockets.hpp"

namespace dnslb::test {

namespace {

// The end of the question section (after QTYPE and QCLASS), or 0 if the query has none that
// can be read without compression.
size_t question_end(const uint8_t* p, size_t n) {
    size_t at = 12;
    while (at < n && p[at] != 0) {
        if ((p[at] & 0xC0) != 0) {
            return 0;
        }
        at += 1 + p[at];
    }
    return at + 5 <= n ? at + 5 : 0;
}

}  // namespace

DnsBackend::DnsBackend(std::string ip, uint16_t port) : ip_(std::move(ip)), port_(port) {
    fd_ = bind_socket(ip_, port_, SOCK_DGRAM);
    if (fd_ < 0) {
        throw std::runtime_error("cannot bind udp " + ip_ + ":" + std::to_string(port_));
    }
    port_ = local_port(fd_);
    thread_ = std::thread([this] { serve(); });
}

DnsBackend::~DnsBackend() {
    stop_ = true;
    thread_.join();
    close(fd_);
}

void DnsBackend::serve() {
    uint8_t buf[512];
    while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0) {
            continue;
        }
        sockaddr_in from{};
        socklen_t len = sizeof from;
        ssize_t n = recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 12) {
            continue;
        }
        ++queries_;
        const Mode mode = mode_;
        const size_t end = question_end(buf, static_cast<size_t>(n));
        if (mode == Mode::kSilent || end == 0) {
            continue;
        }
        // The header and the question, then the answer: the query's OPT is not echoed.
        std::vector<uint8_t> r(buf, buf + end);
        r[2] = static_cast<uint8_t>(0x84 | (buf[2] & 0x01));  // QR, AA; RD copied
        r[3] = mode == Mode::kServfail ? 2 : 0;
        r[4] = 0;
        r[5] = 1;
        r[6] = r[7] = r[8] = r[9] = r[10] = r[11] = 0;
        if (mode == Mode::kAnswer) {
            r[7] = 1;
            // Owner: pointer to the question name (offset 12); A IN, TTL 60, 192.0.2.1.
            const uint8_t rr[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1};
            r.insert(r.end(), std::begin(rr), std::end(rr));
        }
        sendto(fd_, r.data(), r.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
}

}  // namespace dnslb::test
