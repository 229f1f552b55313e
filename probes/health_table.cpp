#include "probes/health_table.hpp"

#include <chrono>

namespace dnslb::probes {

namespace {
int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}
}  // namespace

const char* state_name(State s) noexcept {
    switch (s) {
        case State::kUp:
            return "up";
        case State::kDown:
            return "down";
        case State::kUnknown:
            break;
    }
    return "unknown";
}

HealthTable::HealthTable(size_t capacity)
    : cells_(std::make_unique<Cell[]>(capacity)), capacity_(capacity) {}

int32_t HealthTable::acquire(const std::string& key, State initial) {
    std::lock_guard lock(index_mutex_);
    if (auto it = index_.find(key); it != index_.end()) {
        return it->second;
    }
    size_t id = used_.load(std::memory_order_relaxed);
    if (id >= capacity_) {
        return -1;
    }
    Cell& c = cells_[id];
    c.state.store(static_cast<uint8_t>(initial), std::memory_order_relaxed);
    c.fresh.store(true, std::memory_order_relaxed);
    c.since_ms.store(now_ms(), std::memory_order_relaxed);
    {
        std::lock_guard detail(c.detail_mutex);
        c.key = key;
    }
    index_.emplace(key, static_cast<int32_t>(id));
    used_.store(id + 1, std::memory_order_release);
    return static_cast<int32_t>(id);
}

int32_t HealthTable::find(const std::string& key) const {
    std::lock_guard lock(index_mutex_);
    auto it = index_.find(key);
    return it == index_.end() ? -1 : it->second;
}

bool HealthTable::record(int32_t id, bool ok, uint32_t latency_us, const std::string& error,
                         uint32_t rise, uint32_t fall, State* old_state) {
    Cell& c = cells_[static_cast<size_t>(id)];
    c.checks.fetch_add(1, std::memory_order_relaxed);
    c.last_latency_us.store(latency_us, std::memory_order_relaxed);
    {
        std::lock_guard detail(c.detail_mutex);
        c.last_error = ok ? std::string() : error;
    }
    uint32_t succ = ok ? c.successes.load(std::memory_order_relaxed) + 1 : 0;
    uint32_t fail = ok ? 0 : c.failures.load(std::memory_order_relaxed) + 1;
    c.successes.store(succ, std::memory_order_relaxed);
    c.failures.store(fail, std::memory_order_relaxed);
    auto cur = static_cast<State>(c.state.load(std::memory_order_relaxed));
    State next = cur;
    // An unknown cell, or one still in its initial state, takes the first result at once;
    // afterwards rise/fall damp flapping.
    bool first = c.fresh.exchange(false, std::memory_order_relaxed) || cur == State::kUnknown;
    if (ok && cur != State::kUp && (first || succ >= rise)) {
        next = State::kUp;
    } else if (!ok && cur != State::kDown && (first || fail >= fall)) {
        next = State::kDown;
    }
    if (next == cur) {
        return false;
    }
    c.state.store(static_cast<uint8_t>(next), std::memory_order_release);
    c.since_ms.store(now_ms(), std::memory_order_relaxed);
    c.transitions.fetch_add(1, std::memory_order_relaxed);
    epoch_.fetch_add(1, std::memory_order_acq_rel);
    if (old_state != nullptr) {
        *old_state = cur;
    }
    return true;
}

void HealthTable::reset(int32_t id, State initial) {
    Cell& c = cells_[static_cast<size_t>(id)];
    c.successes.store(0, std::memory_order_relaxed);
    c.failures.store(0, std::memory_order_relaxed);
    c.fresh.store(true, std::memory_order_relaxed);
    auto old = static_cast<State>(
        c.state.exchange(static_cast<uint8_t>(initial), std::memory_order_acq_rel));
    if (old != initial) {
        c.since_ms.store(now_ms(), std::memory_order_relaxed);
        epoch_.fetch_add(1, std::memory_order_acq_rel);
    }
}

void HealthTable::set_override(int32_t id, Override ov) {
    cells_[static_cast<size_t>(id)].override_state.store(static_cast<uint8_t>(ov),
                                                         std::memory_order_release);
    epoch_.fetch_add(1, std::memory_order_acq_rel);
}

void HealthTable::set_cluster(int32_t id, State s) {
    Cell& c = cells_[static_cast<size_t>(id)];
    auto old = c.cluster_state.exchange(static_cast<uint8_t>(s), std::memory_order_acq_rel);
    if (old != static_cast<uint8_t>(s)) {
        epoch_.fetch_add(1, std::memory_order_acq_rel);
    }
}

void HealthTable::set_probing(int32_t id, bool on) {
    Cell& c = cells_[static_cast<size_t>(id)];
    if (!c.probing.exchange(on, std::memory_order_acq_rel) && on) {
        c.successes.store(0, std::memory_order_relaxed);
        c.failures.store(0, std::memory_order_relaxed);
        c.fresh.store(true, std::memory_order_relaxed);
    }
}

void HealthTable::freeze() {
    size_t n = used_.load(std::memory_order_acquire);
    for (size_t i = 0; i < n; ++i) {
        cells_[i].frozen_state.store(static_cast<uint8_t>(state(static_cast<int32_t>(i))),
                                     std::memory_order_relaxed);
    }
    frozen_.store(true, std::memory_order_release);
    epoch_.fetch_add(1, std::memory_order_acq_rel);
}

void HealthTable::thaw() {
    frozen_.store(false, std::memory_order_release);
    epoch_.fetch_add(1, std::memory_order_acq_rel);
}

CellSnapshot HealthTable::snapshot(int32_t id) const {
    const Cell& c = cells_[static_cast<size_t>(id)];
    CellSnapshot s;
    s.probed = static_cast<State>(c.state.load(std::memory_order_acquire));
    s.override_state = static_cast<Override>(c.override_state.load(std::memory_order_acquire));
    s.cluster = static_cast<State>(c.cluster_state.load(std::memory_order_acquire));
    s.probing = c.probing.load(std::memory_order_relaxed);
    s.state = state(id);
    s.since_ms = c.since_ms.load(std::memory_order_relaxed);
    s.successes = c.successes.load(std::memory_order_relaxed);
    s.failures = c.failures.load(std::memory_order_relaxed);
    s.last_latency_us = c.last_latency_us.load(std::memory_order_relaxed);
    s.checks = c.checks.load(std::memory_order_relaxed);
    s.transitions = c.transitions.load(std::memory_order_relaxed);
    std::lock_guard detail(c.detail_mutex);
    s.last_error = c.last_error;
    s.key = c.key;
    return s;
}

}  // namespace dnslb::probes
