#include "probes/prober_pool.hpp"

#include "probes/prober_thread.hpp"

namespace dnslb::probes {

using namespace detail;  // NOLINT(google-build-using-namespace): this library's own helpers

void ProberPool::ProberThread::run() {
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

void ProberPool::ProberThread::drain() {
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

void ProberPool::ProberThread::apply(Command& cmd, Clock::time_point now) {
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

void ProberPool::ProberThread::remove(Check& c) {
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

void ProberPool::ProberThread::schedule(const std::shared_ptr<Check>& c, Clock::time_point due) {
    heap_.push(Entry{due, ++c->gen, c});
}

void ProberPool::ProberThread::launch_due(Clock::time_point now) {
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

void ProberPool::ProberThread::launch(const std::shared_ptr<Check>& c, Clock::time_point due) {
    if (c->periodic && !c->round && !pool_.table_.probing(c->cell)) {
        // Another node of the cluster runs this check: keep the slot, send nothing.
        auto interval = std::chrono::milliseconds(c->spec.interval_ms);
        Clock::time_point next = due + interval;
        Clock::time_point now = Clock::now();
        if (next < now) {
            next += interval * ((now - next) / interval + 1);
        }
        schedule(c, next);
        return;
    }
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

int ProberPool::ProberThread::wait_ms(Clock::time_point now) {
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

void ProberPool::ProberThread::complete(Check& c, bool ok, const std::string& reason) {
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
            std::string line = "health: " + label + (label.empty() ? "" : " ") + c.endpoint + " (" +
                               monitor_type_name(spec.type) + ") " + state_name(old_state) +
                               " -> " + state_name(ok ? State::kUp : State::kDown);
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

// --- ProberPool ----------------------------------------------------------------------------

ProberPool::ProberPool(HealthTable& table, unsigned threads, LogFn log)
    : table_(table), log_(std::move(log)) {
    static std::once_flag curl_once;
    std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_ALL); });
    threads = std::max(1U, threads);
    size_t cap = max_in_flight(threads);
    for (unsigned i = 0; i < threads; ++i) {
        workers_.push_back(std::make_unique<ProberThread>(*this, cap));
    }
}

ProberPool::~ProberPool() { stop(); }

void ProberPool::set_result_hook(ResultHook hook) { hook_ = std::move(hook); }

void ProberPool::set_source(const std::string& address) {
    std::array<uint8_t, 16> bytes{};
    if (inet_pton(AF_INET, address.c_str(), bytes.data()) == 1) {
        source_family_ = AF_INET;
    } else if (inet_pton(AF_INET6, address.c_str(), bytes.data()) == 1) {
        source_family_ = AF_INET6;
    } else {
        throw std::invalid_argument("probe source " + address + " is not an IP address");
    }
    source_ = address;
}

std::vector<int32_t> ProberPool::set_checks(const std::vector<CheckRequest>& requests) {
    using Cmd = ProberThread::Cmd;
    std::vector<std::vector<ProberThread::Command>> cmds(workers_.size());
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
        auto least = std::min_element(
            workers_.begin(), workers_.end(),
            [](const auto& a, const auto& b) { return a->assigned < b->assigned; });
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
    std::vector<std::vector<ProberThread::Command>> cmds(workers_.size());
    for (auto& [key, c] : checks_) {
        cmds[c->worker].push_back({ProberThread::Cmd::kRunNow, c, round});
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
        std::vector<ProberThread::Command> cmd;
        cmd.push_back({ProberThread::Cmd::kStart, nullptr, nullptr});
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
