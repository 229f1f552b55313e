// Everything a worker needs to answer: the zones, the geo resolver and the server options of one
// configuration generation.
//
// Thread contract: built and validated by the control thread, published with one release store
// (SnapshotHolder::publish) and immutable from then on. Workers load the pointer once per batch
// of packets and report the generation they used; the control thread frees a retired snapshot
// only after every worker reported a later one (quiescent-state reclamation, as gdnsd does).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dnslb/answer/guard.hpp"
#include "dnslb/geo/geo.hpp"
#include "dnslb/steering/geomap.hpp"
#include "dnslb/zone/zone.hpp"
#include "probes/health_table.hpp"

namespace dnslb::server {

struct Network {
    uint8_t family = 4;
    uint8_t prefix = 0;
    uint8_t bytes[16] = {};
    bool contains(int fam, const uint8_t* addr) const noexcept;
};

struct Options {
    std::string chaos_version;          // version.bind / version.server; empty: REFUSED
    std::string chaos_id;               // id.server / hostname.bind; empty: REFUSED
    std::vector<Network> explain_from;  // who may ask CHAOS TXT explain queries
    uint16_t edns_udp_size = 1232;      // what we advertise and the most we send over UDP
    GuardSettings guard;                // rate limiting, cookies, under-attack mode
    std::vector<Network> rrl_exempt;    // networks never rate-limited
};

// What the query path needs of a zone on every answer, found once per snapshot instead of by a
// name lookup per query.
struct ZoneEntry {
    const zone::Zone* zone = nullptr;
    zone::NodeRef apex;                // empty only for a zone without its origin node
    const zone::RRset* soa = nullptr;  // the apex SOA, for negative answers
    uint64_t suffix_hash = 0;          // suffix_hash() of the origin
    uint64_t origin_key = 0;           // zone::NameHash of the origin (the NXDOMAIN RRL key)
    size_t labels = 0;                 // labels of the origin
    bool has_wildcard = false;         // some owner name starts with the label "*"
    const steering::ZoneGeoMap* geo_map = nullptr;  // the zone's precomputed geo maps
};

// A hash of a lower-cased wire name that is built label by label from the right (the root
// first): the hashes of every suffix of a name come out of one pass over it, so finding the
// longest matching origin hashes each byte once, whatever the number of zones.
// `label_at[i]` is where label i starts (i < labels), as dns::name_labels fills it; returns
// the hashes of the suffixes of 0..max_labels labels in `out` (out[k]: the last k labels).
void suffix_hashes(const uint8_t* name, const uint8_t* label_at, size_t labels, size_t max_labels,
                   uint64_t* out) noexcept;

struct Snapshot {
    uint64_t generation = 0;
    // Shared with the next snapshot when a reload keeps a zone (refcounts touched by the control
    // thread only).
    std::vector<std::shared_ptr<const zone::Zone>> zones;
    std::vector<ZoneEntry> entries;     // one per zone
    std::vector<int32_t> origin_slots;  // open addressing on suffix_hash: index into entries
    size_t min_origin_labels = 0;
    size_t max_origin_labels = 0;
    std::shared_ptr<const geo::Resolver> geo;
    // Per zone (same order as `zones`) the pools' precomputed maps against `geo`; shared with
    // the next snapshot while the zone and the resolver stay the same. Empty without `geo`.
    std::vector<std::shared_ptr<const steering::ZoneGeoMap>> geo_maps;
    const probes::HealthTable* health = nullptr;
    Options options;

    // Indexes `zones` by origin. Call once after filling `zones`.
    void index();
    // The zone with the longest origin that is a suffix of `lower_qname`, or nullptr.
    const zone::Zone* find_zone(const uint8_t* lower_qname, size_t len) const noexcept;
    // The same for a name whose label starts are known (`labels` entries in `label_at`).
    const ZoneEntry* find_entry(const uint8_t* lower_qname, size_t len, const uint8_t* label_at,
                                size_t labels) const noexcept;
};

// Per-worker record of the generation it last used; see the thread contract above.
struct ThreadEpoch {
    alignas(64) std::atomic<uint64_t> seen{0};
};

class SnapshotHolder {
public:
    const Snapshot* load() const noexcept { return current_.load(std::memory_order_acquire); }
    // Control thread. Takes ownership; the previous snapshot is retired, not freed.
    void publish(std::unique_ptr<Snapshot> next);
    // Control thread: hands over the retired snapshots that no worker can still hold, for the
    // caller to free.
    std::vector<std::unique_ptr<const Snapshot>> reclaim(const std::vector<ThreadEpoch*>& workers);
    size_t retired() const noexcept;
    ~SnapshotHolder();

private:
    std::atomic<const Snapshot*> current_{nullptr};
    mutable std::mutex mutex_;  // control-side bookkeeping only
    std::vector<std::unique_ptr<const Snapshot>> retired_;
    uint64_t next_generation_ = 1;
};

}  // namespace dnslb::server
