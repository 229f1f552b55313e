// The prober pool's threads, shared by its files: prober_pool.cpp (scheduling, commands,
// results), prober_http.cpp (http and https through libcurl's multi interface) and
// prober_raw.cpp (tcp connects and dns queries on raw non-blocking sockets). Not part of the
// public interface.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <queue>
#include <random>
#include <stdexcept>
#include <thread>

#include <curl/curl.h>

#include "dnslb/base/errno_text.hpp"
#include "probes/prober_pool.hpp"

namespace dnslb::probes {

using Clock = std::chrono::steady_clock;

namespace detail {

inline constexpr size_t kMaxBodyBytes =
    size_t{64} * 1024;  // a body match looks at this much, no more
inline constexpr int kMaxPollWaitMs = 1000;
inline constexpr long kMaxRedirects = 5;
inline constexpr uint16_t kClassIn = 1;

// Every in-flight check holds a socket: keep half the descriptor limit for the DNS workers,
// zone files and the API.
inline size_t max_in_flight(unsigned threads) {
    rlimit lim{};
    rlim_t soft = 1024;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
        soft = lim.rlim_cur;
    }
    size_t per_thread = static_cast<size_t>(soft / 2) / std::max(1U, threads);
    return std::clamp<size_t>(per_thread, 16, 4096);
}

inline std::string format_address(int family, const std::array<uint8_t, 16>& addr) {
    char buf[INET6_ADDRSTRLEN] = {};
    if ((family != AF_INET && family != AF_INET6) ||
        inet_ntop(family, addr.data(), buf, sizeof buf) == nullptr) {
        return {};
    }
    return buf;
}

inline size_t bucket_of(uint32_t latency_us) {
    const auto& bounds = ProbeStats::kBucketUpperUs;
    auto it = std::lower_bound(bounds.begin(), bounds.end(), latency_us);
    return static_cast<size_t>(it - bounds.begin());
}

inline const char* rcode_name(uint8_t rcode) {
    static const char* const kNames[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                         "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                         "NXRRSET", "NOTAUTH", "NOTZONE"};
    return rcode < std::size(kNames) ? kNames[rcode] : nullptr;
}

inline std::string errno_reason(const char* what, int err) {
    if (err == ECONNREFUSED) {
        return "connect refused";
    }
    if (err == ENETUNREACH || err == EHOSTUNREACH) {
        return "unreachable";
    }
    return std::string(what) + ": " + base::errno_text(err);
}

inline socklen_t make_sockaddr(int family, const std::array<uint8_t, 16>& addr, uint16_t port,
                               sockaddr_storage& ss) {
    std::memset(&ss, 0, sizeof ss);
    if (family == AF_INET6) {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        std::memcpy(&sin6->sin6_addr, addr.data(), 16);
        return sizeof(sockaddr_in6);
    }
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, addr.data(), 4);
    return sizeof(sockaddr_in);
}

// RFC 1035 section 4.1: header with RD set (a recursive resolver needs it, an authoritative
// server ignores it), one question of class IN. The ID is patched per run.
// Binds `fd` to `source` (an address of `family`, port 0) unless it is empty.
inline bool bind_source(int fd, int family, const std::string& source) {
    if (source.empty()) {
        return true;
    }
    std::array<uint8_t, 16> bytes{};
    if (inet_pton(family, source.c_str(), bytes.data()) != 1) {
        return false;
    }
    sockaddr_storage ss{};
    socklen_t len = make_sockaddr(family, bytes, 0, ss);
    return ::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0;
}

inline std::vector<uint8_t> build_query(const MonitorSpec& spec) {
    std::vector<uint8_t> q = {0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
    size_t start = 0;
    const std::string& name = spec.name;
    while (start < name.size() && name != ".") {
        size_t dot = name.find('.', start);
        q.push_back(static_cast<uint8_t>(dot - start));
        q.insert(q.end(), name.begin() + static_cast<ptrdiff_t>(start),
                 name.begin() + static_cast<ptrdiff_t>(dot));
        start = dot + 1;
    }
    q.push_back(0);
    q.push_back(static_cast<uint8_t>(spec.qtype >> 8));
    q.push_back(static_cast<uint8_t>(spec.qtype & 0xff));
    q.push_back(0);
    q.push_back(kClassIn);
    return q;
}

inline size_t discard_body(char*, size_t size, size_t nmemb, void*) { return size * nmemb; }

}  // namespace detail

struct ProberPool::Round {
    std::mutex mutex;
    std::condition_variable cv;
    size_t pending = 0;

    void done() {
        std::lock_guard lock(mutex);
        if (pending > 0 && --pending == 0) {
            cv.notify_all();
        }
    }
};

struct ProberPool::Check {
    // Set by the control thread before the check is handed to its prober, then immutable.
    std::string key;
    MonitorSpec spec;
    int family = AF_INET;
    std::array<uint8_t, 16> addr{};
    std::string endpoint;  // "192.0.2.1:80", "[2001:db8::1]:80"
    int32_t cell = -1;
    size_t worker = 0;

    mutable std::mutex label_mutex;  // the label changes on reload while the check runs
    std::string label;

    // Prober thread only.
    CURL* easy = nullptr;
    curl_slist* header_list = nullptr;
    curl_slist* connect_to = nullptr;
    char errbuf[CURL_ERROR_SIZE] = {};
    std::string body_buf;
    int fd = -1;  // tcp connect or dns query socket
    short events = 0;
    Clock::time_point deadline;
    std::vector<uint8_t> query;
    uint16_t dns_id = 0;
    bool in_flight = false;
    bool periodic = false;  // has a fixed-rate schedule
    bool removed = false;
    uint64_t gen = 0;  // heap entries of older generations are stale
    Clock::time_point due;
    Clock::time_point started;
    int64_t lateness_us = 0;
    std::shared_ptr<Round> round;

    Check() = default;
    Check(const Check&) = delete;
    Check& operator=(const Check&) = delete;
    ~Check() {
        release_curl();
        close_fd();
    }

    void release_curl() {
        if (easy != nullptr) {
            curl_easy_cleanup(easy);
            easy = nullptr;
        }
        curl_slist_free_all(header_list);
        header_list = nullptr;
        curl_slist_free_all(connect_to);
        connect_to = nullptr;
    }
    void close_fd() {
        if (fd >= 0) {
            ::close(fd);
            fd = -1;
        }
    }
    std::string current_label() const {
        std::lock_guard lock(label_mutex);
        return label;
    }
};

class ProberPool::ProberThread {
public:
    enum class Cmd : uint8_t { kAdd, kRemove, kRunNow, kStart };
    struct Command {
        Cmd cmd;
        std::shared_ptr<Check> check;
        std::shared_ptr<Round> round;
    };

    ProberThread(ProberPool& pool, size_t max_in_flight)
        : pool_(pool), max_in_flight_(max_in_flight), rng_(std::random_device{}()) {
        multi_ = curl_multi_init();
    }
    ~ProberThread() {
        request_stop();
        join();
        curl_multi_cleanup(multi_);
    }
    ProberThread(const ProberThread&) = delete;
    ProberThread& operator=(const ProberThread&) = delete;

    void post(std::vector<Command>&& cmds) {
        if (cmds.empty()) {
            return;
        }
        {
            std::lock_guard lock(inbox_mutex_);
            for (auto& c : cmds) {
                inbox_.push_back(std::move(c));
            }
        }
        curl_multi_wakeup(multi_);
    }
    void start_thread() {
        thread_ = std::thread([this] { run(); });
    }
    void request_stop() {
        stop_.store(true, std::memory_order_release);
        curl_multi_wakeup(multi_);
    }
    void join() {
        if (thread_.joinable()) {
            thread_.join();
        }
    }
    void add_stats(ProbeStats& s) const {
        for (size_t i = 0; i < ProbeStats::kBuckets; ++i) {
            s.latency_buckets[i] += buckets_[i].load(std::memory_order_relaxed);
        }
        s.checks += checks_run_.load(std::memory_order_relaxed);
        s.failures += failures_.load(std::memory_order_relaxed);
        s.latency_sum_us += latency_sum_us_.load(std::memory_order_relaxed);
        for (size_t i = 0; i < ProbeStats::kBuckets; ++i) {
            s.lateness_buckets[i] += lateness_buckets_[i].load(std::memory_order_relaxed);
        }
        s.lateness_sum_us += lateness_sum_us_.load(std::memory_order_relaxed);
        s.transitions += transitions_.load(std::memory_order_relaxed);
    }

    size_t assigned = 0;  // control thread: checks handed to this worker, for balancing

private:
    struct Entry {
        Clock::time_point due;
        uint64_t gen;
        std::shared_ptr<Check> check;
        bool operator>(const Entry& o) const { return due > o.due; }
    };

    void run();
    void drain();
    void apply(Command& c, Clock::time_point now);
    void remove(Check& c);
    void launch_due(Clock::time_point now);
    void launch(const std::shared_ptr<Check>& c, Clock::time_point due);
    void start_http(Check& c);
    bool setup_easy(Check& c);
    void start_tcp(Check& c);
    void start_dns(Check& c);
    void harvest_curl();
    void finish_http(Check& c, CURLcode rc);
    void handle_raw(Check& c, short revents);
    void read_dns(Check& c);
    void expire_raw(Clock::time_point now);
    void complete(Check& c, bool ok, const std::string& reason);
    void schedule(const std::shared_ptr<Check>& c, Clock::time_point due);
    void forget_raw(Check& c);
    // Closes the socket and completes the check as failed with `what` and errno `err`.
    void fail_raw(Check& c, const char* what, int err);
    // Waits for `events` on the check's socket until its timeout.
    void await_raw(Check& c, short events);
    int wait_ms(Clock::time_point now);
    Clock::duration random_offset(uint32_t interval_ms) {
        std::uniform_int_distribution<uint64_t> d(0, uint64_t{interval_ms} * 1000 - 1);
        return std::chrono::microseconds(d(rng_));
    }
    size_t in_flight() const { return curl_in_flight_ + raw_in_flight_.size(); }

    ProberPool& pool_;
    size_t max_in_flight_;
    CURLM* multi_ = nullptr;
    std::mutex inbox_mutex_;
    std::vector<Command> inbox_;
    std::atomic<bool> stop_{false};
    std::thread thread_;

    // Prober thread only.
    std::unordered_map<Check*, std::shared_ptr<Check>> checks_;
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap_;
    std::vector<Check*> raw_in_flight_;
    size_t curl_in_flight_ = 0;
    bool started_ = false;
    std::mt19937_64 rng_;

    std::array<std::atomic<uint64_t>, ProbeStats::kBuckets> buckets_{};
    std::atomic<uint64_t> checks_run_{0};
    std::atomic<uint64_t> failures_{0};
    std::atomic<uint64_t> latency_sum_us_{0};
    std::array<std::atomic<uint64_t>, ProbeStats::kBuckets> lateness_buckets_{};
    std::atomic<uint64_t> lateness_sum_us_{0};
    std::atomic<uint64_t> transitions_{0};
};

}  // namespace dnslb::probes
