#include "probes/prober_pool.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
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
#include <thread>

namespace dnslb::probes {

using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kMaxBodyBytes = 64 * 1024;  // a body match looks at this much, no more
constexpr int kMaxPollWaitMs = 1000;
constexpr long kMaxRedirects = 5;
constexpr uint16_t kClassIn = 1;

// Every in-flight check holds a socket: keep half the descriptor limit for the DNS workers,
// zone files and the API.
size_t max_in_flight(unsigned threads) {
    rlimit lim{};
    rlim_t soft = 1024;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
        soft = lim.rlim_cur;
    }
    size_t per_thread = static_cast<size_t>(soft / 2) / std::max(1U, threads);
    return std::clamp<size_t>(per_thread, 16, 4096);
}

std::string format_address(int family, const std::array<uint8_t, 16>& addr) {
    char buf[INET6_ADDRSTRLEN] = {};
    if ((family != AF_INET && family != AF_INET6) ||
        inet_ntop(family, addr.data(), buf, sizeof buf) == nullptr) {
        return {};
    }
    return buf;
}

size_t bucket_of(uint32_t latency_us) {
    const auto& bounds = ProbeStats::kBucketUpperUs;
    auto it = std::lower_bound(bounds.begin(), bounds.end(), latency_us);
    return static_cast<size_t>(it - bounds.begin());
}

const char* rcode_name(uint8_t rcode) {
    static const char* const kNames[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                         "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                         "NXRRSET", "NOTAUTH", "NOTZONE"};
    return rcode < std::size(kNames) ? kNames[rcode] : nullptr;
}

std::string errno_reason(const char* what, int err) {
    if (err == ECONNREFUSED) {
        return "connect refused";
    }
    if (err == ENETUNREACH || err == EHOSTUNREACH) {
        return "unreachable";
    }
    return std::string(what) + ": " + std::strerror(err);
}

socklen_t make_sockaddr(int family, const std::array<uint8_t, 16>& addr, uint16_t port,
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
std::vector<uint8_t> build_query(const MonitorSpec& spec) {
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

size_t discard_body(char*, size_t size, size_t nmemb, void*) { return size * nmemb; }

}  // namespace

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

class ProberPool::Worker {
public:
    enum class Cmd : uint8_t { kAdd, kRemove, kRunNow, kStart };
    struct Command {
        Cmd cmd;
        std::shared_ptr<Check> check;
        std::shared_ptr<Round> round;
    };

    Worker(ProberPool& pool, size_t max_in_flight)
        : pool_(pool), max_in_flight_(max_in_flight), rng_(std::random_device{}()) {
        multi_ = curl_multi_init();
    }
    ~Worker() {
        request_stop();
        join();
        curl_multi_cleanup(multi_);
    }
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

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
    void start_thread() { thread_ = std::thread([this] { run(); }); }
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

void ProberPool::Worker::run() {
    std::vector<curl_waitfd> fds;
    std::vector<Check*> fd_checks;
    while (!stop_.load(std::memory_order_acquire)) {
        drain();
        launch_due(Clock::now());
        int running = 0;
        curl_multi_perform(multi_, &running);
        harvest_curl();
        Clock::time_point now = Clock::now();
        expire_raw(now);
        fds.clear();
        fd_checks.assign(raw_in_flight_.begin(), raw_in_flight_.end());
        for (Check* c : fd_checks) {
            fds.push_back(curl_waitfd{c->fd, c->events, 0});
        }
        int numfds = 0;
        curl_multi_poll(multi_, fds.data(), static_cast<unsigned>(fds.size()), wait_ms(now),
                        &numfds);
        for (size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].revents != 0 && fd_checks[i]->in_flight) {
                handle_raw(*fd_checks[i], fds[i].revents);
            }
        }
    }
    for (auto& [ptr, check] : checks_) {
        remove(*check);
    }
    checks_.clear();
    heap_ = {};
}

void ProberPool::Worker::drain() {
    std::vector<Command> cmds;
    {
        std::lock_guard lock(inbox_mutex_);
        cmds.swap(inbox_);
    }
    Clock::time_point now = Clock::now();
    for (auto& c : cmds) {
        apply(c, now);
    }
}

void ProberPool::Worker::apply(Command& cmd, Clock::time_point now) {
    if (cmd.cmd == Cmd::kStart) {
        started_ = true;
        for (auto& [ptr, check] : checks_) {
            if (!check->in_flight && !check->periodic) {
                check->periodic = true;
                schedule(check, now + random_offset(check->spec.interval_ms));
            }
        }
        return;
    }
    Check& c = *cmd.check;
    switch (cmd.cmd) {
        case Cmd::kAdd:
            checks_.emplace(&c, cmd.check);
            if (started_) {
                // Added by a reload: start somewhere within the interval, not all at once.
                c.periodic = true;
                schedule(cmd.check, now + random_offset(c.spec.interval_ms));
            }
            break;
        case Cmd::kRemove:
            remove(c);
            checks_.erase(&c);
            break;
        case Cmd::kRunNow:
            if (c.removed || checks_.count(&c) == 0) {
                cmd.round->done();
                break;
            }
            if (c.round) {
                c.round->done();
            }
            c.round = cmd.round;
            if (!c.in_flight) {
                schedule(cmd.check, now);
            }
            break;
        case Cmd::kStart:
            break;
    }
}

void ProberPool::Worker::remove(Check& c) {
    c.removed = true;
    ++c.gen;
    if (c.in_flight) {
        if (c.easy != nullptr && c.fd < 0) {
            curl_multi_remove_handle(multi_, c.easy);
            --curl_in_flight_;
        }
        forget_raw(c);
        c.in_flight = false;
    }
    c.close_fd();
    c.release_curl();
    if (c.round) {
        c.round->done();
        c.round.reset();
    }
}

void ProberPool::Worker::schedule(const std::shared_ptr<Check>& c, Clock::time_point due) {
    heap_.push(Entry{due, ++c->gen, c});
}

void ProberPool::Worker::launch_due(Clock::time_point now) {
    while (!heap_.empty() && in_flight() < max_in_flight_) {
        const Entry& top = heap_.top();
        if (top.gen != top.check->gen || top.check->removed) {
            heap_.pop();
            continue;
        }
        if (top.due > now) {
            break;
        }
        std::shared_ptr<Check> c = top.check;
        Clock::time_point due = top.due;
        heap_.pop();
        ++c->gen;
        launch(c, due);
    }
}

void ProberPool::Worker::launch(const std::shared_ptr<Check>& c, Clock::time_point due) {
    c->due = due;
    c->started = Clock::now();
    c->lateness_us =
        std::chrono::duration_cast<std::chrono::microseconds>(c->started - due).count();
    if (c->periodic) {
        auto late_us = static_cast<uint32_t>(std::clamp<int64_t>(c->lateness_us, 0, UINT32_MAX));
        lateness_buckets_[bucket_of(late_us)].fetch_add(1, std::memory_order_relaxed);
        lateness_sum_us_.fetch_add(late_us, std::memory_order_relaxed);
    }
    c->in_flight = true;
    switch (c->spec.type) {
        case MonitorType::kHttp:
        case MonitorType::kHttps:
            start_http(*c);
            break;
        case MonitorType::kTcp:
            start_tcp(*c);
            break;
        case MonitorType::kDns:
            start_dns(*c);
            break;
    }
}

int ProberPool::Worker::wait_ms(Clock::time_point now) {
    Clock::time_point until = now + std::chrono::milliseconds(kMaxPollWaitMs);
    while (!heap_.empty() &&
           (heap_.top().gen != heap_.top().check->gen || heap_.top().check->removed)) {
        heap_.pop();
    }
    if (!heap_.empty() && in_flight() < max_in_flight_) {
        until = std::min(until, heap_.top().due);
    }
    for (const Check* c : raw_in_flight_) {
        until = std::min(until, c->deadline);
    }
    if (until <= now) {
        return 0;
    }
    // Round up: waking a little late is fine, spinning until the due time is not.
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(until - now).count();
    return static_cast<int>(std::min<int64_t>((us + 999) / 1000, kMaxPollWaitMs));
}

void ProberPool::Worker::complete(Check& c, bool ok, const std::string& reason) {
    Clock::time_point now = Clock::now();
    c.in_flight = false;
    auto latency = std::chrono::duration_cast<std::chrono::microseconds>(now - c.started);
    auto latency_us = static_cast<uint32_t>(std::clamp<int64_t>(latency.count(), 0, UINT32_MAX));
    const MonitorSpec& spec = c.spec;
    State old_state = State::kUnknown;
    bool changed =
        pool_.table_.record(c.cell, ok, latency_us, reason, spec.rise, spec.fall, &old_state);
    buckets_[bucket_of(latency_us)].fetch_add(1, std::memory_order_relaxed);
    checks_run_.fetch_add(1, std::memory_order_relaxed);
    latency_sum_us_.fetch_add(latency_us, std::memory_order_relaxed);
    if (!ok) {
        failures_.fetch_add(1, std::memory_order_relaxed);
    }
    if (changed) {
        transitions_.fetch_add(1, std::memory_order_relaxed);
        if (pool_.log_) {
            std::string label = c.current_label();
            std::string line = "health: " + label + (label.empty() ? "" : " ") + c.endpoint +
                               " (" + monitor_type_name(spec.type) + ") " +
                               state_name(old_state) + " -> " +
                               state_name(ok ? State::kUp : State::kDown);
            if (!ok) {
                line += ": " + reason;
            }
            pool_.log_(line);
        }
    }
    if (pool_.hook_) {
        pool_.hook_(CheckResult{c.cell, ok, latency_us, c.lateness_us, reason});
    }
    if (c.round) {
        c.round->done();
        c.round.reset();
    }
    if (c.removed || !started_) {
        return;
    }
    auto it = checks_.find(&c);
    if (it == checks_.end()) {
        return;
    }
    Clock::time_point next;
    auto interval = std::chrono::milliseconds(spec.interval_ms);
    if (c.periodic) {
        // Fixed rate: a slow check skips the slots it overran instead of bunching up.
        next = c.due + interval;
        if (next < now) {
            next += interval * ((now - next) / interval + 1);
        }
    } else {
        c.periodic = true;
        next = now + random_offset(spec.interval_ms);
    }
    schedule(it->second, next);
}

// --- http, https: libcurl multi -----------------------------------------------------------

namespace {
size_t collect_body(char* data, size_t size, size_t nmemb, void* user) {
    auto* buf = static_cast<std::string*>(user);
    size_t n = size * nmemb;
    if (buf->size() < kMaxBodyBytes) {
        buf->append(data, std::min(n, kMaxBodyBytes - buf->size()));
    }
    return n;
}
}  // namespace

bool ProberPool::Worker::setup_easy(Check& c) {
    const MonitorSpec& s = c.spec;
    c.easy = curl_easy_init();
    if (c.easy == nullptr) {
        return false;
    }
    std::string addr = format_address(c.family, c.addr);
    std::string addr_url = c.family == AF_INET6 ? "[" + addr + "]" : addr;
    std::string port = std::to_string(s.port);
    std::string url_host = s.host.empty() ? addr_url : s.host;
    std::string url = std::string(s.type == MonitorType::kHttps ? "https" : "http") + "://" +
                      url_host + ":" + port + s.path;
    CURL* e = c.easy;
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    if (!s.host.empty()) {
        // Host header and SNI name the service; the connection goes to the checked address.
        std::string to = s.host + ":" + port + ":" + addr_url + ":" + port;
        c.connect_to = curl_slist_append(nullptr, to.c_str());
        curl_easy_setopt(e, CURLOPT_CONNECT_TO, c.connect_to);
    }
    for (const auto& [name, value] : s.headers) {
        // "Name;" sends an empty header; "Name:" would remove it.
        std::string line = value.empty() ? name + ";" : name + ": " + value;
        c.header_list = curl_slist_append(c.header_list, line.c_str());
    }
    if (c.header_list != nullptr) {
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, c.header_list);
    }
    curl_easy_setopt(e, CURLOPT_PROXY, "");  // never through an environment proxy
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(s.timeout_ms));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(s.timeout_ms));
    // Each check proves a fresh connection can be made; a kept-alive one proves nothing.
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, s.follow_redirects ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, kMaxRedirects);
    curl_easy_setopt(e, CURLOPT_NOBODY, s.method == "HEAD" ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, s.verify_tls ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, s.verify_tls ? 2L : 0L);
    // A resumed TLS session skips certificate verification: an expired or replaced
    // certificate must fail the very next check.
    curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "dnslb-probe");
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c.errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, &c);
    if (s.body.empty()) {
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_body);
    } else {
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &c.body_buf);
    }
    return true;
}

void ProberPool::Worker::start_http(Check& c) {
    if (c.easy == nullptr && !setup_easy(c)) {
        complete(c, false, "cannot create a transfer");
        return;
    }
    c.body_buf.clear();
    c.errbuf[0] = '\0';
    if (curl_multi_add_handle(multi_, c.easy) != CURLM_OK) {
        complete(c, false, "cannot start a transfer");
        return;
    }
    ++curl_in_flight_;
}

void ProberPool::Worker::harvest_curl() {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        CURL* e = msg->easy_handle;
        CURLcode rc = msg->data.result;
        char* priv = nullptr;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
        curl_multi_remove_handle(multi_, e);
        --curl_in_flight_;
        if (priv != nullptr) {
            finish_http(*reinterpret_cast<Check*>(priv), rc);
        }
    }
}

void ProberPool::Worker::finish_http(Check& c, CURLcode rc) {
    const MonitorSpec& s = c.spec;
    std::string detail = c.errbuf[0] != '\0' ? c.errbuf : curl_easy_strerror(rc);
    switch (rc) {
        case CURLE_OK:
            break;
        case CURLE_OPERATION_TIMEDOUT:
            complete(c, false, "timeout after " + format_duration_ms(s.timeout_ms));
            return;
        case CURLE_COULDNT_CONNECT: {
            long err = 0;
            curl_easy_getinfo(c.easy, CURLINFO_OS_ERRNO, &err);
            complete(c, false, err != 0 ? errno_reason("connect failed", static_cast<int>(err))
                                        : "connect failed: " + detail);
            return;
        }
        case CURLE_PEER_FAILED_VERIFICATION:
            complete(c, false, "certificate verify failed: " + detail);
            return;
        case CURLE_SSL_CONNECT_ERROR:
            complete(c, false, "TLS handshake failed: " + detail);
            return;
        case CURLE_GOT_NOTHING:
            complete(c, false, "empty reply");
            return;
        case CURLE_TOO_MANY_REDIRECTS:
            complete(c, false, "too many redirects");
            return;
        default:
            complete(c, false, detail);
            return;
    }
    long code = 0;
    curl_easy_getinfo(c.easy, CURLINFO_RESPONSE_CODE, &code);
    bool expected = std::any_of(s.expect.begin(), s.expect.end(), [code](const StatusRange& r) {
        return code >= r.low && code <= r.high;
    });
    if (!expected) {
        complete(c, false, "HTTP " + std::to_string(code));
        return;
    }
    if (!s.body.empty() && c.body_buf.find(s.body) == std::string::npos) {
        complete(c, false, "body mismatch");
        return;
    }
    complete(c, true, {});
}

// --- tcp, dns: raw non-blocking sockets ----------------------------------------------------

void ProberPool::Worker::start_tcp(Check& c) {
    c.fd = ::socket(c.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
        complete(c, false, errno_reason("socket", errno));
        return;
    }
    // Close with RST: thousands of checks a second must not leave sockets in TIME_WAIT.
    linger lg{1, 0};
    setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    sockaddr_storage ss{};
    socklen_t len = make_sockaddr(c.family, c.addr, c.spec.port, ss);
    if (::connect(c.fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) {
        c.close_fd();
        complete(c, true, {});
        return;
    }
    if (errno != EINPROGRESS) {
        int err = errno;
        c.close_fd();
        complete(c, false, errno_reason("connect failed", err));
        return;
    }
    c.events = POLLOUT;
    c.deadline = c.started + std::chrono::milliseconds(c.spec.timeout_ms);
    raw_in_flight_.push_back(&c);
}

void ProberPool::Worker::start_dns(Check& c) {
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
    // A connected UDP socket only accepts datagrams from the checked server (RFC 5452 section
    // 9.1 spirit) and reports ICMP port unreachable as ECONNREFUSED.
    sockaddr_storage ss{};
    socklen_t len = make_sockaddr(c.family, c.addr, c.spec.port, ss);
    if (::connect(c.fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
        ::send(c.fd, c.query.data(), c.query.size(), 0) < 0) {
        int err = errno;
        c.close_fd();
        complete(c, false, errno_reason("send failed", err));
        return;
    }
    c.events = POLLIN;
    c.deadline = c.started + std::chrono::milliseconds(c.spec.timeout_ms);
    raw_in_flight_.push_back(&c);
}

void ProberPool::Worker::forget_raw(Check& c) {
    auto it = std::find(raw_in_flight_.begin(), raw_in_flight_.end(), &c);
    if (it != raw_in_flight_.end()) {
        *it = raw_in_flight_.back();
        raw_in_flight_.pop_back();
    }
}

void ProberPool::Worker::handle_raw(Check& c, short revents) {
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
    c.close_fd();
    if (err == 0) {
        complete(c, true, {});
    } else {
        complete(c, false, errno_reason("connect failed", err));
    }
}

void ProberPool::Worker::read_dns(Check& c) {
    uint8_t buf[4096];
    for (;;) {
        ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return;  // keep waiting until the deadline
            }
            int err = errno;
            forget_raw(c);
            c.close_fd();
            complete(c, false, errno_reason("recv failed", err));
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

void ProberPool::Worker::expire_raw(Clock::time_point now) {
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

// --- ProberPool ----------------------------------------------------------------------------

ProberPool::ProberPool(HealthTable& table, unsigned threads, LogFn log)
    : table_(table), log_(std::move(log)) {
    static std::once_flag curl_once;
    std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_ALL); });
    threads = std::max(1U, threads);
    size_t cap = max_in_flight(threads);
    for (unsigned i = 0; i < threads; ++i) {
        workers_.push_back(std::make_unique<Worker>(*this, cap));
    }
}

ProberPool::~ProberPool() { stop(); }

void ProberPool::set_result_hook(ResultHook hook) { hook_ = std::move(hook); }

std::vector<int32_t> ProberPool::set_checks(const std::vector<CheckRequest>& requests) {
    using Cmd = Worker::Cmd;
    std::vector<std::vector<Worker::Command>> cmds(workers_.size());
    std::unordered_map<std::string, std::shared_ptr<Check>> next;
    std::unordered_map<std::string, std::vector<std::string>> labels;
    std::vector<int32_t> ids;
    ids.reserve(requests.size());
    for (const auto& req : requests) {
        std::string addr = format_address(req.family, req.addr);
        if (addr.empty()) {
            ids.push_back(-1);
            continue;
        }
        std::string key = req.spec.identity() + "@" + addr;
        auto& names = labels[key];
        if (std::find(names.begin(), names.end(), req.label) == names.end()) {
            names.push_back(req.label);
        }
        if (auto it = next.find(key); it != next.end()) {
            ids.push_back(it->second->cell);
            continue;
        }
        if (auto it = checks_.find(key); it != checks_.end()) {
            next.emplace(key, it->second);
            ids.push_back(it->second->cell);
            continue;
        }
        int32_t cell = table_.acquire(key, req.spec.initial);
        if (cell < 0) {
            if (log_) {
                log_("health: table full, not checking " + req.label + " " + addr);
            }
            ids.push_back(-1);
            continue;
        }
        // A cell left by a check that stopped earlier holds a stale state: start afresh.
        table_.reset(cell, req.spec.initial);
        auto c = std::make_shared<Check>();
        c->key = key;
        c->spec = req.spec;
        c->family = req.family;
        c->addr = req.addr;
        std::string shown = req.addr_text.empty() ? addr : req.addr_text;
        c->endpoint = (req.family == AF_INET6 ? "[" + shown + "]" : shown) + ":" +
                      std::to_string(req.spec.port);
        c->cell = cell;
        auto least = std::min_element(workers_.begin(), workers_.end(),
                                      [](const auto& a, const auto& b) {
                                          return a->assigned < b->assigned;
                                      });
        c->worker = static_cast<size_t>(least - workers_.begin());
        ++(*least)->assigned;
        cmds[c->worker].push_back({Cmd::kAdd, c, nullptr});
        next.emplace(key, std::move(c));
        ids.push_back(cell);
    }
    for (auto& [key, c] : checks_) {
        if (next.count(key) == 0) {
            --workers_[c->worker]->assigned;
            cmds[c->worker].push_back({Cmd::kRemove, c, nullptr});
        }
    }
    for (auto& [key, c] : next) {
        std::string joined;
        for (const auto& name : labels[key]) {
            joined += (joined.empty() ? "" : ", ") + name;
        }
        std::lock_guard lock(c->label_mutex);
        c->label = std::move(joined);
    }
    checks_ = std::move(next);
    configured_.store(checks_.size(), std::memory_order_relaxed);
    for (size_t i = 0; i < workers_.size(); ++i) {
        workers_[i]->post(std::move(cmds[i]));
    }
    return ids;
}

void ProberPool::ensure_threads() {
    if (threads_running_ || stopped_) {
        return;
    }
    threads_running_ = true;
    for (auto& w : workers_) {
        w->start_thread();
    }
}

void ProberPool::run_initial_round(std::chrono::milliseconds max_wait) {
    ensure_threads();
    if (checks_.empty() || stopped_) {
        return;
    }
    auto deadline = Clock::now() + max_wait;
    auto round = std::make_shared<Round>();
    round->pending = checks_.size();
    std::vector<std::vector<Worker::Command>> cmds(workers_.size());
    for (auto& [key, c] : checks_) {
        cmds[c->worker].push_back({Worker::Cmd::kRunNow, c, round});
    }
    for (size_t i = 0; i < workers_.size(); ++i) {
        workers_[i]->post(std::move(cmds[i]));
    }
    std::unique_lock lock(round->mutex);
    round->cv.wait_until(lock, deadline, [&] { return round->pending == 0; });
}

void ProberPool::start() {
    ensure_threads();
    if (started_ || stopped_) {
        return;
    }
    started_ = true;
    for (auto& w : workers_) {
        std::vector<Worker::Command> cmd;
        cmd.push_back({Worker::Cmd::kStart, nullptr, nullptr});
        w->post(std::move(cmd));
    }
}

void ProberPool::stop() {
    if (stopped_) {
        return;
    }
    stopped_ = true;
    for (auto& w : workers_) {
        w->request_stop();
    }
    for (auto& w : workers_) {
        w->join();
    }
}

ProbeStats ProberPool::stats() const {
    ProbeStats s;
    for (const auto& w : workers_) {
        w->add_stats(s);
    }
    s.configured = configured_.load(std::memory_order_relaxed);
    return s;
}

}  // namespace dnslb::probes
