// Demand recording: who asks, counted per located network and the origin it was given.
//
// Each query thread owns one DemandTable: two fixed open-addressing halves of `entries` slots,
// allocated when the table is made and never resized. The thread counts into one half; the
// control thread drains the other. The switch happens only between batches (quiesce()), so
// neither side ever touches the half the other one is using:
//
//   control: want_ = h (release)        worker, between batches: sees want_ == h (acquire),
//   control, later: active_ == h ?        counts into half h from now on, active_ = h (release)
//     -> half 1-h is quiet: read it, clear it, want_ = 1-h (release)
//
// Budget on the query path (record()): a mask, a hash and at most kProbes slot compares; no
// allocation, lock, atomic read-modify-write or syscall. A half that is full drops the count
// and counts the drop.
//
// Thread contract: record() and quiesce() are called by the owning query thread only;
// collect() by the control thread only.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

namespace dnslb::server {

struct DemandEntry {
    uint8_t addr[16] = {};  // the network, zero beyond `prefix`
    int32_t slot = -1;      // the origin's answer-counter slot (zone, pool, origin); -1: empty
    uint32_t count = 0;
    uint8_t family = 0;  // 4 or 6
    uint8_t prefix = 0;  // bits
    uint8_t pad[2] = {};
};
static_assert(sizeof(DemandEntry) == 28);

class DemandTable {
public:
    static constexpr size_t kDefaultEntries = 4096;
    static constexpr unsigned kProbes = 16;

    // `entries` is rounded up to a power of two (at least 16).
    explicit DemandTable(size_t entries = kDefaultEntries) {
        size_t n = 16;
        while (n < entries) {
            n *= 2;
        }
        mask_ = n - 1;
        halves_[0] = std::make_unique<DemandEntry[]>(n);
        halves_[1] = std::make_unique<DemandEntry[]>(n);
    }

    size_t capacity() const noexcept { return mask_ + 1; }
    size_t bytes() const noexcept { return 2 * capacity() * sizeof(DemandEntry) + sizeof(*this); }

    // Query thread: one answer for `slot` to an asker in the network of `prefix` bits around
    // `addr` (16 bytes; IPv4 in the first 4).
    void record(int family, const uint8_t* addr, uint8_t prefix, int32_t slot) noexcept {
        uint8_t net[16] = {};
        const unsigned full = prefix / 8U;
        std::memcpy(net, addr, full);
        if (prefix % 8U != 0) {
            net[full] = static_cast<uint8_t>(addr[full] & (0xFFU << (8U - prefix % 8U)));
        }
        uint64_t h = 1469598103934665603ULL ^ (static_cast<uint64_t>(slot) << 8U) ^ prefix;
        for (uint8_t b : net) {
            h = (h ^ b) * 1099511628211ULL;
        }
        DemandEntry* t = halves_[cur_].get();
        for (unsigned i = 0; i < kProbes; ++i) {
            DemandEntry& e = t[(h + i) & mask_];
            if (e.slot == slot && e.prefix == prefix && e.family == family &&
                std::memcmp(e.addr, net, sizeof(net)) == 0) {
                ++e.count;
                return;
            }
            if (e.slot < 0) {
                std::memcpy(e.addr, net, sizeof(net));
                e.slot = slot;
                e.family = static_cast<uint8_t>(family);
                e.prefix = prefix;
                e.count = 1;
                return;
            }
        }
        dropped_.store(dropped_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }

    // Query thread, between batches: takes up the half the control thread asked for.
    void quiesce() noexcept {
        uint8_t w = want_.load(std::memory_order_acquire);
        if (w != cur_) {
            cur_ = w;
            active_.store(w, std::memory_order_release);
        }
    }

    // Control thread: when the query thread has moved to the half asked for last time, hands
    // every entry of the other half to `sink(const DemandEntry&)`, empties it and asks for the
    // switch back. Returns false (nothing read) while the query thread has not moved yet.
    template <class Sink>
    bool collect(Sink&& sink) {
        uint8_t w = want_.load(std::memory_order_relaxed);
        if (active_.load(std::memory_order_acquire) != w) {
            return false;
        }
        DemandEntry* t = halves_[1 - w].get();
        for (size_t i = 0; i <= mask_; ++i) {
            if (t[i].slot >= 0) {
                sink(t[i]);
                t[i] = DemandEntry{};
            }
        }
        want_.store(static_cast<uint8_t>(1 - w), std::memory_order_release);
        return true;
    }

    // Control thread, once the query thread has stopped for good: both halves.
    template <class Sink>
    void collect_stopped(Sink&& sink) {
        for (auto& half : halves_) {
            for (size_t i = 0; i <= mask_; ++i) {
                if (half[i].slot >= 0) {
                    sink(half[i]);
                    half[i] = DemandEntry{};
                }
            }
        }
    }

    uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

private:
    std::unique_ptr<DemandEntry[]> halves_[2];
    size_t mask_ = 0;
    uint8_t cur_ = 0;  // query thread only
    alignas(64) std::atomic<uint8_t> want_{0};
    std::atomic<uint8_t> active_{0};
    alignas(64) std::atomic<uint64_t> dropped_{0};
};

}  // namespace dnslb::server
