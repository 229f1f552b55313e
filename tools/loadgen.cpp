// loadgen: a UDP DNS load generator for benchmarking dnslb against other authoritative servers.
//
// Reads a query file in dnsperf format (`name type` per line, optional third column: an EDNS
// Client Subnet, RFC 7871, such as 198.51.100.0/24), builds every query's wire form once, then
// either keeps a fixed number of queries in flight (closed loop, the default: measures the
// highest rate the server sustains) or sends at a fixed rate (`--rate`: measures latency at a
// given load). Responses are matched by DNS ID; a query not answered within `--timeout-ms` is
// counted as lost. Reports queries per second, lost queries, latency percentiles and RCODEs.
//
// Loopback only: the target must be a 127.0.0.0/8 or ::1 address; with --bench-range, also an
// address of the benchmarking range 198.18.0.0/15 (RFC 2544), which `tools/bench xdp` uses
// inside its own network namespaces.
//
// Usage: loadgen -s ADDR -p PORT -d FILE [-l SECONDS] [-n MAX_QUERIES] [-q IN_FLIGHT]
//                [-c SOCKETS] [--rate QPS] [--timeout-ms MS] [--bench-range] [--json]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

constexpr size_t kBatch = 64;          // datagrams per sendmmsg/recvmmsg call
constexpr size_t kMaxQuery = 512;      // our queries are small: name, OPT, ECS
constexpr size_t kMaxResponse = 4096;  // we ask for 1232 (EDNS) but take anything
constexpr uint32_t kSlotBits = 12;     // per-socket in-flight slots: ID = gen << 12 | slot
constexpr uint32_t kSlotsPerSocket = 1u << kSlotBits;
constexpr uint64_t kHistUs = 200000;  // 1 us buckets up to 200 ms; above goes in the last

using Clock = std::chrono::steady_clock;

uint64_t now_ns() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
            .count());
}

volatile std::sig_atomic_t g_interrupted = 0;
void on_signal(int /*sig*/) { g_interrupted = 1; }

struct Options {
    std::string server = "127.0.0.1";
    uint16_t port = 53;
    std::string file;
    double duration_s = 10;
    uint64_t max_queries = 0;  // 0: no limit
    uint32_t in_flight = 100;
    uint32_t sockets = 4;
    double rate = 0;  // 0: closed loop
    uint32_t timeout_ms = 1000;
    bool json = false;
    bool edns = true;
    bool bench_range = false;  // also allow 198.18.0.0/15 targets
};

// Thrown to end the program with an exit status (std::exit is not thread-safe, and this
// unwinds through the destructors): caught in main.
struct Exit {
    int status;
};

[[noreturn]] void usage(const char* why) {
    if (why != nullptr) {
        std::fprintf(stderr, "loadgen: %s\n", why);
    }
    std::fprintf(stderr,
                 "usage: loadgen -s ADDR -p PORT -d QUERYFILE [-l SECONDS] [-n MAX_QUERIES]\n"
                 "               [-q IN_FLIGHT] [-c SOCKETS] [--rate QPS] [--timeout-ms MS]\n"
                 "               [--no-edns] [--bench-range] [--json]\n"
                 "  QUERYFILE: 'name type [subnet/len]' per line (dnsperf format + ECS column)\n"
                 "  --bench-range: also allow targets in 198.18.0.0/15 (RFC 2544)\n");
    throw Exit{2};
}

Options parse_args(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                usage(("missing value for " + a).c_str());
            }
            return argv[++i];
        };
        if (a == "-s" || a == "--server") {
            o.server = value();
        } else if (a == "-p" || a == "--port") {
            o.port = static_cast<uint16_t>(std::stoul(value()));
        } else if (a == "-d" || a == "--queries") {
            o.file = value();
        } else if (a == "-l" || a == "--duration") {
            o.duration_s = std::stod(value());
        } else if (a == "-n" || a == "--max-queries") {
            o.max_queries = std::stoull(value());
        } else if (a == "-q" || a == "--in-flight") {
            o.in_flight = static_cast<uint32_t>(std::stoul(value()));
        } else if (a == "-c" || a == "--sockets") {
            o.sockets = static_cast<uint32_t>(std::stoul(value()));
        } else if (a == "-Q" || a == "--rate") {
            o.rate = std::stod(value());
        } else if (a == "--timeout-ms") {
            o.timeout_ms = static_cast<uint32_t>(std::stoul(value()));
        } else if (a == "--json") {
            o.json = true;
        } else if (a == "--no-edns") {
            o.edns = false;
        } else if (a == "--bench-range") {
            o.bench_range = true;
        } else if (a == "-h" || a == "--help") {
            usage(nullptr);
        } else {
            usage(("unknown argument " + a).c_str());
        }
    }
    if (o.file.empty()) {
        usage("a query file (-d) is required");
    }
    if (o.sockets == 0 || o.sockets > 256) {
        usage("--sockets must be 1..256");
    }
    if (o.rate <= 0 && (o.in_flight == 0 || o.in_flight > o.sockets * kSlotsPerSocket)) {
        usage("--in-flight must be 1..sockets*4096");
    }
    if (o.duration_s <= 0 || o.duration_s > 3600) {
        usage("--duration must be in (0, 3600] seconds");
    }
    return o;
}

uint16_t type_code(const std::string& t) {
    static const std::pair<const char*, uint16_t> kTypes[] = {
        {"A", 1},       {"NS", 2},     {"CNAME", 5}, {"SOA", 6},   {"PTR", 12},
        {"MX", 15},     {"TXT", 16},   {"AAAA", 28}, {"SRV", 33},  {"DS", 43},
        {"DNSKEY", 48}, {"HTTPS", 65}, {"CAA", 257}, {"ANY", 255}, {"SVCB", 64},
    };
    std::string up = t;
    std::transform(up.begin(), up.end(), up.begin(),
                   [](unsigned char c) { return std::toupper(c); });
    for (const auto& [name, code] : kTypes) {
        if (up == name) {
            return code;
        }
    }
    if (up.rfind("TYPE", 0) == 0 && up.size() > 4) {
        return static_cast<uint16_t>(std::stoul(up.substr(4)));
    }
    return 0;
}

void put16(std::vector<uint8_t>& w, uint16_t v) {
    w.push_back(static_cast<uint8_t>(v >> 8));
    w.push_back(static_cast<uint8_t>(v));
}

// Encodes a presentation-format name (no escapes needed for benchmark data).
bool put_name(std::vector<uint8_t>& w, const std::string& name) {
    size_t start = 0;
    size_t total = 0;
    while (start < name.size()) {
        size_t dot = name.find('.', start);
        if (dot == std::string::npos) {
            dot = name.size();
        }
        size_t len = dot - start;
        if (len == 0 || len > 63) {
            return false;
        }
        w.push_back(static_cast<uint8_t>(len));
        w.insert(w.end(), name.begin() + static_cast<long>(start),
                 name.begin() + static_cast<long>(dot));
        total += len + 1;
        start = dot + 1;
    }
    w.push_back(0);
    return total + 1 <= 255;
}

// ECS option (RFC 7871 section 6): FAMILY, SOURCE PREFIX-LENGTH, SCOPE 0, address truncated to
// the prefix with the host bits zero.
bool put_ecs(std::vector<uint8_t>& opt, const std::string& subnet) {
    size_t slash = subnet.find('/');
    std::string addr = subnet.substr(0, slash);
    uint8_t bytes[16] = {};
    uint16_t family = 0;
    unsigned max_prefix = 0;
    if (inet_pton(AF_INET, addr.c_str(), bytes) == 1) {
        family = 1;
        max_prefix = 32;
    } else if (inet_pton(AF_INET6, addr.c_str(), bytes) == 1) {
        family = 2;
        max_prefix = 128;
    } else {
        return false;
    }
    unsigned prefix = slash == std::string::npos
                          ? (family == 1 ? 24 : 56)
                          : static_cast<unsigned>(std::stoul(subnet.substr(slash + 1)));
    if (prefix > max_prefix) {
        return false;
    }
    size_t n = (prefix + 7) / 8;
    if (prefix % 8 != 0) {
        bytes[n - 1] &= static_cast<uint8_t>(0xff << (8 - prefix % 8));
    }
    put16(opt, 8);  // OPTION-CODE: edns-client-subnet
    put16(opt, static_cast<uint16_t>(4 + n));
    put16(opt, family);
    opt.push_back(static_cast<uint8_t>(prefix));
    opt.push_back(0);
    opt.insert(opt.end(), bytes, bytes + n);
    return true;
}

struct Query {
    std::array<uint8_t, kMaxQuery> wire{};
    uint16_t len = 0;
};

std::vector<Query> load_queries(const Options& o) {
    std::ifstream in(o.file);
    if (!in) {
        std::fprintf(stderr, "loadgen: cannot read %s\n", o.file.c_str());
        throw Exit{1};
    }
    std::vector<Query> out;
    std::string line;
    size_t lineno = 0;
    while (std::getline(in, line)) {
        ++lineno;
        std::istringstream ss(line);
        std::string name;
        std::string type;
        std::string subnet;
        if (!(ss >> name) || name[0] == '#' || name[0] == ';') {
            continue;
        }
        ss >> type >> subnet;
        if (name.size() > 1 && name.back() == '.') {
            name.pop_back();
        } else if (name == ".") {
            name.clear();
        }
        uint16_t qtype = type.empty() ? 1 : type_code(type);
        std::vector<uint8_t> w = {0, 0, 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};  // RD=0
        std::vector<uint8_t> opt;
        bool ok = qtype != 0 && put_name(w, name) && (subnet.empty() || put_ecs(opt, subnet));
        if (!ok) {
            std::fprintf(stderr, "loadgen: %s:%zu: cannot use '%s'\n", o.file.c_str(), lineno,
                         line.c_str());
            throw Exit{1};
        }
        put16(w, qtype);
        put16(w, 1);  // IN
        if (o.edns || !opt.empty()) {
            w[11] = 1;       // ARCOUNT
            w.push_back(0);  // root owner
            put16(w, 41);    // OPT (RFC 6891)
            put16(w, 1232);  // UDP payload size
            put16(w, 0);     // extended RCODE, version
            put16(w, 0);     // flags
            put16(w, static_cast<uint16_t>(opt.size()));
            w.insert(w.end(), opt.begin(), opt.end());
        }
        if (w.size() > kMaxQuery) {
            std::fprintf(stderr, "loadgen: %s:%zu: query too long\n", o.file.c_str(), lineno);
            throw Exit{1};
        }
        Query q;
        std::memcpy(q.wire.data(), w.data(), w.size());
        q.len = static_cast<uint16_t>(w.size());
        out.push_back(q);
    }
    if (out.empty()) {
        std::fprintf(stderr, "loadgen: %s has no queries\n", o.file.c_str());
        throw Exit{1};
    }
    return out;
}

struct Slot {
    uint64_t sent_ns = 0;
    uint16_t gen = 0;
    bool busy = false;
};

struct Conn {
    int fd = -1;
    std::vector<Slot> slots;
    std::vector<uint32_t> free_slots;
};

struct Totals {
    uint64_t sent = 0;
    uint64_t received = 0;
    uint64_t lost = 0;
    uint64_t unexpected = 0;  // late, duplicate or unmatched replies
    uint64_t truncated = 0;
    uint64_t send_fail = 0;
    uint64_t behind = 0;  // --rate: sends that found no free slot
    std::array<uint64_t, 16> rcodes{};
    std::vector<uint64_t> hist = std::vector<uint64_t>(kHistUs + 1, 0);
    uint64_t latency_sum_ns = 0;
    uint64_t latency_max_ns = 0;
};

class Generator {
public:
    Generator(const Options& o, std::vector<Query> queries)
        : opt_(o), queries_(std::move(queries)) {
        sockaddr_storage ss{};
        if (inet_pton(AF_INET, o.server.c_str(), &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr) ==
            1) {
            auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
            const uint32_t a = ntohl(v4->sin_addr.s_addr);
            const bool bench = o.bench_range && (a >> 17) == (0xc6120000U >> 17);  // 198.18/15
            if ((a >> 24) != 127 && !bench) {
                usage(o.bench_range ? "only loopback (127.0.0.0/8, ::1) and 198.18.0.0/15 "
                                      "targets are allowed"
                                    : "only loopback targets (127.0.0.0/8, ::1) are allowed");
            }
            v4->sin_family = AF_INET;
            v4->sin_port = htons(o.port);
            addr_len_ = sizeof(sockaddr_in);
        } else if (inet_pton(AF_INET6, o.server.c_str(),
                             &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr) == 1) {
            auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
            if (!IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr)) {
                usage("only loopback targets (127.0.0.0/8, ::1) are allowed");
            }
            v6->sin6_family = AF_INET6;
            v6->sin6_port = htons(o.port);
            addr_len_ = sizeof(sockaddr_in6);
        } else {
            usage("server must be a numeric address");
        }
        addr_ = ss;
        uint32_t per_socket = kSlotsPerSocket;
        for (uint32_t i = 0; i < o.sockets; ++i) {
            Conn c;
            c.fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (c.fd < 0 ||
                connect(c.fd, reinterpret_cast<const sockaddr*>(&addr_), addr_len_) != 0) {
                std::perror("loadgen: socket");
                throw Exit{1};
            }
            // Large buffers so that a load generator descheduled for a few milliseconds does not
            // drop replies itself; the *FORCE variants pass net.core.rmem_max (root only).
            int buf = 4 << 20;
            if (setsockopt(c.fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) != 0) {
                setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
            }
            if (setsockopt(c.fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) != 0) {
                setsockopt(c.fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
            }
            c.slots.resize(per_socket);
            for (uint32_t s = per_socket; s > 0; --s) {
                c.free_slots.push_back(s - 1);
            }
            conns_.push_back(std::move(c));
        }
        in_buf_.resize(kBatch * kMaxResponse);
        out_buf_.resize(kBatch * kMaxQuery);
    }

    ~Generator() {
        for (auto& c : conns_) {
            close(c.fd);
        }
    }

    void run() {
        start_ns_ = now_ns();
        end_ns_ = start_ns_ + static_cast<uint64_t>(opt_.duration_s * 1e9);
        uint64_t next_sweep = start_ns_ + 10'000'000;
        std::vector<pollfd> pfds(conns_.size());
        for (size_t i = 0; i < conns_.size(); ++i) {
            pfds[i] = {conns_[i].fd, POLLIN, 0};
        }
        bool sending = true;
        while (g_interrupted == 0) {
            uint64_t now = now_ns();
            if (sending && (now >= end_ns_ || limit_reached())) {
                sending = false;
                stop_ns_ = now;
            }
            if (!sending && (in_flight_ == 0 || now >= stop_ns_ + opt_.timeout_ms * 1'000'000ull)) {
                break;
            }
            if (sending) {
                send_due(now);
            }
            // Wait for replies, at most until the next send is due (fixed rate) or 1 ms.
            int64_t wait_ns = 1'000'000;
            if (sending && opt_.rate > 0) {
                wait_ns = std::min<int64_t>(
                    wait_ns, static_cast<int64_t>(next_due_ns()) - static_cast<int64_t>(now_ns()));
            }
            timespec ts{0, std::max<int64_t>(wait_ns, 0)};
            int r = ppoll(pfds.data(), pfds.size(), &ts, nullptr);
            if (r > 0) {
                for (size_t i = 0; i < pfds.size(); ++i) {
                    if ((pfds[i].revents & POLLIN) != 0) {
                        receive(conns_[i]);
                    }
                }
            }
            now = now_ns();
            if (now >= next_sweep) {
                sweep(now);
                next_sweep = now + 10'000'000;
            }
        }
        if (stop_ns_ == 0) {
            stop_ns_ = now_ns();
        }
        sweep(UINT64_MAX);  // whatever is still out is lost
    }

    void report() const {
        double secs = static_cast<double>(stop_ns_ - start_ns_) / 1e9;
        double qps = secs > 0 ? static_cast<double>(t_.received) / secs : 0;
        double avg_us = t_.received > 0 ? static_cast<double>(t_.latency_sum_ns) /
                                              static_cast<double>(t_.received) / 1000.0
                                        : 0;
        double p50 = percentile(0.50);
        double p99 = percentile(0.99);
        double p999 = percentile(0.999);
        rusage ru{};
        getrusage(RUSAGE_SELF, &ru);
        double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                     static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
        static const char* kRcodes[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                        "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                        "NXRRSET", "NOTAUTH", "NOTZONE"};
        if (opt_.json) {
            std::printf("{\"duration_s\": %.3f, \"sent\": %" PRIu64 ", \"received\": %" PRIu64
                        ", \"lost\": %" PRIu64 ", \"unexpected\": %" PRIu64
                        ", \"truncated\": %" PRIu64 ", \"behind\": %" PRIu64
                        ", \"qps\": %.1f, \"avg_us\": %.1f, \"p50_us\": %.1f, \"p99_us\": %.1f"
                        ", \"p999_us\": %.1f, \"max_us\": %.1f, \"cpu_s\": %.3f, \"rcodes\": {",
                        secs, t_.sent, t_.received, t_.lost, t_.unexpected, t_.truncated, t_.behind,
                        qps, avg_us, p50, p99, p999,
                        static_cast<double>(t_.latency_max_ns) / 1000.0, cpu);
            bool first = true;
            for (size_t i = 0; i < t_.rcodes.size(); ++i) {
                if (t_.rcodes[i] == 0) {
                    continue;
                }
                std::printf("%s\"%s\": %" PRIu64, first ? "" : ", ",
                            i < 11 ? kRcodes[i] : std::to_string(i).c_str(), t_.rcodes[i]);
                first = false;
            }
            std::printf("}}\n");
            return;
        }
        std::printf("Statistics:\n");
        std::printf("  Queries sent:         %" PRIu64 "\n", t_.sent);
        std::printf("  Queries completed:    %" PRIu64 "\n", t_.received);
        std::printf("  Queries lost:         %" PRIu64 "\n", t_.lost);
        if (t_.unexpected > 0) {
            std::printf("  Unexpected replies:   %" PRIu64 "\n", t_.unexpected);
        }
        if (t_.behind > 0) {
            std::printf("  Sends behind rate:    %" PRIu64 "\n", t_.behind);
        }
        std::printf("  Truncated (TC):       %" PRIu64 "\n", t_.truncated);
        std::printf("  Response codes:      ");
        for (size_t i = 0; i < t_.rcodes.size(); ++i) {
            if (t_.rcodes[i] != 0) {
                std::printf(" %s %" PRIu64, i < 11 ? kRcodes[i] : std::to_string(i).c_str(),
                            t_.rcodes[i]);
            }
        }
        std::printf("\n  Run time (s):         %.3f\n", secs);
        std::printf("  Queries per second:   %.1f\n", qps);
        std::printf("  Latency (us):         avg %.1f  p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
                    avg_us, p50, p99, p999, static_cast<double>(t_.latency_max_ns) / 1000.0);
        std::printf("  Load generator CPU:   %.3f s\n", cpu);
    }

    const Totals& totals() const { return t_; }

private:
    bool limit_reached() const { return opt_.max_queries != 0 && t_.sent >= opt_.max_queries; }

    uint64_t next_due_ns() const {
        return start_ns_ +
               static_cast<uint64_t>(static_cast<double>(t_.sent + t_.behind) * 1e9 / opt_.rate);
    }

    // How many queries may go out now: closed loop tops up to --in-flight; fixed rate sends
    // what the schedule says is due (a send that finds no free slot is skipped and counted).
    uint64_t due(uint64_t now) {
        uint64_t want = 0;
        if (opt_.rate > 0) {
            auto scheduled =
                static_cast<uint64_t>(static_cast<double>(now - start_ns_) * opt_.rate / 1e9) + 1;
            uint64_t done = t_.sent + t_.behind;
            want = scheduled > done ? scheduled - done : 0;
        } else {
            want = opt_.in_flight > in_flight_ ? opt_.in_flight - in_flight_ : 0;
        }
        if (opt_.max_queries != 0) {
            want = std::min(want, opt_.max_queries - std::min(opt_.max_queries, t_.sent));
        }
        return want;
    }

    void send_due(uint64_t now) {
        uint64_t want = due(now);
        while (want > 0) {
            Conn* cp = nullptr;
            for (size_t tries = 0; tries < conns_.size() && cp == nullptr; ++tries) {
                Conn& c = conns_[next_conn_];
                next_conn_ = (next_conn_ + 1) % conns_.size();
                if (!c.free_slots.empty()) {
                    cp = &c;
                }
            }
            if (cp == nullptr) {
                if (opt_.rate > 0) {
                    t_.behind += want;  // every slot is taken: these sends are skipped
                }
                break;
            }
            Conn& c = *cp;
            size_t n = std::min<uint64_t>({want, kBatch, c.free_slots.size()});
            std::array<mmsghdr, kBatch> msgs{};
            std::array<iovec, kBatch> iov{};
            std::array<uint32_t, kBatch> slot_ids{};
            uint64_t t = now_ns();
            for (size_t i = 0; i < n; ++i) {
                uint32_t s = c.free_slots.back();
                c.free_slots.pop_back();
                Slot& slot = c.slots[s];
                slot.gen = static_cast<uint16_t>((slot.gen + 1) & 0xf);
                slot.busy = true;
                slot.sent_ns = t;
                slot_ids[i] = s;
                const Query& q = queries_[next_query_];
                next_query_ = (next_query_ + 1) % queries_.size();
                uint8_t* out = out_buf_.data() + i * kMaxQuery;
                std::memcpy(out, q.wire.data(), q.len);
                auto id = static_cast<uint16_t>((slot.gen << kSlotBits) | s);
                out[0] = static_cast<uint8_t>(id >> 8);
                out[1] = static_cast<uint8_t>(id);
                iov[i] = {out, q.len};
                msgs[i].msg_hdr.msg_iov = &iov[i];
                msgs[i].msg_hdr.msg_iovlen = 1;
            }
            int sent = sendmmsg(c.fd, msgs.data(), static_cast<unsigned>(n), MSG_DONTWAIT);
            size_t ok = sent > 0 ? static_cast<size_t>(sent) : 0;
            for (size_t i = ok; i < n; ++i) {  // not sent: give the slots back
                c.slots[slot_ids[i]].busy = false;
                c.free_slots.push_back(slot_ids[i]);
            }
            t_.sent += ok;
            in_flight_ += ok;
            want -= n;
            if (ok < n) {
                t_.send_fail += n - ok;
                if (opt_.rate > 0) {
                    t_.behind += n - ok;
                }
                break;  // socket buffer full: let replies drain first
            }
        }
    }

    void receive(Conn& c) {
        for (;;) {
            std::array<mmsghdr, kBatch> msgs{};
            std::array<iovec, kBatch> iov{};
            for (size_t i = 0; i < kBatch; ++i) {
                iov[i] = {in_buf_.data() + i * kMaxResponse, kMaxResponse};
                msgs[i].msg_hdr.msg_iov = &iov[i];
                msgs[i].msg_hdr.msg_iovlen = 1;
            }
            int n = recvmmsg(c.fd, msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
            if (n <= 0) {
                return;
            }
            uint64_t t = now_ns();
            for (int i = 0; i < n; ++i) {
                const uint8_t* r = in_buf_.data() + static_cast<size_t>(i) * kMaxResponse;
                if (msgs[static_cast<size_t>(i)].msg_len < 12 || (r[2] & 0x80) == 0) {
                    ++t_.unexpected;
                    continue;
                }
                auto id = static_cast<uint16_t>((r[0] << 8) | r[1]);
                uint32_t s = id & (kSlotsPerSocket - 1);
                Slot& slot = c.slots[s];
                if (!slot.busy || slot.gen != (id >> kSlotBits)) {
                    ++t_.unexpected;
                    continue;
                }
                slot.busy = false;
                c.free_slots.push_back(s);
                --in_flight_;
                ++t_.received;
                ++t_.rcodes[r[3] & 0xf];
                if ((r[2] & 0x02) != 0) {
                    ++t_.truncated;
                }
                uint64_t lat = t - slot.sent_ns;
                t_.latency_sum_ns += lat;
                t_.latency_max_ns = std::max(t_.latency_max_ns, lat);
                ++t_.hist[std::min<uint64_t>(lat / 1000, kHistUs)];
            }
            if (static_cast<size_t>(n) < kBatch) {
                return;
            }
        }
    }

    // Queries older than the timeout are lost; their slots return to the pool. A late reply
    // for a reused slot carries an older generation and is counted as unexpected.
    void sweep(uint64_t now) {
        uint64_t timeout = static_cast<uint64_t>(opt_.timeout_ms) * 1'000'000ull;
        for (auto& c : conns_) {
            for (uint32_t s = 0; s < c.slots.size(); ++s) {
                Slot& slot = c.slots[s];
                if (slot.busy && (now == UINT64_MAX || now - slot.sent_ns >= timeout)) {
                    slot.busy = false;
                    c.free_slots.push_back(s);
                    --in_flight_;
                    ++t_.lost;
                }
            }
        }
    }

    double percentile(double p) const {
        if (t_.received == 0) {
            return 0;
        }
        auto target = static_cast<uint64_t>(p * static_cast<double>(t_.received));
        uint64_t seen = 0;
        for (size_t i = 0; i < t_.hist.size(); ++i) {
            seen += t_.hist[i];
            if (seen > target) {
                return static_cast<double>(i) + 0.5;  // bucket midpoint, microseconds
            }
        }
        return static_cast<double>(kHistUs);
    }

    Options opt_;
    std::vector<Query> queries_;
    sockaddr_storage addr_{};
    socklen_t addr_len_ = 0;
    std::vector<Conn> conns_;
    std::vector<uint8_t> in_buf_;
    std::vector<uint8_t> out_buf_;
    size_t next_conn_ = 0;
    size_t next_query_ = 0;
    uint64_t in_flight_ = 0;
    uint64_t start_ns_ = 0;
    uint64_t end_ns_ = 0;
    uint64_t stop_ns_ = 0;
    Totals t_;
};

}  // namespace

int main(int argc, char** argv) try {
    Options o = parse_args(argc, argv);
    std::vector<Query> queries = load_queries(o);
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    Generator g(o, std::move(queries));
    g.run();
    g.report();
    return g.totals().received > 0 ? 0 : 1;
} catch (const Exit& e) {
    return e.status;
} catch (const std::exception& e) {
    std::fprintf(stderr, "loadgen: %s\n", e.what());
    return 1;
}
