// Precomputed geo maps: per pool, the address space cut into the widest networks over which the
// pool's answer is the same in every health state, so that a query does one longest-prefix
// lookup instead of a database lookup.
//
// Built from geo::Resolver::walk() (every database network, nets entries and special blocks
// overlaid). Two locations are the same "class" for a pool when steer() must order the origins
// of the pool, and of every pool of its fallback chain, the same way for both whatever the
// health of the origins:
//   proximity: the asker has no coordinates (default order), or the order of the located
//              origins by (biased) distance, when no two of them are within the 1 km tie
//              distance; with a tie the exact coordinates (the order then depends on weights and
//              the client hash, as steer() decides it);
//   geo:       the country list and continent list that apply, and whether either does;
//   others:    nothing (the location is not used).
// Adjacent ranges of one class are merged; a lookup finds the merged range holding the
// address and returns the widest prefix around the address that stays inside that range (so
// the ECS scope never covers an address of another class) with a representative location of
// the class, which steer() orders exactly as it orders the real one.
//
// Thread contract: built by the control thread, immutable once published; lookup() is const,
// lock-free and allocation-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "dnslb/geo/geo.hpp"
#include "dnslb/zone/zone.hpp"

namespace dnslb::steering {

class PoolGeoMap {
public:
    // The class location of the address (family 4: 4 bytes, 6: 16 bytes; bits past
    // `source_prefix` are ignored), with prefix_len the widest prefix of constant answer,
    // capped by source_prefix.
    geo::Location lookup(int family, const uint8_t* addr, uint8_t source_prefix) const noexcept;

    size_t bytes() const noexcept;
    size_t classes() const noexcept { return classes_.size(); }
    size_t ranges(int family) const noexcept {
        return family == 4 ? start4_.size() : start6_.size();
    }

private:
    friend class GeoMapBuilder;
    using U128 = geo::Partition::U128;
    geo::Location lookup4(uint32_t a, unsigned src) const noexcept;

    std::vector<geo::Location> classes_;  // km/km_pool point into km_
    std::vector<double> km_;              // per class, the distance to each origin
    std::vector<uint32_t> start4_;
    std::vector<uint32_t> class4_;
    std::vector<U128> start6_;
    std::vector<uint32_t> class6_;  // a class, or a geo::Partition marker
};

// The maps of one zone's pools (against one resolver). A null entry: the answer of that pool
// does not depend on the asker's location (no map needed, no lookup done).
struct ZoneGeoMap {
    std::vector<std::unique_ptr<PoolGeoMap>> pools;
    const PoolGeoMap* pool(int32_t i) const noexcept {
        return i >= 0 && static_cast<size_t>(i) < pools.size() ? pools[static_cast<size_t>(i)].get()
                                                               : nullptr;
    }
};

// True when the answer of the pool or of a pool of its fallback chain depends on the location.
bool chain_uses_location(const zone::Zone& zone, int32_t pool) noexcept;

// Control thread: the maps of every pool of `zone`. Allocates.
std::unique_ptr<ZoneGeoMap> build_geo_maps(const zone::Zone& zone, const geo::Partition& part);

}  // namespace dnslb::steering
