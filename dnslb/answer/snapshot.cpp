#include "dnslb/answer/snapshot.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>

#include "dnslb/base/hash.hpp"
#include "dnslb/dns/wire.hpp"

namespace dnslb::server {

bool Network::contains(int fam, const uint8_t* addr) const noexcept {
    if (fam != family) {
        return false;
    }
    size_t full = prefix / 8U;
    if (std::memcmp(addr, bytes, full) != 0) {
        return false;
    }
    if (prefix % 8 == 0) {
        return true;
    }
    auto mask = static_cast<uint8_t>(0xFFU << (8 - prefix % 8));
    return (addr[full] & mask) == (bytes[full] & mask);
}

namespace {

constexpr uint64_t kSuffixSeed = hash::kSeed;
constexpr uint64_t kSuffixStep = hash::kStep;

// One label, its length byte included: at most 64 bytes, one multiply per 8.
uint64_t hash_label(uint64_t h, const uint8_t* p, size_t n) noexcept {
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w = 0;
        std::memcpy(&w, p, 8);
        h = hash::mul_fold(h ^ w, kSuffixStep);
    }
    if (n != 0) {
        uint64_t w = 0;
        std::memcpy(&w, p, n);
        h = hash::mul_fold(h ^ w ^ (static_cast<uint64_t>(n) << 59), kSuffixStep);
    }
    return h;
}

}  // namespace

void suffix_hashes(const uint8_t* name, const uint8_t* label_at, size_t labels, size_t max_labels,
                   uint64_t* out) noexcept {
    uint64_t h = kSuffixSeed;
    out[0] = h;
    for (size_t k = 1; k <= max_labels && k <= labels; ++k) {
        const uint8_t* label = name + label_at[labels - k];
        h = hash_label(h, label, label[0] + 1U);
        out[k] = h;
    }
}

void Snapshot::index() {
    entries.clear();
    origin_slots.clear();
    min_origin_labels = SIZE_MAX;
    max_origin_labels = 0;
    for (size_t zi = 0; zi < zones.size(); ++zi) {
        const auto& z = zones[zi];
        ZoneEntry e;
        e.zone = z.get();
        e.geo_map = zi < geo_maps.size() ? geo_maps[zi].get() : nullptr;
        const auto* origin = reinterpret_cast<const uint8_t*>(z->origin.data());
        uint8_t label_at[dns::kMaxLabels + 1];
        e.labels = dns::name_labels(origin, z->origin.size(), label_at);
        uint64_t hashes[dns::kMaxLabels + 1];
        suffix_hashes(origin, label_at, e.labels, e.labels, hashes);
        e.suffix_hash = hashes[e.labels];
        e.origin_key = zone::NameHash{}(z->origin);
        e.apex = z->lookup(z->origin);
        e.soa = e.apex ? e.apex.node().find(dns::kTypeSOA) : nullptr;
        for (const auto& [name, node] : z->nodes) {
            if (name.size() >= 2 && name[0] == 1 && name[1] == '*') {
                e.has_wildcard = true;
                break;
            }
        }
        min_origin_labels = std::min(min_origin_labels, e.labels);
        max_origin_labels = std::max(max_origin_labels, e.labels);
        entries.push_back(e);
    }
    if (zones.empty()) {
        min_origin_labels = 0;
        return;
    }
    size_t slots = 4;
    while (slots < entries.size() * 2) {
        slots *= 2;
    }
    origin_slots.assign(slots, -1);
    for (size_t i = 0; i < entries.size(); ++i) {
        // Two zones with one origin: the first keeps it, as the map this replaces did.
        bool dup = false;
        size_t at = entries[i].suffix_hash & (slots - 1);
        for (; origin_slots[at] >= 0; at = (at + 1) & (slots - 1)) {
            dup = dup || entries[static_cast<size_t>(origin_slots[at])].zone->origin ==
                             entries[i].zone->origin;
        }
        if (!dup) {
            origin_slots[at] = static_cast<int32_t>(i);
        }
    }
}

const ZoneEntry* Snapshot::find_entry(const uint8_t* name, size_t len, const uint8_t* label_at,
                                      size_t labels) const noexcept {
    if (origin_slots.empty() || labels < min_origin_labels) {
        return nullptr;
    }
    uint64_t hashes[dns::kMaxLabels + 1];
    suffix_hashes(name, label_at, labels, max_origin_labels, hashes);
    const size_t mask = origin_slots.size() - 1;
    // Longest origin first: try suffixes from the most labels any origin has.
    for (size_t keep = std::min(labels, max_origin_labels) + 1; keep-- > min_origin_labels;) {
        const uint64_t h = hashes[keep];
        const size_t start = label_at[labels - keep];
        const size_t n = len - start;
        for (size_t at = h & mask; origin_slots[at] >= 0; at = (at + 1) & mask) {
            const ZoneEntry& e = entries[static_cast<size_t>(origin_slots[at])];
            if (e.suffix_hash == h && e.labels == keep && e.zone->origin.size() == n &&
                std::memcmp(e.zone->origin.data(), name + start, n) == 0) {
                return &e;
            }
        }
    }
    return nullptr;
}

const zone::Zone* Snapshot::find_zone(const uint8_t* name, size_t len) const noexcept {
    if (len == 0) {
        return nullptr;
    }
    uint8_t label_at[dns::kMaxLabels + 1];
    size_t labels = dns::name_labels(name, len, label_at);
    const ZoneEntry* e = find_entry(name, len, label_at, labels);
    return e != nullptr ? e->zone : nullptr;
}

void SnapshotHolder::publish(std::unique_ptr<Snapshot> next) {
    std::lock_guard lock(mutex_);
    next->generation = next_generation_++;
    const Snapshot* old = current_.exchange(next.release(), std::memory_order_acq_rel);
    if (old != nullptr) {
        retired_.emplace_back(old);
    }
}

std::vector<std::unique_ptr<const Snapshot>> SnapshotHolder::reclaim(
    const std::vector<ThreadEpoch*>& workers) {
    std::lock_guard lock(mutex_);
    uint64_t oldest = UINT64_MAX;
    for (const auto* w : workers) {
        oldest = std::min(oldest, w->seen.load(std::memory_order_acquire));
    }
    // A worker that reported generation g holds nothing older than g.
    auto unused = std::stable_partition(retired_.begin(), retired_.end(), [oldest](const auto& s) {
        return s->generation >= oldest;
    });
    std::vector<std::unique_ptr<const Snapshot>> out(std::make_move_iterator(unused),
                                                     std::make_move_iterator(retired_.end()));
    retired_.erase(unused, retired_.end());
    return out;
}

size_t SnapshotHolder::retired() const noexcept {
    std::lock_guard lock(mutex_);
    return retired_.size();
}

SnapshotHolder::~SnapshotHolder() { delete current_.load(); }

}  // namespace dnslb::server
