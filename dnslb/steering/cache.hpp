// A per-worker cache of steering decisions, so that repeated askers (the same ECS subnet, or
// the same client address) skip the geo lookup and the distance ordering.
//
// An entry is keyed by everything the decision depends on: the zone and pool asked for, the
// query's address family, and the asker (address family, prefix and address bytes: the ECS
// subnet, or the packet's source address). The geo database, the zones and the health of the
// origins are the other inputs; they are covered by a stamp that changes whenever the snapshot
// generation or HealthTable::epoch() does, and entries with an older stamp are misses. Answers
// from a `random` pool are never stored. So a hit returns what steer() would have returned.
//
// Thread contract: one cache per worker thread, allocated when the worker starts (a fixed
// table, 4-way set-associative); lookups and stores neither allocate nor lock.
//
// Layout: per set, four 16-bit tags (8 bytes, in an array small enough to stay in L2) and the
// recency order of its ways; the 64-byte entries live apart. A lookup compares the four tags at
// once and reads only the entry whose tag matches. A new entry replaces an empty or the least
// recently used way and stays least recently used until a hit moves it to the front, so askers
// that cycle through more keys than a set has ways keep three of them hitting (plain LRU would
// evict each key just before its turn comes back).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "dnslb/geo/geo.hpp"
#include "dnslb/steering/geomap.hpp"
#include "dnslb/steering/steer.hpp"

namespace dnslb::steering {

// Who is asking: the Client Subnet of the query, or else its source address. The one type
// for it, on the query path (answer/response.hpp builds it) and in explain.
struct Asker {
    int family = 4;         // 4 or 6
    uint8_t addr[16] = {};  // zero beyond `prefix` for a subnet, and beyond 4 bytes for IPv4
    uint8_t prefix = 32;    // ECS source prefix, else 32/128
    bool ecs = false;       // a Client Subnet option, not the packet's source
};

// The ECS scope prefix of a pool answer (RFC 7871 section 7.3.1). A location-dependent answer
// holds over the network the lookup decided (`decided_prefix`), also when it placed nobody:
// scope 0 would cover every client. Any other answer, and a query without ECS, gets 0.
inline uint8_t answer_scope(const zone::Zone& z, const Decision& d, const Asker& asker,
                            uint8_t decided_prefix) noexcept {
    if (!asker.ecs || d.kind != Decision::Kind::kAnswer ||
        !(d.location_used || location_dependent(z.pools[static_cast<size_t>(d.pool)]))) {
        return 0;
    }
    return asker.prefix < decided_prefix ? asker.prefix : decided_prefix;
}

// The decision and the length of the network the geo lookup decided (the ECS scope bound).
struct Steered {
    Decision d;
    uint8_t prefix_len = 0;
};

class DecisionCache {
public:
    // 64 bytes each plus 2 bytes of tag: 8.3 MiB per worker. 60,000 subnets cycled in the same
    // order hit about 95% of the time (a 2-way table of the same size: 82%).
    static constexpr size_t kDefaultEntries = 131072;
    static constexpr size_t kWays = 4;

    explicit DecisionCache(size_t entries = kDefaultEntries);

    struct Key {
        const void* zone = nullptr;
        int32_t pool = -1;
        uint8_t qfamily = 0;  // 4: A, 6: AAAA
        uint8_t family = 0;   // of the asker's address
        uint8_t prefix = 0;
        bool ecs = false;
        uint8_t addr[16] = {};
    };

    // Once per query before find/store: a new generation or health epoch empties the cache.
    void validate(uint64_t generation, uint64_t health_epoch) noexcept;
    bool find(const Key& k, Steered* out) noexcept;
    void store(const Key& k, const Steered& s) noexcept;

    uint64_t hits() const noexcept { return hits_; }
    uint64_t misses() const noexcept { return misses_; }
    size_t capacity() const noexcept { return sets_ * kWays; }

private:
    struct alignas(64) Entry {
        uint32_t stamp = 0;  // 0: empty
        int32_t pool = -1;
        const void* zone = nullptr;
        uint8_t addr[16] = {};
        uint8_t qfamily = 0;
        uint8_t family = 0;
        uint8_t prefix = 0;
        uint8_t ecs = 0;
        // the decision
        uint8_t kind = 0;
        uint8_t flags = 0;  // 1 degraded, 2 all_down, 4 location_used
        uint8_t count = 0;
        uint8_t prefix_len = 0;
        int32_t answer_pool = -1;
        uint8_t origins[kMaxAnswers] = {};
    };
    static_assert(sizeof(Entry) == 64);
    static_assert(kMaxPoolOrigins <= 256, "origin indices are stored in one byte");

    struct Slot {
        size_t set = 0;
        uint16_t tag = 0;  // never 0: 0 marks an empty way
    };
    Slot slot_of(const Key& k) const noexcept;
    bool same_key(const Entry& e, const Key& k) const noexcept;
    void touch(size_t set, unsigned way) noexcept;

    std::unique_ptr<Entry[]> table_;    // sets_ * kWays entries, a set's ways side by side
    std::unique_ptr<uint64_t[]> tags_;  // per set: way i's tag in bits 16i..16i+15
    std::unique_ptr<uint8_t[]> order_;  // per set: ways from most (bits 0-1) to least recent
    size_t sets_ = 0;
    uint32_t stamp_ = 1;
    uint64_t generation_ = 0;
    uint64_t epoch_ = 0;
    bool primed_ = false;
    uint64_t hits_ = 0;
    uint64_t misses_ = 0;
};

// Steering for one asker: the geo lookup (none for an ECS source prefix of 0, RFC 7871
// section 7.1.2), the client hash, steer(); through `cache` when it is non-null. `generation`
// identifies the snapshot that `zone` and `geo` belong to. With `maps` (the zone's precomputed
// maps against `geo`), the location comes from the pool's map, or is not looked up at all for a
// pool whose answer does not depend on it; without, from `geo` itself.
Steered steer_for(const zone::Zone& zone, int32_t pool, const geo::Resolver* geo,
                  const Asker& asker, int qfamily, const probes::HealthTable* health,
                  DecisionCache* cache, uint64_t generation,
                  const ZoneGeoMap* maps = nullptr) noexcept;

}  // namespace dnslb::steering
