#include "dnslb/server/snapshot.hpp"

#include <algorithm>

#include "dnslb/server/responder.hpp"

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

void Snapshot::index() {
    by_origin.clear();
    min_origin_labels = SIZE_MAX;
    max_origin_labels = 0;
    for (const auto& z : zones) {
        by_origin.emplace(z->origin, z.get());
        size_t labels = dns::wire_name_labels(reinterpret_cast<const uint8_t*>(z->origin.data()));
        min_origin_labels = std::min(min_origin_labels, labels);
        max_origin_labels = std::max(max_origin_labels, labels);
    }
    if (zones.empty()) {
        min_origin_labels = 0;
    }
}

const zone::Zone* Snapshot::find_zone(const uint8_t* name, size_t len) const noexcept {
    if (by_origin.empty()) {
        return nullptr;
    }
    // Offsets of every label start; try suffixes from the longest origin that could match.
    size_t offsets[dns::kMaxLabels];
    size_t labels = 0;
    for (size_t pos = 0; pos < len && name[pos] != 0 && labels < dns::kMaxLabels;
         pos += name[pos] + 1U) {
        offsets[labels++] = pos;
    }
    offsets[labels] = len - 1;  // the root label
    size_t first = labels > max_origin_labels ? labels - max_origin_labels : 0;
    size_t last = labels >= min_origin_labels ? labels - min_origin_labels : 0;
    for (size_t i = first; i <= last && i <= labels; ++i) {
        std::string_view suffix(reinterpret_cast<const char*>(name + offsets[i]),
                                len - offsets[i]);
        auto it = by_origin.find(suffix);
        if (it != by_origin.end()) {
            return it->second;
        }
    }
    return nullptr;
}

void SnapshotHolder::publish(std::unique_ptr<Snapshot> next) {
    std::lock_guard lock(mutex_);
    next->generation = next_generation_++;
    const Snapshot* old = current_.exchange(next.release(), std::memory_order_acq_rel);
    if (old != nullptr) {
        retired_.emplace_back(old);
    }
}

void SnapshotHolder::reclaim(const std::vector<WorkerEpoch*>& workers) {
    std::lock_guard lock(mutex_);
    uint64_t oldest = UINT64_MAX;
    for (const auto* w : workers) {
        oldest = std::min(oldest, w->seen.load(std::memory_order_acquire));
    }
    // A worker that reported generation g holds nothing older than g.
    std::erase_if(retired_, [oldest](const auto& s) { return s->generation < oldest; });
}

size_t SnapshotHolder::retired() const noexcept {
    std::lock_guard lock(mutex_);
    return retired_.size();
}

SnapshotHolder::~SnapshotHolder() { delete current_.load(); }

int32_t OriginCounterIds::acquire(const std::string& zone, const std::string& pool,
                                  const std::string& origin) {
    std::string key = zone;
    key.append(1, '\0').append(pool).append(1, '\0').append(origin);
    if (auto it = ids_.find(key); it != ids_.end()) {
        return it->second;
    }
    if (ids_.size() >= Stats::kOriginCounters) {
        return -1;
    }
    auto id = static_cast<int32_t>(ids_.size());
    ids_.emplace(std::move(key), id);
    return id;
}

}  // namespace dnslb::server
