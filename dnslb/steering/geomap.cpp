// Precomputed geo maps (geomap.hpp says what a class is and why the merged scope is correct).
//
// Query-path budget (lookup): two binary searches at most (the IPv6 range, then for an address
// that embeds an IPv4 one the IPv4 range), no allocation, no lock.
#include "dnslb/steering/geomap.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <unordered_map>

#include "dnslb/steering/steer.hpp"

namespace dnslb::steering {

namespace {

using U128 = geo::Partition::U128;
constexpr double kTieKm = 1.0;  // steer.cpp's proximity tie distance

unsigned clz128(U128 x) noexcept {
    const auto hi = static_cast<uint64_t>(x >> 64);
    const auto lo = static_cast<uint64_t>(x);
    return hi != 0 ? static_cast<unsigned>(__builtin_clzll(hi))
                   : 64 + static_cast<unsigned>(__builtin_clzll(lo));
}

// The shortest prefix length p such that the /p network holding `a` lies in [first, last].
// The network starts at or after `first` when a and first - 1 differ within its p bits, and
// ends at or before `last` when a and last + 1 do. `end_next` is last + 1 (unused when `end`).
template <typename T, typename Clz>
unsigned widest(T a, T first, bool from_zero, T end_next, bool to_end, Clz clz) noexcept {
    const unsigned lower = from_zero ? 0 : clz(a ^ (first - 1)) + 1;
    const unsigned upper = to_end ? 0 : clz(a ^ end_next) + 1;
    return std::max(lower, upper);
}

void put(std::string& key, uint64_t v) { key.append(reinterpret_cast<const char*>(&v), sizeof v); }

// What steer() needs to know of `where` for pool `p` (see geomap.hpp), appended to `key`.
void pool_signature(const zone::Pool& p, const geo::Location& where, std::string& key) {
    switch (p.steering) {
        case zone::Steering::kProximity: {
            if (!location_dependent(p)) {
                return;
            }
            if (!where.has_coords) {
                put(key, 0);
                return;
            }
            const size_t n = std::min(p.origins.size(), kMaxPoolOrigins);
            std::pair<double, size_t> km[kMaxPoolOrigins];
            size_t located = 0;
            for (size_t i = 0; i < n; ++i) {
                const zone::Origin& o = p.origins[i];
                if (o.has_location) {
                    km[located++] = {biased_km(where, o), i};
                }
            }
            std::sort(km, km + located);
            bool tie = false;
            for (size_t i = 1; i < located; ++i) {
                tie = tie || !(std::fabs(km[i].first - km[i - 1].first) >= kTieKm);
            }
            if (tie) {
                uint64_t lat = 0;
                uint64_t lon = 0;
                std::memcpy(&lat, &where.lat, sizeof lat);
                std::memcpy(&lon, &where.lon, sizeof lon);
                put(key, 2);
                put(key, lat);
                put(key, lon);
                return;
            }
            put(key, 1);
            for (size_t i = 0; i < located; ++i) {
                put(key, km[i].second);
            }
            return;
        }
        case zone::Steering::kGeo: {
            if (!location_dependent(p)) {
                return;
            }
            uint64_t country = 0;
            uint64_t continent = 0;
            if (where.country != 0) {
                auto it = p.geo_countries.find(where.country);
                if (it != p.geo_countries.end()) {
                    country = reinterpret_cast<uintptr_t>(&it->second);
                }
            }
            if (where.continent != 0) {
                auto it = p.geo_continents.find(where.continent);
                if (it != p.geo_continents.end()) {
                    continent = reinterpret_cast<uintptr_t>(&it->second);
                }
            }
            put(key, 3);
            put(key, country);
            put(key, continent);
            put(key, where.known && (where.country != 0 || where.continent != 0) ? 1 : 0);
            return;
        }
        case zone::Steering::kFailover:
        case zone::Steering::kWeighted:
        case zone::Steering::kRandom:
            return;
    }
}

// The pools steer() may visit from `pool`, in its order (the fallback chain, cycles cut).
template <typename Fn>
void for_chain(const zone::Zone& zone, int32_t pool, Fn fn) {
    const auto pools = static_cast<int32_t>(zone.pools.size());
    int32_t current = pool;
    for (int32_t step = 0; step < pools && current >= 0 && current < pools; ++step) {
        const zone::Pool& p = zone.pools[static_cast<size_t>(current)];
        if (!fn(p)) {
            return;
        }
        current = p.fallback;
    }
}

}  // namespace

bool chain_uses_location(const zone::Zone& zone, int32_t pool) noexcept {
    bool uses = false;
    for_chain(zone, pool, [&](const zone::Pool& p) {
        uses = uses || location_dependent(p);
        return !uses;
    });
    return uses;
}

class GeoMapBuilder {
public:
    static std::unique_ptr<PoolGeoMap> build(const zone::Zone& zone, int32_t pool,
                                             const geo::Partition& part) {
        auto map = std::make_unique<PoolGeoMap>();
        std::vector<uint32_t> class_of(part.locations.size());
        std::unordered_map<std::string, uint32_t> interned;
        std::string key;
        for (size_t i = 0; i < part.locations.size(); ++i) {
            key.clear();
            for_chain(zone, pool, [&](const zone::Pool& p) {
                pool_signature(p, part.locations[i], key);
                return true;
            });
            auto [it, fresh] = interned.emplace(key, static_cast<uint32_t>(map->classes_.size()));
            if (fresh) {
                map->classes_.push_back(part.locations[i]);
            }
            class_of[i] = it->second;
        }
        // The distances of each class to the pool's own origins, so that a proximity pool
        // answered from the map computes none (pools of the fallback chain still do).
        const zone::Pool& root = zone.pools[static_cast<size_t>(pool)];
        if (root.steering == zone::Steering::kProximity && location_dependent(root)) {
            const size_t n = std::min(root.origins.size(), kMaxPoolOrigins);
            map->km_.assign(map->classes_.size() * n, 0.0);
            for (size_t c = 0; c < map->classes_.size(); ++c) {
                geo::Location& where = map->classes_[c];
                if (!where.has_coords) {
                    continue;
                }
                for (size_t i = 0; i < n; ++i) {
                    if (root.origins[i].has_location) {
                        map->km_[c * n + i] = biased_km(where, root.origins[i]);
                    }
                }
                where.km_pool = &root;
                where.km = map->km_.data() + c * n;
            }
        }
        auto class_at = [&](uint32_t loc) {
            return loc >= geo::Partition::kMapped ? loc : class_of[loc];
        };
        for (size_t i = 0; i < part.v4_start.size(); ++i) {
            const uint32_t c = class_at(part.v4_loc[i]);
            if (map->class4_.empty() || map->class4_.back() != c) {
                map->start4_.push_back(part.v4_start[i]);
                map->class4_.push_back(c);
            }
        }
        for (size_t i = 0; i < part.v6_start.size(); ++i) {
            const uint32_t c = class_at(part.v6_loc[i]);
            if (map->class6_.empty() || map->class6_.back() != c) {
                map->start6_.push_back(part.v6_start[i]);
                map->class6_.push_back(c);
            }
        }
        if (map->start4_.empty()) {  // no walk at all: one range, placed by nothing
            map->start4_.push_back(0);
            map->class4_.push_back(class_at(0));
        }
        if (map->start6_.empty()) {
            map->start6_.push_back(0);
            map->class6_.push_back(class_at(0));
        }
        map->start4_.shrink_to_fit();
        map->class4_.shrink_to_fit();
        map->start6_.shrink_to_fit();
        map->class6_.shrink_to_fit();
        return map;
    }
};

geo::Location PoolGeoMap::lookup4(uint32_t a, unsigned src) const noexcept {
    a &= src == 0 ? 0 : ~uint32_t{0} << (32 - src);
    const size_t i =
        static_cast<size_t>(std::upper_bound(start4_.begin(), start4_.end(), a) - start4_.begin()) -
        1;
    const bool to_end = i + 1 == start4_.size();
    const unsigned p =
        widest<uint32_t>(a, start4_[i], start4_[i] == 0, to_end ? 0 : start4_[i + 1], to_end,
                         [](uint32_t x) { return static_cast<unsigned>(__builtin_clz(x)); });
    geo::Location loc = classes_[class4_[i]];
    loc.prefix_len = static_cast<uint8_t>(std::min(p, src));
    return loc;
}

geo::Location PoolGeoMap::lookup(int family, const uint8_t* addr,
                                 uint8_t source_prefix) const noexcept {
    if (family == 4) {
        uint32_t a = 0;
        for (size_t i = 0; i < 4; ++i) {
            a = (a << 8) | addr[i];
        }
        return lookup4(a, std::min<unsigned>(source_prefix, 32));
    }
    const unsigned src = std::min<unsigned>(source_prefix, 128);
    U128 a = 0;
    for (size_t i = 0; i < 16; ++i) {
        a = (a << 8) | addr[i];
    }
    if (src < 128) {
        a &= src == 0 ? 0 : ~U128{0} << (128 - src);
    }
    const size_t i =
        static_cast<size_t>(std::upper_bound(start6_.begin(), start6_.end(), a) - start6_.begin()) -
        1;
    const bool to_end = i + 1 == start6_.size();
    const unsigned p =
        widest<U128>(a, start6_[i], start6_[i] == 0, to_end ? 0 : start6_[i + 1], to_end, clz128);
    const uint32_t c = class6_[i];
    if (c < geo::Partition::kMapped) {
        geo::Location loc = classes_[c];
        loc.prefix_len = static_cast<uint8_t>(std::min(p, src));
        return loc;
    }
    // The IPv4 address inside, looked up as geo::Resolver::lookup() does; the scope stays
    // within this range (which holds no nets entry) and within the IPv4 network.
    geo::Location loc;
    unsigned scope = src;
    if (c == geo::Partition::kMapped) {
        loc = lookup4(static_cast<uint32_t>(a), src >= 96 ? src - 96 : 0);
        scope = 96 + loc.prefix_len;
    } else if (c == geo::Partition::kSixToFour) {
        loc = lookup4(static_cast<uint32_t>(a >> 80), src >= 16 ? std::min(src - 16, 32U) : 0);
        scope = 16 + loc.prefix_len;
    } else {  // Teredo: the client's IPv4 address, obfuscated; one client is no IPv6 prefix
        loc = lookup4(~static_cast<uint32_t>(a), src > 96 ? src - 96 : 0);
    }
    loc.prefix_len = static_cast<uint8_t>(std::min(std::max(scope, p), src));
    return loc;
}

size_t PoolGeoMap::bytes() const noexcept {
    return sizeof(*this) + classes_.capacity() * sizeof(geo::Location) +
           km_.capacity() * sizeof(double) +
           (start4_.capacity() + class4_.capacity() + class6_.capacity()) * sizeof(uint32_t) +
           start6_.capacity() * sizeof(U128);
}

std::unique_ptr<ZoneGeoMap> build_geo_maps(const zone::Zone& zone, const geo::Partition& part) {
    auto maps = std::make_unique<ZoneGeoMap>();
    maps->pools.resize(zone.pools.size());
    for (size_t i = 0; i < zone.pools.size(); ++i) {
        if (chain_uses_location(zone, static_cast<int32_t>(i))) {
            maps->pools[i] = GeoMapBuilder::build(zone, static_cast<int32_t>(i), part);
        }
    }
    return maps;
}

}  // namespace dnslb::steering
