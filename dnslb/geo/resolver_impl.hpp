// Internals of geo::Resolver shared by geo.cpp (lookups) and walk.cpp (the whole-space walk that
// precomputed maps are built from). Not for other modules.
#pragma once

#include <maxminddb.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dnslb/geo/geo.hpp"

namespace dnslb::geo {

using Bytes = std::array<uint8_t, 16>;

// Keeps the first `bits` bits of `in`, zeroes the rest.
Bytes masked(const uint8_t* in, size_t len, unsigned bits) noexcept;
// Index of the first bit where a and b differ within the first `bits` bits; `bits` if none.
unsigned first_difference(const Bytes& a, const Bytes& b, unsigned bits) noexcept;

struct Block {
    uint8_t bytes[4];
    uint8_t prefix;
};
// IPv4 ranges that never belong to a located client (RFC 6890 and friends): "this network",
// RFC 1918, shared CGN space (RFC 6598), loopback, link-local, multicast and reserved.
inline constexpr Block kSpecialV4[] = {
    {{0, 0, 0, 0}, 8},      {{10, 0, 0, 0}, 8},     {{100, 64, 0, 0}, 10},
    {{127, 0, 0, 0}, 8},    {{169, 254, 0, 0}, 16}, {{172, 16, 0, 0}, 12},
    {{192, 168, 0, 0}, 16}, {{224, 0, 0, 0}, 4},    {{240, 0, 0, 0}, 4},
};

struct Block6 {
    uint8_t first;  // only blocks defined by their first byte(s) are needed
    uint8_t first_mask;
    uint8_t second;
    uint8_t second_mask;
    uint8_t prefix;
};
// Unique local (RFC 4193), link-local (RFC 4291 2.5.6) and multicast. ::/128 and ::1 are
// handled separately.
inline constexpr Block6 kSpecialV6[] = {
    {0xFC, 0xFE, 0, 0, 7},
    {0xFE, 0xFF, 0x80, 0xC0, 10},
    {0xFF, 0xFF, 0, 0, 8},
};

// Prefix of the special-purpose block holding `a` (masked to `src` bits), or -1.

enum class Schema : uint8_t { kCity, kFlat };

struct Database {
    MMDB_s mmdb{};
    bool opened = false;
    std::string path;
    std::string name;  // file name without directories, for explain
    bool ipv4 = false;
    bool ipv6 = false;
    Schema hint = Schema::kCity;

    Database() = default;
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;
    ~Database() {
        if (opened) {
            MMDB_close(&mmdb);
        }
    }
};

// Decodes one database record (country, continent, coordinates) in `schema`; false when the
// record has none of them.
bool read_record(MMDB_entry_s* entry, Schema schema, Location* loc) noexcept;

struct Net {
    uint8_t family = 4;
    uint8_t prefix = 0;
    Bytes bytes{};
    Location where;
};

enum class Embedded : uint8_t { kNone, kMapped, kSixToFour, kTeredo };

// What decided a lookup, for describe().
struct Detail {
    int net = -1;        // index into nets
    int db = -1;         // index into databases
    int special = -1;    // prefix of the special-purpose block, when that decided
    int db_prefix = -1;  // the database network's length, in bits of the looked-up family
    bool no_db = false;
    Embedded embedded = Embedded::kNone;
    Bytes v4{};  // the embedded IPv4 address (masked)
};
struct Resolver::Impl {
    std::vector<std::unique_ptr<Database>> dbs;
    int v4_db = -1;
    int v6_db = -1;
    // Sorted by family, then longest prefix first: the first containing entry is the longest
    // match. A linear scan: nets lists are short (a few dozen entries at most).
    std::vector<Net> nets;
    bool has_default = false;
    double default_lat = 0;
    double default_lon = 0;

    Location lookup(int family, const uint8_t* addr, uint8_t source_prefix,
                    Detail* detail) const noexcept;
    Location lookup_v4(const Bytes& a, unsigned src, Detail* detail) const noexcept;
    Location lookup_v6(const Bytes& a, unsigned src, Detail* detail) const noexcept;
    int match_net(int family, const Bytes& a) const noexcept;
    // Places `a` by the configured networks: false when none contains it.
    bool from_nets(int family, const Bytes& a, unsigned src, Detail* detail,
                   Location& loc) const noexcept;
    unsigned exclude_nets(int family, const Bytes& a, unsigned prefix, unsigned src) const noexcept;
    // Places `a` in its special-purpose range (`special` is its prefix length, or -1 for none) or
    // else by the database, with the prefix narrowed so that it holds no configured network.
    Location from_special_or_database(int family, const Bytes& a, int special, unsigned src,
                                      Detail* detail) const noexcept;
    Location from_database(int family, const Bytes& a, unsigned src, Detail* detail) const noexcept;
};

}  // namespace dnslb::geo
