// Steering: which origins of a pool answer a given asker. Pure functions of (pool, location,
// client hash, health): no I/O, no allocation, no locks; called on the query path.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dnslb/geo/geo.hpp"
#include "dnslb/zone/zone.hpp"
#include "probes/health_table.hpp"

namespace dnslb::steering {

inline constexpr uint32_t kMaxAnswers = 16;
// Origins per pool that steering considers (fixed stack arrays on the query path); origins
// past this index are never answered, so the zone loader should reject larger pools.
inline constexpr size_t kMaxPoolOrigins = 256;

struct Decision {
    enum class Kind : uint8_t { kAnswer, kNoData, kServFail } kind = Kind::kNoData;
    int32_t pool = -1;           // the pool that answered (after any fallback)
    bool degraded = false;       // some origin of the answering pool (or the primary) is down
    bool all_down = false;       // the fallback chain was exhausted; all_down policy applied
    bool location_used = false;  // the asker was placed and its location decided the order
    uint8_t count = 0;           // entries in `origins`
    uint16_t origins[kMaxAnswers] = {};  // origin indices into zone.pools[pool].origins, best first
};

// family: 4 for A queries, 6 for AAAA. Only origins with an address of that family count;
// an origin is healthy when at least one of its addresses of that family is up.
// client_hash: a stable hash of the client subnet (ties and weighted choice).
// health may be null (no monitoring: everything up).
Decision steer(const zone::Zone& zone, int32_t pool, const geo::Location& where,
               uint64_t client_hash, int family, const probes::HealthTable* health) noexcept;

// True when the pool's answer can differ from one asker's location to another's: proximity
// with at least one located origin, geo with a country or continent list. Such an answer holds
// only over the network the location lookup decided, also when that lookup placed nobody (the
// default order is then the answer for that unplaced network alone): the ECS scope must be
// that network, never 0, which would let a resolver reuse it for every client
// (RFC 7871 section 7.3.1).
bool location_dependent(const zone::Pool& pool) noexcept;

// The stable hash of a client subnet that ties and weighted choices key on: FNV-1a over the
// ECS prefix's bytes (`ecs`), else over the /24 (IPv4) or /56 (IPv6) of the source address.
// The responder and explain both call this, so explain shows the answer a query gets.
inline uint64_t client_subnet_hash(const uint8_t* bytes, int family, bool ecs,
                                   uint8_t ecs_prefix) noexcept {
    size_t n = ecs ? (ecs_prefix + 7U) / 8U : (family == 4 ? 3 : 7);
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; ++i) {
        h = (h ^ bytes[i]) * 1099511628211ULL;
    }
    return h;
}

// The distance by which proximity orders origin `o` for an asker at `where` (bias applied).
double biased_km(const geo::Location& where, const zone::Origin& o) noexcept;

// The zone-file name of a policy ("proximity", ...), for explain and status.
const char* steering_name(zone::Steering s) noexcept;

// True when the address is usable (health cell up or unmonitored).
inline bool address_up(const zone::Address& a, const probes::HealthTable* health) noexcept {
    return health == nullptr || health->up(a.health);
}

}  // namespace dnslb::steering
