// Where the asker is: nets overrides first, then MaxMind-format databases (GeoIP2 City schema or
// the flat DB-IP City Lite schema), IPv4 and IPv6 files.
//
// Thread contract: opened and configured by the control thread before workers start (or on a
// new Resolver built for a reload); after that lookup() is const, lock-free and allocation-free,
// safe from every worker at once. libmaxminddb maps each file once (MMDB_MODE_MMAP).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dnslb/geo/country.hpp"

namespace dnslb::geo {

struct Location {
    bool known = false;  // something (nets or a database) placed the address
    bool has_coords = false;
    double lat = 0;
    double lon = 0;
    CountryCode country = 0;    // 0: unknown
    CountryCode continent = 0;  // AF AN AS EU NA OC SA packed as CountryCode; 0: unknown
    // Length of the network, in bits of the looked-up address's own family (0..32 for IPv4,
    // 0..128 for IPv6), over which this result holds: the MMDB network or the nets entry.
    // Used as the upper bound of the ECS scope.
    uint8_t prefix_len = 0;
    enum class Source : uint8_t { kNone, kNets, kDatabase, kDefault } source = Source::kNone;
    // Set by a precomputed steering map (steering/geomap.hpp): the biased distances, in km,
    // from here to each origin of the pool `km_pool` points at, as steer() computes them.
    const void* km_pool = nullptr;
    const double* km = nullptr;
};

// The continent of an ISO 3166-1 alpha-2 country (built-in table), 0 if unknown.
CountryCode continent_of(CountryCode country) noexcept;

struct Partition;

class Resolver {
public:
    Resolver();
    ~Resolver();
    Resolver(const Resolver&) = delete;
    Resolver& operator=(const Resolver&) = delete;

    // Opens a .mmdb file (mmap). Throws std::runtime_error naming the file and the reason.
    // Several files may be opened (separate IPv4 and IPv6 files); an IPv4 address is looked up
    // in the first database that covers IPv4, an IPv6 address in the first IPv6 one.
    void open_database(const std::string& path);
    // nets override: "10.20.0.0/16" -> location and/or country. Throws std::invalid_argument.
    void add_net(std::string_view cidr, const Location& where);
    // Coordinates for askers that nothing places (neither nets nor a database): proximity
    // pools order their origins by distance from here instead of keeping the pool's order.
    // Such a location stays `known == false` (country and continent pools still skip it).
    void set_default_location(double lat, double lon) noexcept;
    bool has_database() const noexcept;

    // family 4: addr points at 4 bytes; family 6: 16 bytes. Only the first `source_prefix`
    // bits are significant (ECS source prefix; 32/128 for a packet source address).
    // IPv4-mapped (::ffff:0:0/96), 6to4 (2002::/16) and Teredo (2001::/32) IPv6 addresses are
    // looked up as the IPv4 address they carry; prefix_len is then in IPv6 bits.
    Location lookup(int family, const uint8_t* addr, uint8_t source_prefix) const noexcept;

    // Human-readable description of a lookup for `dnslb explain` (database network, country,
    // coordinates, which source decided). Allocates; not for the query path.
    std::string describe(int family, const uint8_t* addr, uint8_t source_prefix) const;

    // Visits every network of the search trees of the databases (libmaxminddb's MMDB_read_node),
    // decodes each distinct record once, and overlays the nets entries and the special-purpose
    // blocks as lookup() applies them. Control thread; allocates. A few hundred milliseconds on
    // a full City database.
    Partition walk() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The address space of both families cut into consecutive ranges over which lookup() with a
// full-length source prefix (32 or 128 bits) places every address the same way: every network
// of the databases, split where a nets entry or a special-purpose block begins or ends. The
// input of precomputed steering maps (steering/geomap.hpp); built by Resolver::walk().
struct Partition {
    __extension__ typedef unsigned __int128 U128;
    // Ranges of IPv6 space whose addresses carry an IPv4 address (IPv4-mapped, 6to4, Teredo):
    // lookup() places them by that address, so their location is not one constant.
    static constexpr uint32_t kMapped = 0xFFFFFFFDU;
    static constexpr uint32_t kSixToFour = 0xFFFFFFFEU;
    static constexpr uint32_t kTeredo = 0xFFFFFFFFU;

    // Distinct locations; [0] is "placed by nothing" (with the default location, if any).
    // prefix_len is 0 in every entry: the range decides the scope.
    std::vector<Location> locations;
    // Range i covers start[i] up to start[i + 1] - 1 (the last one up to the family's last
    // address); start[0] == 0. loc[i] indexes `locations` or is one of the markers above.
    // Adjacent ranges have different loc values.
    std::vector<uint32_t> v4_start;
    std::vector<uint32_t> v4_loc;
    std::vector<U128> v6_start;
    std::vector<uint32_t> v6_loc;
    // Statistics of the walk: database networks visited and distinct records decoded.
    size_t v4_networks = 0;
    size_t v6_networks = 0;
    size_t records = 0;
};

// Great-circle distance in kilometres (haversine).
double distance_km(double lat1, double lon1, double lat2, double lon2) noexcept;

}  // namespace dnslb::geo
