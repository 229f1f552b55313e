// Benchmark for the prober pool, on loopback only.
//
//   probe_bench serve [--addrs N] [--ports N] [--base-port P] [--seconds S]
//       HTTP responder (epoll, one thread) on 127.0.1.1..127.0.1.N x P..P+ports-1 that answers
//       every request with 200. Prints "ready" once listening.
//   probe_bench probe [--checks N] [--interval S] [--seconds S] [--threads N] [--addrs N]
//                     [--ports N] [--base-port P] [--type http|tcp]
//       Runs N checks against those endpoints (distinct paths make distinct checks) and prints
//       the completion rate, schedule lateness, latency, failures and the prober's CPU share.
//
// The server runs as a separate process so that the CPU figure is the prober's alone.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "dnslb/base/errno_text.hpp"
#include "probes/health_table.hpp"
#include "probes/prober_pool.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using dnslb::probes::CheckRequest;
using dnslb::probes::CheckResult;
using dnslb::probes::HealthTable;
using dnslb::probes::MonitorSpec;
using dnslb::probes::ProberPool;

struct Options {
    int addrs = 50, ports = 4, base_port = 18200, checks = 2000, threads = 2;
    double interval_s = 1.0, seconds = 20.0;
    std::string type = "http";
};

// The numeric options: flag, field, and the range the value is clamped to.
template <typename T>
struct Numeric {
    std::string_view flag;
    T Options::*field;
    T lo, hi;
};
constexpr Numeric<int> kInts[] = {{"--addrs", &Options::addrs, 1, 250},
                                  {"--ports", &Options::ports, 1, 100},
                                  {"--base-port", &Options::base_port, 1024, 65000},
                                  {"--checks", &Options::checks, 1, 20000},
                                  {"--threads", &Options::threads, 1, 64}};
constexpr Numeric<double> kDoubles[] = {{"--interval", &Options::interval_s, 0.01, 60.0},
                                        {"--seconds", &Options::seconds, 1.0, 600.0}};

std::string address(int i) { return "127.0.1." + std::to_string(1 + i); }

// A bad command line: main prints the message and exits with status 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

Options parse_options(int argc, char** argv, int first) {
    Options o;
    for (int i = first; i + 1 < argc; i += 2) {
        std::string k = argv[i];
        const char* v = argv[i + 1];
        const auto set = [&](const auto& table, auto parse) {
            for (const auto& n : table) {
                if (k == n.flag) {
                    o.*n.field = std::clamp<decltype(n.lo)>(parse(v), n.lo, n.hi);
                    return true;
                }
            }
            return false;
        };
        if (set(kInts, [](const char* s) { return std::atoi(s); }) ||
            set(kDoubles, [](const char* s) { return std::atof(s); })) {
            continue;
        }
        if (k == "--type") {
            o.type = v;
        } else {
            throw UsageError("unknown option " + k);
        }
    }
    return o;
}

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop = true; }

int serve(const Options& o) {
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    std::vector<int> listeners;
    for (int a = 0; a < o.addrs; ++a) {
        for (int p = 0; p < o.ports; ++p) {
            int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            int one = 1;
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            sockaddr_in sa{};
            sa.sin_family = AF_INET;
            sa.sin_port = htons(static_cast<uint16_t>(o.base_port + p));
            inet_pton(AF_INET, address(a).c_str(), &sa.sin_addr);
            if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
                listen(fd, 4096) != 0) {
                std::fprintf(stderr, "cannot listen on %s:%d: %s\n", address(a).c_str(),
                             o.base_port + p, dnslb::base::errno_text(errno).c_str());
                return 1;
            }
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.u64 = (uint64_t{1} << 32) | static_cast<uint32_t>(fd);
            epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
            listeners.push_back(fd);
        }
    }
    std::printf("ready\n");
    std::fflush(stdout);
    static const char kResponse[] =
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    std::unordered_map<int, std::string> pending;
    auto end = Clock::now() + std::chrono::duration<double>(o.seconds);
    epoll_event events[256];
    char buf[4096];
    while (!g_stop && Clock::now() < end) {
        int n = epoll_wait(ep, events, 256, 100);
        for (int i = 0; i < n; ++i) {
            int fd = static_cast<int>(events[i].data.u64 & 0xffffffff);
            if ((events[i].data.u64 >> 32) != 0) {
                int c = 0;
                while ((c = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    epoll_event ev{};
                    ev.events = EPOLLIN;
                    ev.data.u64 = static_cast<uint32_t>(c);
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
                }
                continue;
            }
            ssize_t r = recv(fd, buf, sizeof buf, 0);
            if (r <= 0) {
                pending.erase(fd);
                close(fd);
                continue;
            }
            std::string& req = pending[fd];
            req.append(buf, static_cast<size_t>(r));
            if (req.find("\r\n\r\n") != std::string::npos) {
                send(fd, kResponse, sizeof kResponse - 1, MSG_NOSIGNAL);
                pending.erase(fd);
                close(fd);
            }
        }
    }
    return 0;
}

int64_t percentile(std::vector<int64_t>& v, double p) {
    if (v.empty()) {
        return 0;
    }
    auto idx = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(idx), v.end());
    return v[idx];
}

double cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int probe(const Options& o) {
    HealthTable table(static_cast<size_t>(o.checks) + 16);
    std::atomic<uint64_t> transitions{0};
    ProberPool pool(table, static_cast<unsigned>(o.threads), [&](const std::string& line) {
        if (transitions++ < 5) {
            std::fprintf(stderr, "%s\n", line.c_str());
        }
    });
    std::mutex mutex;
    std::vector<int64_t> lateness;
    std::vector<int64_t> latency;
    uint64_t completed = 0;
    uint64_t failed = 0;
    std::atomic<bool> measuring{false};
    pool.set_result_hook([&](const CheckResult& r) {
        if (!measuring.load(std::memory_order_relaxed)) {
            return;
        }
        std::lock_guard lock(mutex);
        ++completed;
        failed += r.ok ? 0 : 1;
        lateness.push_back(r.lateness_us);
        latency.push_back(r.latency_us);
    });

    std::vector<CheckRequest> reqs;
    int endpoints = o.addrs * o.ports;
    for (int i = 0; i < o.checks; ++i) {
        int ep = i % endpoints;
        int round = i / endpoints;  // checks on the same endpoint are told apart by it
        nlohmann::json j = {{"type", o.type},
                            {"port", o.base_port + ep % o.ports},
                            {"interval", o.interval_s},
                            {"timeout", 2}};
        if (o.type == "tcp") {
            // Same endpoint, distinct check: a timeout differing by a millisecond.
            j["timeout"] = 2.0 + 0.001 * round;
        } else {
            j["path"] = "/check/" + std::to_string(round);
        }
        CheckRequest r;
        r.spec = MonitorSpec::from_json(j);
        r.family = AF_INET;
        inet_pton(AF_INET, address(ep / o.ports).c_str(), r.addr.data());
        r.label = "bench " + std::to_string(i);
        reqs.push_back(std::move(r));
    }
    auto ids = pool.set_checks(reqs);
    size_t distinct = pool.check_count();

    auto t0 = Clock::now();
    pool.run_initial_round(std::chrono::seconds(10));
    double initial_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    size_t up = 0;
    for (int32_t id : ids) {
        up += table.up(id) && table.snapshot(id).checks > 0 ? 1 : 0;
    }
    pool.start();
    // Let the random first offsets play out before measuring the steady state.
    std::this_thread::sleep_for(std::chrono::duration<double>(o.interval_s * 1.5));
    double cpu0 = cpu_seconds();
    auto w0 = Clock::now();
    measuring = true;
    std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
    measuring = false;
    double wall = std::chrono::duration<double>(Clock::now() - w0).count();
    double cpu = cpu_seconds() - cpu0;
    auto stats = pool.stats();
    pool.stop();

    std::lock_guard lock(mutex);
    std::printf(
        "checks configured:     %zu distinct (%d requested; %s, interval %.2fs, "
        "%d addresses x %d ports, %d prober threads)\n",
        distinct, o.checks, o.type.c_str(), o.interval_s, o.addrs, o.ports, o.threads);
    std::printf("initial round:         %zu/%zu up in %.0f ms\n", up, ids.size(), initial_ms);
    std::printf("measured window:       %.1f s\n", wall);
    std::printf("checks completed/s:    %.1f (expected %.1f)\n",
                static_cast<double>(completed) / wall,
                static_cast<double>(distinct) / o.interval_s);
    std::printf("start lateness (ms):   p50 %.3f  p99 %.3f  max %.3f\n",
                static_cast<double>(percentile(lateness, 0.50)) / 1000.0,
                static_cast<double>(percentile(lateness, 0.99)) / 1000.0,
                static_cast<double>(percentile(lateness, 1.0)) / 1000.0);
    std::printf("check latency (ms):    p50 %.3f  p99 %.3f  max %.3f\n",
                static_cast<double>(percentile(latency, 0.50)) / 1000.0,
                static_cast<double>(percentile(latency, 0.99)) / 1000.0,
                static_cast<double>(percentile(latency, 1.0)) / 1000.0);
    std::printf("failures:              %lu in window, %lu total of %lu checks\n",
                static_cast<unsigned long>(failed), static_cast<unsigned long>(stats.failures),
                static_cast<unsigned long>(stats.checks));
    std::printf("prober CPU:            %.1f%% of one core (%.2f s CPU over %.1f s)\n",
                100.0 * cpu / wall, cpu, wall);
    return failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) try {
    if (argc < 2) {
        std::fprintf(stderr, "usage: probe_bench serve|probe [options]\n");
        return 2;
    }
    std::string mode = argv[1];
    Options o = parse_options(argc, argv, 2);
    if (mode == "serve") {
        return serve(o);
    }
    if (mode == "probe") {
        return probe(o);
    }
    std::fprintf(stderr, "usage: probe_bench serve|probe [options]\n");
    return 2;
} catch (const UsageError& e) {
    std::fprintf(stderr, "probe_bench: %s\n", e.what());
    return 2;
} catch (const std::exception& e) {
    std::fprintf(stderr, "probe_bench: %s\n", e.what());
    return 1;
}
