// The prober pool: runs health checks on its own threads and writes results to the health table.
//
// Thread contract: set_checks(), run_initial_round(), start(), stop() and set_result_hook() are
// called from one control thread. Each prober thread owns a libcurl multi handle (http, https)
// and raw non-blocking sockets (tcp connects, dns queries over UDP) and runs many checks at once
// from a single poll loop; it never blocks on one check. The control thread hands checks to
// prober threads through a small locked inbox and a curl_multi_wakeup(); prober threads never
// touch the control thread's maps. The log callback and the result hook run on prober threads
// and must be thread-safe. DNS worker threads only ever read the HealthTable.
#pragma once

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "probes/health_table.hpp"
#include "probes/monitor.hpp"

namespace dnslb::probes {

// One monitored address as a consumer (the zone loader) asks for it.
struct CheckRequest {
    MonitorSpec spec;
    int family = AF_INET;            // AF_INET or AF_INET6
    std::array<uint8_t, 16> addr{};  // network order; the first 4 bytes for AF_INET
    std::string addr_text;           // for logs; empty: formatted from addr
    std::string label;               // for logs, e.g. "pool web origin fra"
};

// Counters over every check the pool ran, summed over prober threads on read.
struct ProbeStats {
    static constexpr size_t kBuckets = 9;
    // Upper bounds of the latency buckets in microseconds; the last bucket is +Inf.
    static constexpr std::array<uint32_t, kBuckets - 1> kBucketUpperUs = {
        1000, 5000, 10000, 50000, 100000, 500000, 1000000, 5000000};
    std::array<uint64_t, kBuckets> latency_buckets{};  // per bucket, not cumulative
    uint64_t checks = 0;                               // finished checks
    uint64_t failures = 0;                             // of which failed
    uint64_t latency_sum_us = 0;
    // Start of each periodic check minus its scheduled time, in the same buckets: a prober that
    // cannot keep up shows here before checks are missed.
    std::array<uint64_t, kBuckets> lateness_buckets{};
    uint64_t lateness_sum_us = 0;
    uint64_t transitions = 0;
    uint64_t configured = 0;  // distinct checks currently configured
};

// One finished check, for observers (tests, benchmarks, metrics).
struct CheckResult {
    int32_t cell;
    bool ok;
    uint32_t latency_us;
    int64_t lateness_us;       // start of the check minus its scheduled time
    const std::string& error;  // reason of a failure, empty on success
};

class ProberPool {
public:
    using LogFn = std::function<void(const std::string&)>;
    using ResultHook = std::function<void(const CheckResult&)>;

    ProberPool(HealthTable& table, unsigned threads, LogFn log);
    ~ProberPool();
    ProberPool(const ProberPool&) = delete;
    ProberPool& operator=(const ProberPool&) = delete;

    // Replaces the running set and returns the health cell id per request (-1 when the table is
    // full). Requests with the same identity and address share one check and one cell. A check
    // that already runs keeps its cell, state and schedule; checks no longer requested stop.
    std::vector<int32_t> set_checks(const std::vector<CheckRequest>& requests);

    // Runs every configured check once, now and concurrently, and returns when all finished or
    // `max_wait` passed. Cells whose check did not finish keep their initial state. Starts the
    // prober threads if needed but not the periodic schedule (start() does).
    void run_initial_round(std::chrono::milliseconds max_wait);

    // Starts periodic checking: checks that have not run yet start at a random offset within
    // their interval so that a thousand checks at 1s do not fire together.
    void start();
    // Stops and joins the prober threads. Idempotent; the destructor calls it.
    void stop();

    ProbeStats stats() const;
    size_t check_count() const { return configured_.load(std::memory_order_relaxed); }

    // Sends every check from this local address (IPv4 or IPv6 text; checks of the other family
    // use the system's choice). Set before the first set_checks(). Throws std::invalid_argument
    // for text that is not an address.
    void set_source(const std::string& address);
    // The source for checks of `family`, "" for the system's choice. Read by prober threads.
    const std::string& source_for(int family) const {
        static const std::string kNone;
        return family == source_family_ ? source_ : kNone;
    }

    // Called on a prober thread after every finished check. Set before run_initial_round() or
    // start(); not changed while threads run.
    void set_result_hook(ResultHook hook);

    struct Check;
    struct Round;
    class ProberThread;

private:
    void ensure_threads();

    HealthTable& table_;
    LogFn log_;
    ResultHook hook_;
    std::vector<std::unique_ptr<ProberThread>> workers_;
    std::unordered_map<std::string, std::shared_ptr<Check>> checks_;  // control thread
    std::atomic<size_t> configured_{0};
    std::string source_;
    int source_family_ = 0;
    bool threads_running_ = false;
    bool started_ = false;
    bool stopped_ = false;
};

}  // namespace dnslb::probes
