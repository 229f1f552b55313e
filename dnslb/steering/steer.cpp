// Steering policies. Query-path budget: no allocation (fixed arrays on the stack, sized by
// kMaxOrigins), no lock, no exception, no syscall (the random policy uses a thread-local
// xorshift generator seeded once per thread).
//
// Orders are built by repeated selection (best remaining candidate, answers times) rather
// than by sorting: at most kMaxAnswers slots are needed, and the proximity tie rule ("within
// 1 km") is not a strict weak ordering, which std::sort must not be given.
#include "dnslb/steering/steer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "dnslb/base/hash.hpp"

namespace dnslb::steering {

namespace {

constexpr size_t kMaxOrigins = kMaxPoolOrigins;
constexpr double kTieKm = 1.0;
constexpr double kInf = std::numeric_limits<double>::infinity();

// Hashing the origin's name rather than its index keeps a client's choice when origins are
// added, removed or reordered in the zone file (rendezvous hashing moves only the clients of
// the origin that changed).
uint64_t origin_hash(uint64_t client_hash, const zone::Origin& o) noexcept {
    return hash::splitmix64(client_hash ^ hash::splitmix64(hash::fnv1a(o.name)));
}

// (0, 1] from 64 random bits.
double unit_interval(uint64_t bits) noexcept {
    return static_cast<double>((bits >> 11) + 1) * 0x1.0p-53;
}

thread_local uint64_t t_rng = 0;

uint64_t next_random(uint64_t seed_hint) noexcept {
    if (t_rng == 0) {
        const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
        t_rng = hash::splitmix64(seed_hint ^ static_cast<uint64_t>(now) ^
                                 static_cast<uint64_t>(reinterpret_cast<uintptr_t>(&t_rng))) |
                1;
    }
    t_rng ^= t_rng << 13;  // xorshift64 (Marsaglia 2003)
    t_rng ^= t_rng >> 7;
    t_rng ^= t_rng << 17;
    return t_rng;
}

size_t origin_count(const zone::Pool& p) noexcept {
    return std::min(p.origins.size(), kMaxOrigins);
}

struct FamilyState {
    bool has_family = false;  // at least one address of the family
    bool up = false;          // and one of those is up
};

FamilyState family_state(const zone::Origin& o, int family,
                         const probes::HealthTable* health) noexcept {
    FamilyState s;
    for (const auto& a : o.addresses) {
        if (a.family == family) {
            s.has_family = true;
            if (address_up(a, health)) {
                s.up = true;
                return s;
            }
        }
    }
    return s;
}

// The origins of one pool that may answer, as a membership mask plus counts.
struct Candidates {
    bool in[kMaxOrigins] = {};
    size_t count = 0;        // members of `in`
    size_t with_family = 0;  // origins with an address of the family
    bool some_down = false;  // an origin with the family has no address up
};

void collect(const zone::Pool& p, int family, const probes::HealthTable* health, bool ignore_health,
             Candidates* c) noexcept {
    const size_t n = origin_count(p);
    for (size_t i = 0; i < n; ++i) {
        const FamilyState s = family_state(p.origins[i], family, health);
        if (!s.has_family) {
            continue;
        }
        ++c->with_family;
        c->some_down = c->some_down || !s.up;
        if (s.up || ignore_health) {
            c->in[i] = true;
            ++c->count;
        }
    }
}

// Appends up to `limit` candidates to `d`, best first according to `better(a, b)`.
template <typename Better>
void select(const zone::Pool& p, Candidates& c, uint32_t limit, Decision* d, Better better) {
    const size_t n = origin_count(p);
    while (d->count < limit) {
        size_t best = n;
        for (size_t i = 0; i < n; ++i) {
            if (c.in[i] && (best == n || better(i, best))) {
                best = i;
            }
        }
        if (best == n) {
            return;
        }
        c.in[best] = false;
        d->origins[d->count++] = static_cast<uint16_t>(best);
    }
}

// Appends candidates in the order of `list` (bounds-checked origin indices).
void take_list(const std::vector<uint16_t>& list, Candidates& c, uint32_t limit,
               Decision* d) noexcept {
    for (uint16_t i : list) {
        if (d->count >= limit) {
            return;
        }
        if (i < kMaxOrigins && c.in[i]) {
            c.in[i] = false;
            d->origins[d->count++] = i;
        }
    }
}

// geo_default, or every origin in file order when it is empty; then (for proximity, which
// may answer from any origin) the remaining candidates in file order.
void default_order(const zone::Pool& p, Candidates& c, uint32_t limit, Decision* d,
                   bool complete) noexcept {
    take_list(p.geo_default, c, limit, d);
    if (complete || p.geo_default.empty()) {
        select(p, c, limit, d, [](size_t a, size_t b) { return a < b; });
    }
}

}  // namespace

double biased_km(const geo::Location& where, const zone::Origin& o) noexcept {
    // Route 53 geoproximity bias: a positive bias draws traffic from farther away.
    const double bias = std::clamp(o.bias, -99.0, 99.0);
    return geo::distance_km(where.lat, where.lon, o.lat, o.lon) * (1 - bias / 100);
}

namespace {

bool order_proximity(const zone::Pool& p, Candidates& c, const geo::Location& where,
                     uint64_t client_hash, uint32_t limit, Decision* d) noexcept {
    const size_t n = origin_count(p);
    double km[kMaxOrigins];
    bool any_located = false;
    for (size_t i = 0; i < n; ++i) {
        km[i] = kInf;
        const zone::Origin& o = p.origins[i];
        if (c.in[i] && o.has_location && where.has_coords) {
            if (where.km != nullptr && where.km_pool == &p) {
                km[i] = where.km[i];  // precomputed by the pool's geo map, the same formula
            } else {
                km[i] = biased_km(where, o);
            }
            any_located = true;
        }
    }
    if (!any_located) {
        default_order(p, c, limit, d, true);
        return false;
    }
    select(p, c, limit, d, [&](size_t a, size_t b) {
        if (km[a] == kInf || km[b] == kInf) {
            return km[a] != kInf || (km[b] == kInf && a < b);  // unlocated last, file order
        }
        if (std::fabs(km[a] - km[b]) >= kTieKm) {
            return km[a] < km[b];
        }
        if (p.origins[a].weight != p.origins[b].weight) {
            return p.origins[a].weight > p.origins[b].weight;
        }
        const uint64_t ha = origin_hash(client_hash, p.origins[a]);
        const uint64_t hb = origin_hash(client_hash, p.origins[b]);
        return ha != hb ? ha < hb : a < b;
    });
    return true;
}

bool order_geo(const zone::Pool& p, Candidates& c, const geo::Location& where, uint32_t limit,
               Decision* d) noexcept {
    // The most specific list that still has a healthy origin decides; a list whose origins
    // are all down falls through to the next level rather than answering nothing.
    if (where.country != 0) {
        auto it = p.geo_countries.find(where.country);
        if (it != p.geo_countries.end()) {
            take_list(it->second, c, limit, d);
        }
    }
    if (d->count == 0 && where.continent != 0) {
        auto it = p.geo_continents.find(where.continent);
        if (it != p.geo_continents.end()) {
            take_list(it->second, c, limit, d);
        }
    }
    if (d->count == 0) {
        default_order(p, c, limit, d, false);
    }
    return where.known && (where.country != 0 || where.continent != 0) &&
           (!p.geo_countries.empty() || !p.geo_continents.empty());
}

void order_hashed(const zone::Pool& p, Candidates& c, uint64_t client_hash, bool random,
                  uint32_t limit, Decision* d) noexcept {
    const size_t n = origin_count(p);
    double score[kMaxOrigins];
    for (size_t i = 0; i < n; ++i) {
        score[i] = kInf;
        if (c.in[i] && p.origins[i].weight > 0) {
            // Weighted rendezvous hashing: -ln(u)/w is exponential with rate w, so origin i
            // scores lowest with probability w_i / sum(w).
            const uint64_t bits =
                random ? next_random(client_hash) : origin_hash(client_hash, p.origins[i]);
            score[i] = -std::log(unit_interval(bits)) / p.origins[i].weight;
        }
    }
    select(p, c, limit, d,
           [&](size_t a, size_t b) { return score[a] != score[b] ? score[a] < score[b] : a < b; });
}

// Fills d->origins from the candidates of `p`; returns whether the location decided.
bool order(const zone::Pool& p, Candidates& c, const geo::Location& where, uint64_t client_hash,
           Decision* d) noexcept {
    const uint32_t limit = std::clamp<uint32_t>(p.answers, 1, kMaxAnswers);
    d->count = 0;
    switch (p.steering) {
        case zone::Steering::kProximity:
            return order_proximity(p, c, where, client_hash, limit, d);
        case zone::Steering::kGeo:
            return order_geo(p, c, where, limit, d);
        case zone::Steering::kFailover:
            select(p, c, limit, d, [&](size_t a, size_t b) {
                const int32_t pa = p.origins[a].priority;
                const int32_t pb = p.origins[b].priority;
                return pa != pb ? pa < pb : a < b;
            });
            return false;
        case zone::Steering::kWeighted:
            order_hashed(p, c, client_hash, false, limit, d);
            return false;
        case zone::Steering::kRandom:
            order_hashed(p, c, client_hash, true, limit, d);
            return false;
    }
    return false;
}

}  // namespace

bool location_dependent(const zone::Pool& pool) noexcept {
    switch (pool.steering) {
        case zone::Steering::kProximity:
            return std::any_of(pool.origins.begin(), pool.origins.end(),
                               [](const zone::Origin& o) { return o.has_location; });
        case zone::Steering::kGeo:
            return !pool.geo_countries.empty() || !pool.geo_continents.empty();
        case zone::Steering::kFailover:
        case zone::Steering::kWeighted:
        case zone::Steering::kRandom:
            return false;
    }
    return false;
}

Decision steer(const zone::Zone& zone, int32_t pool, const geo::Location& where,
               uint64_t client_hash, int family, const probes::HealthTable* health) noexcept {
    Decision d;
    const auto pools = static_cast<int32_t>(zone.pools.size());
    if (pool < 0 || pool >= pools) {
        d.kind = Decision::Kind::kServFail;
        return d;
    }
    d.pool = pool;
    if (family != 4 && family != 6) {
        return d;  // kNoData
    }
    const zone::Pool& primary = zone.pools[static_cast<size_t>(pool)];
    {
        Candidates c;
        collect(primary, family, health, false, &c);
        if (c.with_family == 0) {
            return d;  // no address of this family at all: NODATA, not a failure
        }
        d.degraded = c.some_down;
    }

    // Follow the fallback chain; at most one visit per pool guards against cycles.
    int32_t current = pool;
    for (int32_t step = 0; step < pools && current >= 0 && current < pools; ++step) {
        const zone::Pool& p = zone.pools[static_cast<size_t>(current)];
        Candidates c;
        collect(p, family, health, false, &c);
        if (c.count > 0 && c.count >= p.min_healthy) {
            d.location_used = order(p, c, where, client_hash, &d);
            if (d.count > 0) {
                d.kind = Decision::Kind::kAnswer;
                d.pool = current;
                d.degraded = d.degraded || c.some_down;
                return d;
            }
        }
        current = p.fallback;
    }

    d.all_down = true;
    d.pool = pool;
    switch (primary.all_down) {
        case zone::AllDown::kReturnAll: {
            // Fail open: answer from the primary pool as if every origin were up.
            Candidates c;
            collect(primary, family, health, true, &c);
            d.location_used = order(primary, c, where, client_hash, &d);
            d.kind = d.count > 0 ? Decision::Kind::kAnswer : Decision::Kind::kNoData;
            return d;
        }
        case zone::AllDown::kNoData:
            d.kind = Decision::Kind::kNoData;
            return d;
        case zone::AllDown::kServFail:
            d.kind = Decision::Kind::kServFail;
            return d;
    }
    return d;
}

const char* steering_name(zone::Steering s) noexcept {
    switch (s) {
        case zone::Steering::kProximity:
            return "proximity";
        case zone::Steering::kGeo:
            return "geo";
        case zone::Steering::kFailover:
            return "failover";
        case zone::Steering::kWeighted:
            return "weighted";
        case zone::Steering::kRandom:
            return "random";
    }
    return "?";
}

}  // namespace dnslb::steering
