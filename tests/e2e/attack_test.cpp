// Hostile traffic against the real binary, on loopback only: reflection floods under response
// rate limiting, garbage floods, thousands of idle TCP connections, slow senders, per-source and
// per-connection caps, DNS Cookies (RFC 7873, RFC 9018) and the under-attack mode. Every loop is
// bounded in count and in time. The figures that matter (answer rate, amplification, connection
// counts, timeouts) are printed.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <functional>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/e2e/checks.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/e2e/http_client.hpp"
#include "tests/e2e/zone_json.hpp"

using namespace dnslb::e2e;

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kZone = "attack.example.";
constexpr int kNames = 40;     // c0 .. c39: the names normal clients ask
constexpr size_t kBigTxt = 4;  // strings of 200 characters at big.attack.example.
constexpr uint16_t kOptCookie = 10;

std::string attack_zone() {
    std::string txt;
    for (size_t i = 0; i < kBigTxt; ++i) {
        txt +=
            std::string(i == 0 ? "" : ", ") + "\"\\\"" + std::string(200, char('a' + i)) + "\\\"\"";
    }
    std::string names;
    for (int i = 0; i < kNames; ++i) {
        names += ",\n    \"c" + std::to_string(i) + "\": { \"A\": [\"192.0.2." +
                 std::to_string(100 + i) + "\"] }";
    }
    return zone_json(kZone, R"(    "@":   { "NS": ["ns1"] },
    "ns1": { "A": ["192.0.2.1"] },
    "www": { "A": ["192.0.2.10"] },
    "big": { "TXT": [)" + txt + "] }" +
                                names);
}

// A zone directory and a config file, and a server started from both (failing the test case
// when it does not start).
struct Setup {
    TempDir zones;
    TempDir conf;
    std::unique_ptr<Server> server;
    uint16_t http_port = pick_free_port();  // the HTTP API, for /metrics

    Setup(const std::string& config_json, std::vector<std::string> extra = {"--workers", "1"}) {
        zones.write("attack.example.json", attack_zone());
        nlohmann::json cfg = nlohmann::json::parse(config_json);
        cfg["http"] = "127.0.0.1:" + std::to_string(http_port);
        conf.write("dnslb.json", cfg.dump(2));
        ServerOptions o;
        o.zones_dir = zones.path();
        o.config_file = conf.path() + "/dnslb.json";
        o.extra_args = std::move(extra);
        server = std::make_unique<Server>(o);
        E2E_START(*server);
    }
    uint16_t port() const { return server->port(); }
    // One counter of /metrics (-1 when absent or the API did not answer).
    double metric(const std::string& series) const {
        return metric_value(http("GET", http_port, "/metrics").body, series);
    }
};

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

// ---- Sockets from chosen loopback sources ----------------------------------------------------

sockaddr_in v4(const std::string& ip, uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    return a;
}

std::string loopback(int host) { return "127.0.0." + std::to_string(host); }

// A socket bound to `src` (any port): the whole of 127/8 is local on Linux.
int bound_socket(int type, const std::string& src) {
    int fd = socket(AF_INET, type, 0);
    if (fd < 0) {
        return -1;
    }
    sockaddr_in a = v4(src, 0);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

// Blocking TCP connect from `src`; -1 on failure.
int tcp_from(const std::string& src, uint16_t port) {
    int fd = bound_socket(SOCK_STREAM, src);
    if (fd < 0) {
        return -1;
    }
    sockaddr_in to = v4("127.0.0.1", port);
    if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

// One query on a connected TCP descriptor: its answer, or nullopt when the send fails or no
// answer comes within 1 s.
std::optional<Bytes> ask_on(int fd, const Bytes& q) {
    if (!send_framed(fd, q)) {
        return std::nullopt;
    }
    return read_framed(fd, 1000ms);
}

void expect_answered_on(int fd, const Bytes& q) {
    auto r = ask_on(fd, q);
    REQUIRE(r);
    CHECK(answered(*r));
}

// True when the peer has closed (EOF or reset) within `timeout`; data read meanwhile is skipped.
bool closed_within(int fd, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (true) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        pollfd p{fd, POLLIN, 0};
        int pr = poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count())));
        if (pr < 0 && errno == EINTR) {
            continue;
        }
        if (pr <= 0) {
            return false;
        }
        uint8_t buf[4096];
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            return true;
        }
    }
}

// Closed already (checked without waiting)?
bool is_closed_now(int fd) { return closed_within(fd, 0ms); }

struct Fd {
    int fd = -1;
    explicit Fd(int f = -1) : fd(f) {}
    ~Fd() {
        if (fd >= 0) {
            close(fd);
        }
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
};

// ---- Queries, cookies -----------------------------------------------------------------------

Bytes query(const std::string& name, ldns_rr_type type, bool edns = true,
            const Bytes& options = {}) {
    QueryOptions o;
    if (edns) {
        Edns e;
        e.udp_size = 4096;
        e.options = options;
        o.edns = e;
    }
    return make_query(name, type, o);
}

Bytes cookie_option(const Bytes& cookie) {
    Bytes o{0, static_cast<uint8_t>(kOptCookie), static_cast<uint8_t>(cookie.size() >> 8),
            static_cast<uint8_t>(cookie.size())};
    append(o, cookie);
    return o;
}

// The COOKIE option of a response's OPT record, if any.
std::optional<Bytes> response_cookie(const Bytes& wire) {
    Message m = walk(wire);
    for (const WireRr* opt : opt_records(m)) {
        const Bytes& rd = opt->rdata;
        size_t i = 0;
        while (i + 4 <= rd.size()) {
            uint16_t code = static_cast<uint16_t>(rd[i] << 8 | rd[i + 1]);
            size_t len = static_cast<size_t>(rd[i + 2] << 8 | rd[i + 3]);
            if (i + 4 + len > rd.size()) {
                break;
            }
            if (code == kOptCookie) {
                return Bytes(rd.begin() + static_cast<long>(i) + 4,
                             rd.begin() + static_cast<long>(i + 4 + len));
            }
            i += 4 + len;
        }
    }
    return std::nullopt;
}

// Sends `n` copies of `q` (fresh IDs) back to back from one UDP socket at 127.0.0.1, then
// collects replies for `wait`. Returns the number of full answers.
int burst_answers(uint16_t port, const Bytes& q, int n, std::chrono::milliseconds wait) {
    UdpBurst b(port);
    if (!b.ok()) {
        return -1;
    }
    b.send(q, n);
    return b.answers(n, wait);
}

// ---- Flood generator --------------------------------------------------------------------------

// Sends packets from one UDP socket per source address (127.0.0.first .. first+count-1) at a
// paced rate, and counts what comes back to those sockets.
class Flood {
public:
    using Maker = std::function<Bytes(std::mt19937&)>;

    Flood(uint16_t port, int first_host, int count, Maker maker)
        : port_(port), maker_(std::move(maker)) {
        for (int i = 0; i < count; ++i) {
            int fd = bound_socket(SOCK_DGRAM, loopback(first_host + i));
            if (fd < 0) {
                continue;
            }
            fcntl(fd, F_SETFL, O_NONBLOCK);
            int buf = 1 << 20;  // root: beyond rmem_max, so replies are counted, not lost here
            setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
            fds_.push_back(fd);
        }
    }
    ~Flood() {
        stop();
        for (int fd : fds_) {
            close(fd);
        }
    }

    size_t sources() const { return fds_.size(); }

    // Runs until `max_packets` are sent, `max_time` has passed or stop() is called.
    void start(double pps, uint64_t max_packets, std::chrono::milliseconds max_time) {
        running_ = true;
        sender_ = std::thread([=, this] { send_loop(pps, max_packets, max_time); });
        receiver_ = std::thread([this] { receive_loop(); });
    }
    void wait_sent() {
        if (sender_.joinable()) {
            sender_.join();
        }
    }
    void stop() {
        halt_ = true;
        wait_sent();
        if (receiver_.joinable()) {
            // Late replies still count: give them a moment.
            std::this_thread::sleep_for(300ms);
            running_ = false;
            receiver_.join();
        }
    }

    // recv_full: answers with records.
    std::atomic<uint64_t> sent_packets{0}, sent_bytes{0}, send_failures{0}, recv_packets{0},
        recv_bytes{0}, recv_truncated{0}, recv_full{0};

private:
    void send_loop(double pps, uint64_t max_packets, std::chrono::milliseconds max_time) {
        std::mt19937 rng(12345);
        sockaddr_in to = v4("127.0.0.1", port_);
        auto start = Clock::now();
        uint64_t n = 0;
        size_t next_fd = 0;
        while (!halt_ && n < max_packets && Clock::now() - start < max_time && !fds_.empty()) {
            auto due = static_cast<uint64_t>(seconds_since(start) * pps) + 1;
            if (n >= due) {
                std::this_thread::sleep_for(1ms);
                continue;
            }
            for (; n < due && n < max_packets; ++n) {
                Bytes pkt = maker_(rng);
                int fd = fds_[next_fd++ % fds_.size()];
                ssize_t r = sendto(fd, pkt.data(), pkt.size(), 0, reinterpret_cast<sockaddr*>(&to),
                                   sizeof(to));
                if (r == static_cast<ssize_t>(pkt.size())) {
                    sent_packets.fetch_add(1);
                    sent_bytes.fetch_add(pkt.size());
                } else {
                    send_failures.fetch_add(1);
                }
            }
        }
    }
    void receive_loop() {
        std::vector<pollfd> polls;
        for (int fd : fds_) {
            polls.push_back({fd, POLLIN, 0});
        }
        uint8_t buf[65536];
        while (running_) {
            if (poll(polls.data(), polls.size(), 20) <= 0) {
                continue;
            }
            for (auto& p : polls) {
                if ((p.revents & POLLIN) == 0) {
                    continue;
                }
                for (int i = 0; i < 256; ++i) {
                    ssize_t r = recv(p.fd, buf, sizeof(buf), MSG_DONTWAIT);
                    if (r < 0) {
                        break;
                    }
                    recv_packets.fetch_add(1);
                    recv_bytes.fetch_add(static_cast<uint64_t>(r));
                    if (r >= 12) {
                        Header h = header(Bytes(buf, buf + 12));
                        if (h.tc) {
                            recv_truncated.fetch_add(1);
                        } else if (h.ancount > 0) {
                            recv_full.fetch_add(1);
                        }
                    }
                }
            }
        }
    }

    uint16_t port_;
    Maker maker_;
    std::vector<int> fds_;
    std::thread sender_;
    std::thread receiver_;
    std::atomic<bool> halt_{false};
    std::atomic<bool> running_{false};
};

// The same query with a fresh random ID each time.
Flood::Maker same_query(Bytes q) {
    return [q](std::mt19937& rng) mutable {
        uint32_t id = rng();
        q[0] = static_cast<uint8_t>(id);
        q[1] = static_cast<uint8_t>(id >> 8);
        return q;
    };
}

// Garbage: pure random bytes of random length, or a valid query with random bytes changed.
Flood::Maker garbage() {
    Bytes base = query("www.attack.example.", LDNS_RR_TYPE_A);
    return [base](std::mt19937& rng) {
        Bytes out;
        if (rng() % 2 == 0) {
            out.resize(rng() % 600);
            for (auto& b : out) {
                b = static_cast<uint8_t>(rng());
            }
        } else {
            out = base;
            for (uint32_t k = 1 + rng() % 6; k > 0; --k) {
                out[rng() % out.size()] = static_cast<uint8_t>(rng());
            }
            out.resize(out.size() - rng() % 8);
        }
        return out;
    };
}

bool wait_for_log(const Server& s, const std::string& text, std::chrono::milliseconds budget) {
    auto deadline = Clock::now() + budget;
    while (Clock::now() < deadline) {
        if (s.stderr_text().find(text) != std::string::npos) {
            return true;
        }
        std::this_thread::sleep_for(50ms);
    }
    return s.stderr_text().find(text) != std::string::npos;
}

// A query answered within `limit` over UDP and over a fresh TCP connection; returns the slower
// of the two latencies in ms, or -1 when either failed.
double both_transports_ms(uint16_t port, const std::string& name, std::chrono::milliseconds limit) {
    double worst = 0;
    for (Transport t : kBoth) {
        auto t0 = Clock::now();
        auto r = exchange(t, port, query(name, LDNS_RR_TYPE_A), limit);
        double ms = seconds_since(t0) * 1000;
        if (!r || !answered(*r)) {
            return -1;
        }
        worst = std::max(worst, ms);
    }
    return worst;
}

void raise_nofile() {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
}

}  // namespace

// ---- 2. Reflection flood under RRL -----------------------------------------------------------

TEST_CASE("RRL: a reflection flood is not amplified; a normal client is still answered",
          "[e2e][attack][rrl]") {
    Setup s(R"({ "rrl": { "responses_per_second": 20, "slip": 2 } })");
    // The attacker's pick: the largest answer, asked with EDNS (a 4096-byte buffer).
    Bytes big = query("big.attack.example.", LDNS_RR_TYPE_TXT);
    auto probe = udp_exchange(s.port(), big, 1000ms);
    REQUIRE(probe);
    REQUIRE(answered(*probe));
    REQUIRE(probe->size() > 800);

    Flood flood(s.port(), 2, 253, same_query(big));
    REQUIRE(flood.sources() == 253);
    constexpr uint64_t kFloodPackets = 50000;
    flood.start(kFloodPackets / 3.0, kFloodPackets, 5000ms);

    // A resolver at 127.0.0.1 (the flooded /24: not exempt) asks other names at a modest rate:
    // UDP with up to 3 tries, over TCP after a TC=1.
    constexpr int kClientQueries = 200;
    // Every 10th query is for the flooded name itself (a resolver asking on behalf of the
    // victim): its UDP answers are limited like the flood's, so it lives on TC=1 and TCP, and
    // on retries after drops. victim_ok and victim_total count those.
    struct ClientTally {
        int ok, via_udp, via_tcp, tc_seen, udp_timeouts, victim_ok, victim_total;
    };
    ClientTally n{};
    auto client_start = Clock::now();
    for (int i = 0; i < kClientQueries; ++i) {
        std::this_thread::sleep_until(client_start + i * 15ms);
        bool victim = i % 10 == 5;
        std::string name = "c" + std::to_string(i % kNames) + ".attack.example.";
        Bytes q = victim ? big : query(name, LDNS_RR_TYPE_A);
        n.victim_total += victim;
        bool done = false;
        int tries = victim ? 12 : 3;
        for (int attempt = 0; attempt < tries && !done; ++attempt) {
            auto r = udp_exchange(s.port(), q, victim ? 200ms : 500ms);
            if (!r) {
                ++n.udp_timeouts;
                continue;
            }
            if (header(*r).tc) {
                ++n.tc_seen;
                auto t = tcp_exchange(s.port(), q, 1000ms);
                if (t && answered(*t)) {
                    ++n.via_tcp;
                    ++n.ok;
                    n.victim_ok += victim;
                }
                done = true;
            } else if (answered(*r)) {
                ++n.via_udp;
                ++n.ok;
                n.victim_ok += victim;
                done = true;
            }
        }
    }
    double client_s = seconds_since(client_start);
    flood.stop();
    REQUIRE_FALSE(s.server->exited_early());

    double sent = static_cast<double>(flood.sent_bytes.load());
    double back = static_cast<double>(flood.recv_bytes.load());
    double amplification = back / std::max(1.0, sent);
    double answer_rate = 100.0 * n.ok / kClientQueries;
    std::printf(
        "[rrl flood] flood: %llu queries (%.0f bytes) from %zu sources, %llu send "
        "failures; back: %llu packets (%.0f bytes), %llu full answers, %llu TC=1\n"
        "[rrl flood] amplification (bytes out / bytes in) = %.3f\n"
        "[rrl flood] normal client: %d/%d answered (%.1f%%) in %.1f s: %d over UDP, "
        "%d over TCP after TC=1 (%d TC seen), %d UDP timeouts; of these, %d/%d for the "
        "flooded name\n",
        static_cast<unsigned long long>(flood.sent_packets.load()), sent, flood.sources(),
        static_cast<unsigned long long>(flood.send_failures.load()),
        static_cast<unsigned long long>(flood.recv_packets.load()), back,
        static_cast<unsigned long long>(flood.recv_full.load()),
        static_cast<unsigned long long>(flood.recv_truncated.load()), amplification, n.ok,
        kClientQueries, answer_rate, client_s, n.via_udp, n.via_tcp, n.tc_seen, n.udp_timeouts,
        n.victim_ok, n.victim_total);
    std::fflush(stdout);

    CHECK(flood.sent_packets.load() >= kFloodPackets * 9 / 10);
    CHECK(amplification < 1.0);
    // Full answers to the flood: the burst plus 20/s for the flood's few seconds, not more.
    CHECK(flood.recv_full.load() <= 20 + 20 * 7);
    // Slipped replies exist (slip 2): header, question and OPT, no larger than the queries.
    CHECK(flood.recv_truncated.load() > 0);
    CHECK(answer_rate >= 99.0);
    CHECK(n.victim_ok == n.victim_total);
    // The limited network shows in the log (rate-limited itself).
    CHECK(wait_for_log(*s.server, "rrl: limiting responses to 127.0.0.0/24", 2000ms));
    // And in /metrics: every limited response was either slipped or dropped.
    double limited = s.metric("dnslb_rrl_limited_total{class=\"positive\"}");
    double slipped = s.metric("dnslb_rrl_slipped_total");
    double dropped = s.metric("dnslb_rrl_dropped_total");
    std::printf("[rrl flood] /metrics: %.0f limited, %.0f slipped, %.0f dropped\n", limited,
                slipped, dropped);
    CHECK(limited >= static_cast<double>(kFloodPackets) / 2);
    CHECK(slipped + dropped == limited);
    CHECK(slipped >= static_cast<double>(flood.recv_truncated.load()));
    CHECK(s.metric("dnslb_rrl_cookie_exempt_total") == 0);
    E2E_STOP_CLEAN(*s.server);
}

// ---- 3. Garbage ------------------------------------------------------------------------------

TEST_CASE("a flood of malformed packets does not keep normal queries waiting",
          "[e2e][attack][garbage]") {
    Setup s(R"({ "rrl": { "responses_per_second": 20 } })");
    Flood flood(s.port(), 10, 8, garbage());
    REQUIRE(flood.sources() == 8);
    flood.start(25000, 60000, 2500ms);
    int rounds = 0;
    int failures = 0;
    double worst_ms = 0;
    auto start = Clock::now();
    while (seconds_since(start) < 2.0 && rounds < 40) {
        double ms = both_transports_ms(
            s.port(), "c" + std::to_string(rounds % kNames) + ".attack.example.", 1000ms);
        ++rounds;
        if (ms < 0) {
            ++failures;
        } else {
            worst_ms = std::max(worst_ms, ms);
        }
        std::this_thread::sleep_for(50ms);
    }
    flood.stop();
    std::printf(
        "[garbage] %llu malformed packets from %zu sources in 2 s; %d rounds of UDP + "
        "fresh TCP: %d failed, slowest %.1f ms; %llu replies to the garbage\n",
        static_cast<unsigned long long>(flood.sent_packets.load()), flood.sources(), rounds,
        failures, worst_ms, static_cast<unsigned long long>(flood.recv_packets.load()));
    std::fflush(stdout);
    CHECK(flood.sent_packets.load() > 20000);
    CHECK(rounds >= 10);
    CHECK(failures == 0);
    CHECK(worst_ms < 1000);
    REQUIRE_FALSE(s.server->exited_early());
    CHECK(both_transports_ms(s.port(), "www.attack.example.", 1000ms) >= 0);
    E2E_STOP_CLEAN(*s.server);
}

// ---- 4. Idle TCP connections -----------------------------------------------------------------

TEST_CASE("2,000 idle TCP connections are held and do not block service", "[e2e][attack][tcp]") {
    raise_nofile();
    Setup s(R"({ "tcp": { "idle_timeout": 60, "max_connections": 4096 } })", {"--workers", "2"});
    constexpr int kConns = 2000;
    constexpr int kSources = 200;  // 127.0.0.2 .. 201: 10 each, under the default 64 per source
    std::vector<Fd> conns;
    conns.reserve(kConns);
    auto t0 = Clock::now();
    for (int i = 0; i < kConns && seconds_since(t0) < 60; ++i) {
        int fd = tcp_from(loopback(2 + i % kSources), s.port());
        if (fd >= 0) {
            conns.emplace_back(fd);
        }
    }
    double open_s = seconds_since(t0);
    REQUIRE(conns.size() == static_cast<size_t>(kConns));
    std::this_thread::sleep_for(500ms);
    double ms = both_transports_ms(s.port(), "www.attack.example.", 1000ms);
    CHECK(ms >= 0);
    CHECK(ms < 1000);
    // Held means accepted and served: a query on every 50th of them is answered.
    int served = 0;
    for (int i = 0; i < kConns; i += 50) {
        Bytes q = query("c1.attack.example.", LDNS_RR_TYPE_A);
        auto r = ask_on(conns[i].fd, q);
        served += r && answered(*r);
    }
    int held = 0;
    for (auto& c : conns) {
        held += !is_closed_now(c.fd);
    }
    std::printf(
        "[tcp idle] %d connections opened in %.2f s; %d held; %d/%d sampled served; "
        "UDP + fresh TCP query meanwhile in %.1f ms\n",
        kConns, open_s, held, served, kConns / 50, ms);
    std::fflush(stdout);
    CHECK(held == kConns);
    CHECK(served == kConns / 50);
    REQUIRE_FALSE(s.server->exited_early());
    // /metrics counts them too (plus the API's own request is HTTP, not DNS).
    CHECK(s.metric("dnslb_tcp_connections_open") >= kConns);
    CHECK(s.metric("dnslb_tcp_connections_accepted_total") >= kConns);
    conns.clear();
    E2E_STOP_CLEAN(*s.server);
}

TEST_CASE("an idle TCP connection is cut after the idle timeout", "[e2e][attack][tcp]") {
    Setup s(R"({ "tcp": { "idle_timeout": 1 } })");
    // Never a byte sent.
    Fd quiet(tcp_from("127.0.0.1", s.port()));
    REQUIRE(quiet.fd >= 0);
    auto t0 = Clock::now();
    bool closed = closed_within(quiet.fd, 5000ms);
    double quiet_s = seconds_since(t0);
    // After one answered query.
    Fd used(tcp_from("127.0.0.1", s.port()));
    REQUIRE(used.fd >= 0);
    expect_answered_on(used.fd, query("www.attack.example.", LDNS_RR_TYPE_A));
    auto t1 = Clock::now();
    bool closed_used = closed_within(used.fd, 5000ms);
    double used_s = seconds_since(t1);
    std::printf(
        "[tcp idle] idle_timeout 1 s: a silent connection was cut after %.2f s, one "
        "idle after an answer after %.2f s\n",
        quiet_s, used_s);
    std::fflush(stdout);
    CHECK(closed);
    CHECK(quiet_s > 0.8);
    CHECK(quiet_s < 2.5);
    CHECK(closed_used);
    CHECK(used_s > 0.8);
    CHECK(used_s < 2.5);
    CHECK(s.metric("dnslb_tcp_connections_closed_total{reason=\"idle\"}") >= 2);
    E2E_STOP_CLEAN(*s.server);
}

TEST_CASE("at the connection cap the least recently active connection is evicted",
          "[e2e][attack][tcp]") {
    Setup s(R"({ "tcp": { "idle_timeout": 60, "max_connections": 5 } })");
    Bytes q = query("www.attack.example.", LDNS_RR_TYPE_A);
    std::vector<Fd> c;
    for (int i = 0; i < 5; ++i) {
        c.emplace_back(tcp_from("127.0.0.1", s.port()));
        REQUIRE(c.back().fd >= 0);
        auto r = ask_on(c.back().fd, q);
        REQUIRE(r);
        std::this_thread::sleep_for(20ms);
    }
    // c[0] becomes the most recently active; c[1] is now the least.
    REQUIRE(ask_on(c[0].fd, q));
    std::this_thread::sleep_for(20ms);
    c.emplace_back(tcp_from("127.0.0.1", s.port()));
    REQUIRE(c.back().fd >= 0);
    CHECK(closed_within(c[1].fd, 1000ms));
    for (size_t i : {0U, 2U, 3U, 4U, 5U}) {
        INFO("connection " << i);
        auto r = ask_on(c[i].fd, q);
        CHECK(r);
    }
    CHECK(s.metric("dnslb_tcp_connections_closed_total{reason=\"evicted\"}") >= 1);
    E2E_STOP_CLEAN(*s.server);
}

// ---- 5. Slow senders -------------------------------------------------------------------------

TEST_CASE("a query trickled one byte at a time is cut after the query timeout",
          "[e2e][attack][tcp]") {
    Setup s(R"({ "tcp": { "idle_timeout": 10, "query_timeout": 1 } })");
    constexpr int kSlow = 4;
    Bytes q = query("www.attack.example.", LDNS_RR_TYPE_A);
    Bytes framed{static_cast<uint8_t>(q.size() >> 8), static_cast<uint8_t>(q.size())};
    append(framed, q);
    std::vector<double> cut_after(kSlow, -1);
    std::vector<size_t> bytes_sent(kSlow, 0);
    std::vector<std::thread> slow;
    for (int k = 0; k < kSlow; ++k) {
        slow.emplace_back([&, k] {
            Fd fd(tcp_from(loopback(20 + k), s.port()));
            if (fd.fd < 0) {
                return;
            }
            auto start = Clock::now();
            for (size_t i = 0; i < framed.size() && seconds_since(start) < 8; ++i) {
                if (is_closed_now(fd.fd) || !send_all(fd.fd, &framed[i], 1)) {
                    cut_after[k] = seconds_since(start);
                    return;
                }
                ++bytes_sent[k];
                if (closed_within(fd.fd, 300ms)) {
                    cut_after[k] = seconds_since(start);
                    return;
                }
            }
        });
    }
    // Meanwhile, everyone else is served.
    int rounds = 0;
    int failures = 0;
    auto start = Clock::now();
    while (seconds_since(start) < 2.5 && rounds < 30) {
        failures += both_transports_ms(s.port(), "c2.attack.example.", 1000ms) < 0;
        ++rounds;
        std::this_thread::sleep_for(100ms);
    }
    for (auto& t : slow) {
        t.join();
    }
    for (int k = 0; k < kSlow; ++k) {
        INFO("slow client " << k);
        std::printf(
            "[slowloris] client %d: %zu of %zu bytes sent at one per 300 ms, cut after "
            "%.2f s (query_timeout 1 s)\n",
            k, bytes_sent[k], framed.size(), cut_after[k]);
        CHECK(cut_after[k] > 0.8);
        CHECK(cut_after[k] < 2.0);
        CHECK(bytes_sent[k] < framed.size());
    }
    std::printf("[slowloris] meanwhile %d rounds of UDP + fresh TCP queries, %d failed\n", rounds,
                failures);
    std::fflush(stdout);
    CHECK(rounds >= 10);
    CHECK(failures == 0);
    CHECK(s.metric("dnslb_tcp_connections_closed_total{reason=\"slow\"}") == kSlow);
    E2E_STOP_CLEAN(*s.server);
}

// ---- 6. Per-source and per-connection caps ---------------------------------------------------

TEST_CASE("connections beyond max_per_source are closed; max_queries closes a connection",
          "[e2e][attack][tcp]") {
    Setup s(R"({ "tcp": { "idle_timeout": 30, "max_per_source": 3, "max_queries": 5 } })");
    Bytes q = query("www.attack.example.", LDNS_RR_TYPE_A);

    SECTION("per source") {
        std::vector<Fd> ok;
        for (int i = 0; i < 3; ++i) {
            ok.emplace_back(tcp_from("127.0.0.7", s.port()));
            REQUIRE(ok.back().fd >= 0);
        }
        std::this_thread::sleep_for(100ms);
        Fd extra(tcp_from("127.0.0.7", s.port()));
        REQUIRE(extra.fd >= 0);  // the kernel accepts; the server closes at once
        auto t0 = Clock::now();
        CHECK(closed_within(extra.fd, 1000ms));
        std::printf("[per source] 4th connection from one address closed after %.1f ms\n",
                    seconds_since(t0) * 1000);
        std::fflush(stdout);
        for (auto& c : ok) {
            expect_answered_on(c.fd, q);
        }
        // Another source is not affected.
        Fd other(tcp_from("127.0.0.8", s.port()));
        expect_answered_on(other.fd, q);
        // Once one closes, the source may connect again.
        ok.pop_back();
        std::this_thread::sleep_for(200ms);
        Fd again(tcp_from("127.0.0.7", s.port()));
        auto r2 = ask_on(again.fd, q);
        CHECK(r2);
        CHECK(s.metric("dnslb_tcp_connections_refused_total{reason=\"per_source\"}") == 1);
    }

    // Up to `n` replies from `next`, up to the first missing one: 5 are answers, then the
    // connection is closed for its query cap.
    auto expect_query_cap = [&](int fd, int n, const std::function<std::optional<Bytes>()>& next) {
        int answers = 0;
        for (int i = 0; i < n; ++i) {
            auto r = next();
            if (!r) {
                break;
            }
            answers += answered(*r);
        }
        CHECK(answers == 5);
        CHECK(closed_within(fd, 1000ms));
        CHECK(s.metric("dnslb_tcp_connections_closed_total{reason=\"query_cap\"}") == 1);
    };

    SECTION("max queries, one at a time") {
        Fd c(tcp_from("127.0.0.1", s.port()));
        REQUIRE(c.fd >= 0);
        expect_query_cap(c.fd, 7, [&] { return ask_on(c.fd, q); });
    }

    SECTION("max queries, pipelined") {
        Fd c(tcp_from("127.0.0.1", s.port()));
        REQUIRE(c.fd >= 0);
        Bytes all;
        for (int i = 0; i < 8; ++i) {
            Bytes one = q;
            one[1] = static_cast<uint8_t>(i);
            append(all, {static_cast<uint8_t>(one.size() >> 8), static_cast<uint8_t>(one.size())});
            append(all, one);
        }
        REQUIRE(send_all(c.fd, all.data(), all.size()));
        expect_query_cap(c.fd, 8, [&] { return read_framed(c.fd, 1000ms); });
    }
    E2E_STOP_CLEAN(*s.server);
}

TEST_CASE("a connection refused for its source evicts no other connection", "[e2e][attack][tcp]") {
    // At the worker's connection cap, one source at its own cap keeps connecting: each attempt
    // is refused, and must not push out a connection of anyone else.
    Setup s(R"({ "tcp": { "idle_timeout": 30, "max_connections": 5, "max_per_source": 1 } })");
    Bytes q = query("www.attack.example.", LDNS_RR_TYPE_A);
    std::vector<Fd> others;
    for (int i = 0; i < 4; ++i) {
        others.emplace_back(tcp_from(loopback(30 + i), s.port()));
        REQUIRE(others.back().fd >= 0);
        REQUIRE(ask_on(others.back().fd, q));
    }
    Fd first(tcp_from("127.0.0.40", s.port()));
    REQUIRE(ask_on(first.fd, q));  // 5 of 5
    int refused = 0;
    for (int i = 0; i < 3; ++i) {
        Fd extra(tcp_from("127.0.0.40", s.port()));
        refused += extra.fd >= 0 && closed_within(extra.fd, 1000ms);
    }
    CHECK(refused == 3);
    int alive = 0;
    for (auto& c : others) {
        alive += ask_on(c.fd, q).has_value();
    }
    std::printf(
        "[per source] after 3 refused connections at the cap, %d of 4 other clients' "
        "connections still open\n",
        alive);
    std::fflush(stdout);
    CHECK(alive == 4);
    CHECK(s.metric("dnslb_tcp_connections_refused_total{reason=\"per_source\"}") >= 3);
    CHECK(s.metric("dnslb_tcp_connections_closed_total{reason=\"evicted\"}") == 0);
    E2E_STOP_CLEAN(*s.server);
}

// ---- 7. Cookies ------------------------------------------------------------------------------

namespace {

constexpr const char* kSecret = "00112233445566778899aabbccddeeff";

std::string cookie_config(const char* secret) {
    return std::string(R"({ "rrl": { "responses_per_second": 1, "slip": 0 },
  "cookies": { "enabled": true, "secret": ")") +
           secret + R"(" } })";
}

const Bytes kClientCookie{0xc1, 0x1e, 0x47, 0x00, 0x0c, 0x00, 0x4b, 0x1e};

// Asks `name` over UDP with a client cookie; returns the full 24-byte cookie we got back.
std::optional<Bytes> fetch_cookie(uint16_t port, const std::string& name) {
    auto r =
        udp_exchange(port, query(name, LDNS_RR_TYPE_A, true, cookie_option(kClientCookie)), 1000ms);
    if (!r) {
        return std::nullopt;
    }
    return response_cookie(*r);
}

// Asks `name` at `port` with `cookie` and expects an answer with a 24-byte cookie for our
// client cookie; returns that cookie.
Bytes answered_cookie(uint16_t port, const std::string& name, const Bytes& cookie) {
    auto r = udp_exchange(port, query(name, LDNS_RR_TYPE_A, true, cookie_option(cookie)), 1000ms);
    REQUIRE(r);
    CHECK(answered(*r));
    auto back = response_cookie(*r);
    REQUIRE(back);
    CHECK(back->size() == 24);
    CHECK(Bytes(back->begin(), back->begin() + 8) == kClientCookie);
    return *back;
}

}  // namespace

TEST_CASE("cookies: a client cookie gets a server cookie; a valid one lifts rate limiting",
          "[e2e][attack][cookies]") {
    Setup a(cookie_config(kSecret));
    Setup b(cookie_config(kSecret));
    Setup c(cookie_config("ffeeddccbbaa99887766554433221100"));

    auto cookie = fetch_cookie(a.port(), "c0.attack.example.");
    REQUIRE(cookie);
    REQUIRE(cookie->size() == 24);
    CHECK(Bytes(cookie->begin(), cookie->begin() + 8) == kClientCookie);
    CHECK((*cookie)[8] == 1);  // RFC 9018 version
    CHECK((*cookie)[9] == 0);
    CHECK((*cookie)[10] == 0);
    CHECK((*cookie)[11] == 0);
    auto ts = static_cast<int64_t>(uint32_t{(*cookie)[12]} << 24 | uint32_t{(*cookie)[13]} << 16 |
                                   uint32_t{(*cookie)[14]} << 8 | (*cookie)[15]);
    CHECK(std::llabs(ts - static_cast<int64_t>(std::time(nullptr))) <= 5);

    // Sent back: answered, with a cookie for the same client cookie.
    answered_cookie(a.port(), "c1.attack.example.", *cookie);

    // RRL at 1/s without slip: 20 back-to-back queries for one name.
    Bytes with = query("c2.attack.example.", LDNS_RR_TYPE_A, true, cookie_option(*cookie));
    Bytes client_only =
        query("c3.attack.example.", LDNS_RR_TYPE_A, true, cookie_option(kClientCookie));
    Bytes without = query("c4.attack.example.", LDNS_RR_TYPE_A);
    int a_valid = burst_answers(a.port(), with, 20, 1500ms);
    int a_client_only = burst_answers(a.port(), client_only, 20, 400ms);
    int a_without = burst_answers(a.port(), without, 20, 400ms);
    // Another server with the same secret accepts the cookie; one with another secret does not.
    int b_valid = burst_answers(b.port(), with, 20, 1500ms);
    int c_valid = burst_answers(c.port(), with, 20, 400ms);
    std::printf(
        "[cookies] 20 queries at RRL 1/s, answered: valid cookie %d, client cookie only "
        "%d, none %d; same-secret server %d, other-secret server %d\n",
        a_valid, a_client_only, a_without, b_valid, c_valid);
    std::fflush(stdout);
    CHECK(a_valid == 20);
    CHECK(a_client_only <= 2);
    CHECK(a_client_only >= 1);
    CHECK(a_without <= 2);
    CHECK(a_without >= 1);
    CHECK(b_valid == 20);
    CHECK(c_valid <= 2);

    // A bad server cookie (not under attack): a normal answer and a fresh, different cookie.
    Bytes tampered = *cookie;
    tampered[23] ^= 0xff;
    CHECK(answered_cookie(a.port(), "c5.attack.example.", tampered) != tampered);
    // The counters agree: a's 21 valid-cookie queries (1 + 20) skipped RRL; c saw only invalid
    // server cookies; the client-only burst was counted as such and limited.
    CHECK(a.metric("dnslb_cookies_total{result=\"valid\"}") >= 21);
    CHECK(a.metric("dnslb_cookies_total{result=\"client_only\"}") >= 21);
    CHECK(a.metric("dnslb_cookies_total{result=\"invalid\"}") >= 1);
    CHECK(a.metric("dnslb_rrl_cookie_exempt_total") >= 20);
    CHECK(a.metric("dnslb_rrl_limited_total{class=\"positive\"}") >= 36);
    CHECK(c.metric("dnslb_cookies_total{result=\"valid\"}") == 0);
    CHECK(c.metric("dnslb_cookies_total{result=\"invalid\"}") >= 20);

    for (auto* srv : {a.server.get(), b.server.get(), c.server.get()}) {
        E2E_STOP_CLEAN(*srv);
    }
}

TEST_CASE("cookies: without a configured secret each server has its own",
          "[e2e][attack][cookies]") {
    // The secret is then random per process: a cookie of one must not pass at another (else
    // the secret is guessable and anyone can mint valid cookies for spoofed addresses).
    std::string config = R"({ "rrl": { "responses_per_second": 1, "slip": 0 } })";
    Setup a(config);
    Setup b(config);
    auto cookie = fetch_cookie(a.port(), "c0.attack.example.");
    REQUIRE(cookie);
    REQUIRE(cookie->size() == 24);
    Bytes with = query("c2.attack.example.", LDNS_RR_TYPE_A, true, cookie_option(*cookie));
    int at_a = burst_answers(a.port(), with, 20, 1500ms);
    int at_b = burst_answers(b.port(), with, 20, 400ms);
    std::printf(
        "[cookies] no secret configured: 20 queries at RRL 1/s with A's cookie answered "
        "by A %d, by B %d\n",
        at_a, at_b);
    std::fflush(stdout);
    CHECK(at_a == 20);
    CHECK(at_b <= 2);
    E2E_STOP_CLEAN(*a.server);
    E2E_STOP_CLEAN(*b.server);
}

TEST_CASE("cookies: a malformed COOKIE option gets FORMERR", "[e2e][attack][cookies]") {
    Setup a(cookie_config(kSecret));
    struct Case {
        const char* what;
        Bytes options;
    };
    Bytes twice = cookie_option(kClientCookie);
    append(twice, cookie_option(kClientCookie));
    std::vector<Case> cases = {
        {"empty", cookie_option({})},
        {"5 bytes", cookie_option(Bytes(5, 1))},
        {"12 bytes", cookie_option(Bytes(12, 1))},
        {"41 bytes", cookie_option(Bytes(41, 1))},
        {"two cookie options", twice},
    };
    for (Transport t : kBoth) {
        for (const auto& c : cases) {
            INFO(transport_name(t) << ": " << c.what);
            auto r = exchange(
                t, a.port(), query("www.attack.example.", LDNS_RR_TYPE_A, true, c.options), 1000ms);
            REQUIRE(r);
            Message m = walk(*r);
            CHECK(m.hdr.qr);
            CHECK(full_rcode(m) == LDNS_RCODE_FORMERR);
            CHECK(m.hdr.ancount == 0);
        }
        // The lengths RFC 7873 allows are answered.
        for (size_t len : {8U, 16U, 40U}) {
            INFO(transport_name(t) << ": cookie of " << len << " bytes");
            auto r = exchange(t, a.port(),
                              query("c" + std::to_string(len % kNames) + ".attack.example.",
                                    LDNS_RR_TYPE_A, true, cookie_option(Bytes(len, 7))),
                              1000ms);
            REQUIRE(r);
            CHECK(answered(*r));
        }
    }
    E2E_STOP_CLEAN(*a.server);
}

// ---- 8. Under-attack mode --------------------------------------------------------------------

TEST_CASE("under-attack mode: on above auto_qps, big UDP answers need a cookie, off when calm",
          "[e2e][attack][underattack]") {
    Setup s(std::string(R"({ "attack": { "auto_qps": 200, "tc_above_bytes": 512 },
  "cookies": { "enabled": true, "secret": ")") +
            kSecret + R"(" } })");
    Bytes big = query("big.attack.example.", LDNS_RR_TYPE_TXT);
    auto before = udp_exchange(s.port(), big, 1000ms);
    REQUIRE(before);
    CHECK(answered(*before));
    CHECK(before->size() > 512);
    auto cookie = fetch_cookie(s.port(), "www.attack.example.");
    REQUIRE(cookie);
    REQUIRE(cookie->size() == 24);
    CHECK(s.server->stderr_text().find("under-attack mode on") == std::string::npos);

    Flood flood(s.port(), 2, 50, same_query(query("www.attack.example.", LDNS_RR_TYPE_A)));
    flood.start(1500, 60000, 30000ms);
    auto flood_start = Clock::now();
    bool on = wait_for_log(*s.server, "under-attack mode on", 6000ms);
    double on_after = seconds_since(flood_start);
    REQUIRE(on);

    // Without a cookie: header and question only, TC=1 (the client retries over TCP).
    auto tc = udp_exchange(s.port(), big, 1000ms);
    REQUIRE(tc);
    Message tm = walk(*tc);
    CHECK(tm.hdr.tc);
    CHECK(tm.hdr.ancount == 0);
    CHECK(tc->size() < 512);
    // The TC=1 reply keeps its OPT record: a client cookie gets its server cookie back, so the
    // client's next query can carry a valid one.
    auto tc_cookie = udp_exchange(
        s.port(),
        query("big.attack.example.", LDNS_RR_TYPE_TXT, true, cookie_option(kClientCookie)), 1000ms);
    REQUIRE(tc_cookie);
    CHECK(walk(*tc_cookie).hdr.tc);
    CHECK(walk(*tc_cookie).hdr.ancount == 0);
    auto given = response_cookie(*tc_cookie);
    REQUIRE(given);
    CHECK(given->size() == 24);
    auto with_given = udp_exchange(
        s.port(), query("big.attack.example.", LDNS_RR_TYPE_TXT, true, cookie_option(*given)),
        1000ms);
    REQUIRE(with_given);
    CHECK(answered(*with_given));
    CHECK(!walk(*with_given).hdr.tc);
    // Over TCP: the whole answer.
    auto tcp = tcp_exchange(s.port(), big, 1000ms);
    REQUIRE(tcp);
    CHECK(answered(*tcp));
    CHECK(tcp->size() > 512);
    // Small answers are not truncated.
    auto small = udp_exchange(s.port(), query("c7.attack.example.", LDNS_RR_TYPE_A), 1000ms);
    REQUIRE(small);
    CHECK(answered(*small));
    // With a valid cookie: the whole answer over UDP.
    auto with = udp_exchange(
        s.port(), query("big.attack.example.", LDNS_RR_TYPE_TXT, true, cookie_option(*cookie)),
        1000ms);
    REQUIRE(with);
    CHECK(answered(*with));
    CHECK(walk(*with).answer.size() == kBigTxt);
    CHECK(with->size() > 512);
    // A bad server cookie over UDP: BADCOOKIE with a fresh cookie (RFC 7873 section 5.2.3).
    Bytes tampered = *cookie;
    tampered[20] ^= 0x55;
    auto badcookie = udp_exchange(
        s.port(), query("www.attack.example.", LDNS_RR_TYPE_A, true, cookie_option(tampered)),
        1000ms);
    REQUIRE(badcookie);
    Message bm = walk(*badcookie);
    CHECK(full_rcode(bm) == 23);
    CHECK(bm.hdr.ancount == 0);
    auto fresh = response_cookie(*badcookie);
    REQUIRE(fresh);
    CHECK(fresh->size() == 24);
    CHECK(*fresh != tampered);
    // The fresh cookie is valid: big answers come whole again.
    auto retry = udp_exchange(
        s.port(), query("big.attack.example.", LDNS_RR_TYPE_TXT, true, cookie_option(*fresh)),
        1000ms);
    REQUIRE(retry);
    CHECK(answered(*retry));

    flood.stop();
    auto calm_start = Clock::now();
    std::printf(
        "[under attack] flood of %llu queries at ~1500/s from %zu sources; mode on "
        "after %.1f s\n",
        static_cast<unsigned long long>(flood.sent_packets.load()), flood.sources(), on_after);
    bool off = wait_for_log(*s.server, "under-attack mode off", 20000ms);
    double off_after = seconds_since(calm_start);
    std::printf("[under attack] mode off %.1f s after the flood stopped\n", off_after);
    std::fflush(stdout);
    CHECK(off);
    CHECK(off_after >= 9.0);
    if (off) {
        auto after = udp_exchange(s.port(), big, 1000ms);
        REQUIRE(after);
        CHECK(answered(*after));
    }
    E2E_STOP_CLEAN(*s.server);
}
