// The prober pool's tcp and dns checks: raw non-blocking sockets, on the prober threads.
#include "probes/prober_thread.hpp"

namespace dnslb::probes {

using namespace detail;  // NOLINT(google-build-using-namespace): this library's own helpers

void ProberPool::ProberThread::start_tcp(Check& c) {
    c.fd = ::socket(c.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
        complete(c, false, errno_reason("socket", errno));
        return;
    }
    // Close with RST: thousands of checks a second must not leave sockets in TIME_WAIT.
    linger lg{1, 0};
    setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    if (!bind_source(c.fd, c.family, pool_.source_for(c.family))) {
        fail_raw(c, "bind to the probe source failed", errno);
        return;
    }
    sockaddr_storage ss{};
    socklen_t len = make_sockaddr(c.family, c.addr, c.spec.port, ss);
    if (::connect(c.fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) {
        c.close_fd();
        complete(c, true, {});
        return;
    }
    if (errno != EINPROGRESS) {
        fail_raw(c, "connect failed", errno);
        return;
    }
    await_raw(c, POLLOUT);
}

void ProberPool::ProberThread::start_dns(Check& c) {
    if (c.query.empty()) {
        c.query = build_query(c.spec);
    }
    c.dns_id = static_cast<uint16_t>(rng_());
    c.query[0] = static_cast<uint8_t>(c.dns_id >> 8);
    c.query[1] = static_cast<uint8_t>(c.dns_id & 0xff);
    c.fd = ::socket(c.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
        complete(c, false, errno_reason("socket", errno));
        return;
    }
    if (!bind_source(c.fd, c.family, pool_.source_for(c.family))) {
        fail_raw(c, "bind to the probe source failed", errno);
        return;
    }
    // A connected UDP socket only accepts datagrams from the checked server (RFC 5452 section
    // 9.1 spirit) and reports ICMP port unreachable as ECONNREFUSED.
    sockaddr_storage ss{};
    socklen_t len = make_sockaddr(c.family, c.addr, c.spec.port, ss);
    if (::connect(c.fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
        ::send(c.fd, c.query.data(), c.query.size(), 0) < 0) {
        fail_raw(c, "send failed", errno);
        return;
    }
    await_raw(c, POLLIN);
}

void ProberPool::ProberThread::fail_raw(Check& c, const char* what, int err) {
    c.close_fd();
    complete(c, false, errno_reason(what, err));
}

void ProberPool::ProberThread::await_raw(Check& c, short events) {
    c.events = events;
    c.deadline = c.started + std::chrono::milliseconds(c.spec.timeout_ms);
    raw_in_flight_.push_back(&c);
}

void ProberPool::ProberThread::forget_raw(Check& c) {
    auto it = std::find(raw_in_flight_.begin(), raw_in_flight_.end(), &c);
    if (it != raw_in_flight_.end()) {
        *it = raw_in_flight_.back();
        raw_in_flight_.pop_back();
    }
}

void ProberPool::ProberThread::handle_raw(Check& c, short revents) {
    if (c.spec.type == MonitorType::kDns) {
        read_dns(c);
        return;
    }
    if ((revents & (POLLOUT | POLLERR | POLLHUP)) == 0) {
        return;
    }
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    forget_raw(c);
    if (err == 0) {
        c.close_fd();
        complete(c, true, {});
    } else {
        fail_raw(c, "connect failed", err);
    }
}

void ProberPool::ProberThread::read_dns(Check& c) {
    uint8_t buf[4096];
    for (;;) {
        ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return;  // keep waiting until the deadline
            }
            const int err = errno;
            forget_raw(c);
            fail_raw(c, "recv failed", err);
            return;
        }
        auto size = static_cast<size_t>(n);
        size_t qlen = c.query.size();
        // RFC 1035 4.1.1: an answer to our query has our ID, QR set, and echoes the question.
        if (size < qlen || buf[0] != c.query[0] || buf[1] != c.query[1] || (buf[2] & 0x80) == 0 ||
            buf[4] != 0 || buf[5] != 1) {
            continue;
        }
        bool same_question = true;
        for (size_t i = 12; i < qlen && same_question; ++i) {
            same_question = std::tolower(buf[i]) == std::tolower(c.query[i]);
        }
        if (!same_question) {
            continue;
        }
        forget_raw(c);
        c.close_fd();
        auto rcode = static_cast<uint8_t>(buf[3] & 0x0f);
        unsigned ancount = (unsigned{buf[6]} << 8) | buf[7];
        if (rcode != c.spec.rcode) {
            const char* name = rcode_name(rcode);
            complete(c, false, std::string("rcode ") + (name ? name : std::to_string(rcode)));
        } else if (rcode == 0 && ancount == 0) {
            complete(c, false, (buf[2] & 0x02) != 0 ? "no answer (truncated)" : "no answer");
        } else {
            complete(c, true, {});
        }
        return;
    }
}

void ProberPool::ProberThread::expire_raw(Clock::time_point now) {
    std::vector<Check*> expired;
    for (Check* c : raw_in_flight_) {
        if (c->deadline <= now) {
            expired.push_back(c);
        }
    }
    for (Check* c : expired) {
        forget_raw(*c);
        c->close_fd();
        complete(*c, false, "timeout after " + format_duration_ms(c->spec.timeout_ms));
    }
}

}  // namespace dnslb::probes
