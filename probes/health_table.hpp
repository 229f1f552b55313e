// The health table: one cell per checked (monitor, address). Written by prober threads, read by
// DNS workers without locks.
//
// Thread contract: cells live in one array allocated at construction and never move. A cell id
// is handed out by the control thread (acquire) and stays valid for the table's lifetime, so a
// reload that keeps a check keeps its cell and its state. Probers write through record_*()
// (one prober owns a cell at a time); workers call state()/up() (relaxed atomic loads, no lock,
// no allocation). The last-error text is guarded by a per-cell mutex and is only read off the
// query path (explain, status).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace dnslb::probes {

enum class State : uint8_t { kUnknown = 0, kUp = 1, kDown = 2 };
enum class Override : uint8_t { kAuto = 0, kUp = 1, kDown = 2 };

const char* state_name(State s) noexcept;

struct CellSnapshot {
    State state = State::kUnknown;    // effective state (override applied)
    State probed = State::kUnknown;   // what the probes say
    State cluster = State::kUnknown;  // the cluster's verdict; unknown: none (local decides)
    bool probing = true;              // this node runs the check
    Override override_state = Override::kAuto;
    int64_t since_ms = 0;    // unix ms of the last transition
    uint32_t successes = 0;  // consecutive
    uint32_t failures = 0;   // consecutive
    uint32_t last_latency_us = 0;
    uint64_t checks = 0;
    uint64_t transitions = 0;
    std::string last_error;
    std::string key;
};

class HealthTable {
public:
    explicit HealthTable(size_t capacity = 65536);

    // Control thread: the cell for `key` (monitor identity + address), created on first use.
    // Returns -1 when the table is full.
    int32_t acquire(const std::string& key, State initial);
    int32_t find(const std::string& key) const;
    size_t size() const noexcept { return used_.load(std::memory_order_acquire); }

    // Query path: effective state. Negative ids (unmonitored) are always up.
    State state(int32_t id) const noexcept {
        if (id < 0) {
            return State::kUp;
        }
        const Cell& c = cells_[static_cast<size_t>(id)];
        if (frozen_.load(std::memory_order_relaxed)) {
            return static_cast<State>(c.frozen_state.load(std::memory_order_relaxed));
        }
        auto ov = static_cast<Override>(c.override_state.load(std::memory_order_relaxed));
        if (ov != Override::kAuto) {
            return ov == Override::kUp ? State::kUp : State::kDown;
        }
        auto shared = static_cast<State>(c.cluster_state.load(std::memory_order_relaxed));
        if (shared != State::kUnknown) {
            return shared;
        }
        return static_cast<State>(c.state.load(std::memory_order_relaxed));
    }
    // Unknown counts as up (fail open until a check says otherwise).
    bool up(int32_t id) const noexcept { return state(id) != State::kDown; }
    // Freezing pins every cell at its current effective state for readers (under-attack mode:
    // answers come from the last-known-good decisions and probe churn changes nothing);
    // probes keep recording underneath. Control thread only.
    void freeze();
    void thaw();
    bool frozen() const noexcept { return frozen_.load(std::memory_order_relaxed); }
    // Bumped on every effective state change; workers key cached decisions on it.
    uint64_t epoch() const noexcept { return epoch_.load(std::memory_order_acquire); }

    // Prober side: one check result. Applies rise/fall; returns true on a transition and then
    // fills `old_state`.
    bool record(int32_t id, bool ok, uint32_t latency_us, const std::string& error, uint32_t rise,
                uint32_t fall, State* old_state = nullptr);
    // Control thread: a check (re)starts on this cell. Its state becomes `initial` and the next
    // record() decides at once, as for an unknown cell; consecutive counters restart.
    void reset(int32_t id, State initial);
    void set_override(int32_t id, Override ov);
    Override override_of(int32_t id) const noexcept {
        return static_cast<Override>(
            cells_[static_cast<size_t>(id)].override_state.load(std::memory_order_acquire));
    }
    // Cluster mode (one writer, the cluster thread): the verdict the cluster reached for the
    // cell, applied between an override and the local probes; kUnknown hands the cell back to
    // the local probes.
    void set_cluster(int32_t id, State s);
    // Whether this node runs the check of the cell (default: yes). Turning it on makes the next
    // result decide at once, as for a new cell. Read by the prober threads.
    void set_probing(int32_t id, bool on);
    bool probing(int32_t id) const noexcept {
        return id < 0 || cells_[static_cast<size_t>(id)].probing.load(std::memory_order_relaxed);
    }
    CellSnapshot snapshot(int32_t id) const;

private:
    struct Cell {
        std::atomic<uint8_t> state{0};
        std::atomic<uint8_t> override_state{0};
        std::atomic<bool> fresh{true};  // no result recorded since acquire() or reset()
        std::atomic<uint8_t> frozen_state{0};
        std::atomic<uint8_t> cluster_state{0};
        std::atomic<bool> probing{true};
        std::atomic<int64_t> since_ms{0};
        std::atomic<uint32_t> successes{0};
        std::atomic<uint32_t> failures{0};
        std::atomic<uint32_t> last_latency_us{0};
        std::atomic<uint64_t> checks{0};
        std::atomic<uint64_t> transitions{0};
        mutable std::mutex detail_mutex;  // guards last_error and key
        std::string last_error;
        std::string key;
    };
    std::unique_ptr<Cell[]> cells_;
    size_t capacity_;
    std::atomic<size_t> used_{0};
    std::atomic<uint64_t> epoch_{1};
    std::atomic<bool> frozen_{false};
    mutable std::mutex index_mutex_;  // control thread only
    std::unordered_map<std::string, int32_t> index_;
};

}  // namespace dnslb::probes
