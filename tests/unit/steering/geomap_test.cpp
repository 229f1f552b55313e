// Tests for dnslb/steering/geomap.cpp and geo::Resolver::walk() against the databases
// tools/make-test-geodb builds: the merged map answers what the resolver lookup answers, for
// every range of the walk and for random addresses, in every health state (all up, each origin
// down), and the scope it returns never covers an address that is answered differently.
#include "dnslb/steering/geomap.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "dnslb/steering/cache.hpp"
#include "dnslb/steering/steer.hpp"
#include "tests/support/counting_alloc.hpp"

namespace {

using dnslb::geo::country_code;
using dnslb::geo::Location;
using dnslb::geo::Partition;
using dnslb::geo::Resolver;
using dnslb::probes::HealthTable;
using dnslb::probes::State;
using dnslb::steering::Decision;
using dnslb::steering::PoolGeoMap;
using dnslb::steering::steer;
using dnslb::zone::Origin;
using dnslb::zone::Pool;
using dnslb::zone::Steering;
using dnslb::zone::Zone;
using U128 = Partition::U128;

std::string db(const std::string& name) { return std::string(DNSLB_TEST_GEODB_DIR) + "/" + name; }

dnslb::zone::Address address(const std::string& text) {
    dnslb::zone::Address a;
    a.family = inet_pton(AF_INET, text.c_str(), a.bytes.data()) == 1 ? 4 : 6;
    if (a.family == 6) {
        REQUIRE(inet_pton(AF_INET6, text.c_str(), a.bytes.data()) == 1);
    }
    a.text = text;
    return a;
}

Origin located(const std::string& name, double lat, double lon, double bias = 0) {
    Origin o;
    o.name = name;
    o.addresses.push_back(address("198.51.100." + std::to_string(name.size() * 7 % 250)));
    o.addresses.push_back(address("2001:db8::" + std::to_string(name.size())));
    o.has_location = lat != 0 || lon != 0;
    o.lat = lat;
    o.lon = lon;
    o.bias = bias;
    return o;
}

// Pools that exercise every location-dependent rule: proximity with a bias, two origins at one
// place (ties by weight and client hash) and an unlocated origin; a geo pool with country,
// continent and default lists; a failover pool falling back to proximity; a proximity pool
// with answers 2 and min_healthy 2 falling back to the geo pool.
Zone test_zone() {
    Zone z;
    Pool prox;
    prox.name = "prox";
    prox.steering = Steering::kProximity;
    prox.origins = {located("fra", 50.11, 8.68), located("sgp", 1.35, 103.82),
                    located("iad", 38.95, -77.45, 20), located("iad2", 38.95, -77.45),
                    located("nowhere", 0, 0)};
    prox.origins[3].weight = 2;
    Pool geo;
    geo.name = "geo";
    geo.steering = Steering::kGeo;
    geo.origins = {located("eu", 50, 8), located("asia", 1, 103), located("us", 39, -77)};
    geo.geo_countries[country_code('D', 'E')] = {0};
    geo.geo_countries[country_code('J', 'P')] = {1, 0};
    geo.geo_continents[country_code('N', 'A')] = {2};
    geo.geo_continents[country_code('E', 'U')] = {0, 2};
    geo.geo_default = {2, 0};
    Pool fail;
    fail.name = "fail";
    fail.steering = Steering::kFailover;
    fail.origins = {located("primary", 0, 0)};
    fail.fallback = 0;
    Pool pair = prox;
    pair.name = "pair";
    pair.answers = 2;
    pair.min_healthy = 4;
    pair.fallback = 1;
    pair.origins.push_back(located("fra2", 50.11, 8.68));  // ties with fra everywhere
    pair.origins.back().weight = 2;
    z.pools = {prox, geo, fail, pair};
    return z;
}

void monitor_all(Zone& z, HealthTable& table) {
    for (auto& p : z.pools) {
        for (auto& o : p.origins) {
            for (auto& a : o.addresses) {
                a.health = table.acquire(p.name + "/" + o.name + "/" + a.text, State::kUp);
            }
        }
    }
}

void set_origin(Zone& z, HealthTable& table, size_t pool, size_t origin, bool ok) {
    for (auto& a : z.pools[pool].origins[origin].addresses) {
        table.record(a.health, ok, 0, ok ? "" : "refused", 1, 1);
    }
}

bool same(const Decision& x, const Decision& y) {
    if (x.kind != y.kind || x.pool != y.pool || x.degraded != y.degraded ||
        x.all_down != y.all_down || x.location_used != y.location_used || x.count != y.count) {
        return false;
    }
    return std::equal(x.origins, x.origins + x.count, y.origins);
}

// Every health state the test compares in: all up, then each origin of the zone down alone.
struct States {
    Zone z = test_zone();
    HealthTable table{256};
    std::vector<std::pair<size_t, size_t>> origins;
    States() {
        monitor_all(z, table);
        for (size_t p = 0; p < z.pools.size(); ++p) {
            for (size_t o = 0; o < z.pools[p].origins.size(); ++o) {
                origins.emplace_back(p, o);
            }
        }
    }
    // Calls fn() once per state.
    template <typename Fn>
    void each(Fn fn) {
        fn();
        for (auto [p, o] : origins) {
            set_origin(z, table, p, o, false);
            fn();
            set_origin(z, table, p, o, true);
        }
    }
};

struct Checker {
    const Resolver& r;
    const dnslb::steering::ZoneGeoMap& maps;
    States& s;
    size_t compared = 0;

    // The answers of every pool and both query families for a location: the map's vs the
    // resolver's, in the current health state.
    void compare(int family, const uint8_t* addr, uint8_t src, uint64_t hash) {
        const Location truth = r.lookup(family, addr, src);
        for (size_t p = 0; p < s.z.pools.size(); ++p) {
            const PoolGeoMap* m = maps.pool(static_cast<int32_t>(p));
            const Location mapped = m != nullptr ? m->lookup(family, addr, src) : Location{};
            for (int qf : {4, 6}) {
                const auto pool = static_cast<int32_t>(p);
                const Decision a = steer(s.z, pool, truth, hash, qf, &s.table);
                const Decision b = steer(s.z, pool, mapped, hash, qf, &s.table);
                INFO("pool " << s.z.pools[p].name << " qfamily " << qf << " src " << int(src));
                REQUIRE(same(a, b));
                ++compared;
            }
        }
    }
};

void from_u128(U128 v, int family, uint8_t* out) {
    const int n = family == 4 ? 4 : 16;
    for (int i = n - 1; i >= 0; --i) {
        out[i] = static_cast<uint8_t>(v & 0xFF);
        v >>= 8;
    }
}

// A resolver over both files of a schema, with nets entries that cut database networks, cover
// several of them, and sit in special-purpose and embedding ranges; optionally a default.
void configure(Resolver& r, const std::string& schema, bool with_default) {
    r.open_database(db("test-" + schema + "-v4.mmdb"));
    r.open_database(db("test-" + schema + "-v6.mmdb"));
    Location tokyo;
    tokyo.has_coords = true;
    tokyo.lat = 35.68;
    tokyo.lon = 139.69;
    tokyo.country = country_code('J', 'P');
    r.add_net("5.9.77.128/25", tokyo);           // inside Berlin inside Frankfurt
    r.add_net("10.20.0.0/16", tokyo);            // inside a special block
    r.add_net("3.80.0.0/13", tokyo);             // half of Ashburn
    r.add_net("2a01:4f8:100:8000::/49", tokyo);  // inside Berlin (IPv6)
    r.add_net("2002:0102:0300::/40", tokyo);     // inside 6to4
    Location us;
    us.country = country_code('U', 'S');
    r.add_net("192.0.2.0/24", us);
    if (with_default) {
        r.set_default_location(51.5, -0.1);
    }
}

}  // namespace

TEST_CASE("walk covers every database network once, in address order", "[geomap]") {
    Resolver r;
    configure(r, "city", false);
    const Partition part = r.walk();
    REQUIRE(!part.v4_start.empty());
    REQUIRE(part.v4_start.size() == part.v4_loc.size());
    REQUIRE(part.v6_start.size() == part.v6_loc.size());
    CHECK(part.v4_start[0] == 0);
    CHECK(part.v6_start[0] == 0);
    for (size_t i = 1; i < part.v4_start.size(); ++i) {
        REQUIRE(part.v4_start[i - 1] < part.v4_start[i]);
        REQUIRE(part.v4_loc[i - 1] != part.v4_loc[i]);
    }
    for (size_t i = 1; i < part.v6_start.size(); ++i) {
        REQUIRE(part.v6_start[i - 1] < part.v6_start[i]);
    }
    CHECK(part.records > 10);
    CHECK(part.v4_networks > 20);
}

TEST_CASE("the merged map answers as the resolver does, in every health state", "[geomap]") {
    for (const char* schema : {"city", "dbip"}) {
        for (bool with_default : {false, true}) {
            Resolver r;
            configure(r, schema, with_default);
            const Partition part = r.walk();
            States s;
            const auto maps = dnslb::steering::build_geo_maps(s.z, part);
            REQUIRE(maps->pool(0) != nullptr);
            REQUIRE(maps->pool(1) != nullptr);
            REQUIRE(maps->pool(2) != nullptr);  // its fallback is location dependent
            Checker c{r, *maps, s};
            std::mt19937_64 rng(42);
            // Range starts, range ends and a random address inside every range of the walk.
            std::vector<std::pair<int, U128>> probes;
            for (size_t i = 0; i < part.v4_start.size(); ++i) {
                const U128 first = part.v4_start[i];
                const U128 last =
                    i + 1 < part.v4_start.size() ? U128{part.v4_start[i + 1]} - 1 : 0xFFFFFFFFU;
                probes.emplace_back(4, first);
                probes.emplace_back(4, last);
                probes.emplace_back(4, first + rng() % (last - first + 1));
            }
            for (size_t i = 0; i < part.v6_start.size(); ++i) {
                const U128 first = part.v6_start[i];
                const U128 last =
                    i + 1 < part.v6_start.size() ? part.v6_start[i + 1] - 1 : ~U128{0};
                const U128 span = last - first;
                const U128 r128 = (U128{rng()} << 64) | rng();
                probes.emplace_back(6, first);
                probes.emplace_back(6, last);
                probes.emplace_back(6, span == ~U128{0} ? r128 : first + r128 % (span + 1));
            }
            // Random addresses, and random IPv4 ones also as IPv4-mapped, 6to4 and Teredo.
            for (int i = 0; i < 3000; ++i) {
                const auto v4 = static_cast<uint32_t>(rng());
                probes.emplace_back(4, v4);
                probes.emplace_back(6, (U128{0xFFFF} << 32) | v4);
                probes.emplace_back(6, (U128{0x2002} << 112) | (U128{v4} << 80) | (rng() & 0xFFFF));
                probes.emplace_back(6, (U128{0x20010000} << 96) | (~v4 & 0xFFFFFFFFU));
            }
            s.each([&] {
                for (const auto& [family, v] : probes) {
                    uint8_t addr[16] = {};
                    from_u128(v, family, addr);
                    c.compare(family, addr, family == 4 ? 32 : 128, v & 0xFFFF);
                    // ECS client subnets the size resolvers send.
                    uint8_t sub[16] = {};
                    from_u128(v, family, sub);
                    const uint8_t src = family == 4 ? 24 : 56;
                    std::memset(sub + src / 8, 0, (family == 4 ? 4 : 16) - src / 8);
                    c.compare(family, sub, src, 7);
                }
            });
            CHECK(c.compared > 100000);
        }
    }
}

TEST_CASE("a map scope never covers an address answered differently", "[geomap]") {
    Resolver r;
    configure(r, "dbip", false);
    const Partition part = r.walk();
    States s;
    const auto maps = dnslb::steering::build_geo_maps(s.z, part);
    std::mt19937_64 rng(7);
    size_t wider = 0;
    size_t checked = 0;
    for (int i = 0; i < 1500; ++i) {
        const int family = i % 2 == 0 ? 4 : 6;
        U128 v = (U128{rng()} << 64) | rng();
        if (family == 4) {
            v &= 0xFFFFFFFFU;
        } else if (i % 4 == 1) {  // inside the networks of the test database
            static const U128 heads[] = {U128{0x2a0104f8} << 96, U128{0x26001f18} << 96,
                                         U128{0x2400cb00} << 96, U128{0xFFFF} << 32};
            v = heads[rng() % 4] | (v & ((U128{1} << 80) - 1));
        }
        uint8_t addr[16] = {};
        from_u128(v, family, addr);
        const unsigned bits = family == 4 ? 32 : 128;
        for (size_t p = 0; p < s.z.pools.size(); ++p) {
            const PoolGeoMap* m = maps->pool(static_cast<int32_t>(p));
            if (m == nullptr) {
                continue;
            }
            const Location mine = m->lookup(family, addr, static_cast<uint8_t>(bits));
            const Location old = r.lookup(family, addr, static_cast<uint8_t>(bits));
            wider += mine.prefix_len < old.prefix_len ? 1 : 0;
            // Addresses inside the scope: the first, the last and random ones.
            const unsigned host = bits - mine.prefix_len;
            const U128 net = host == 128 ? 0 : (v >> host) << host;
            const U128 mask = host == 128 ? ~U128{0} : (U128{1} << host) - 1;
            std::vector<U128> inside = {net, net | mask};
            for (int k = 0; k < 12; ++k) {
                inside.push_back(net | (((U128{rng()} << 64) | rng()) & mask));
            }
            std::vector<Location> there;
            for (U128 x : inside) {
                uint8_t other[16] = {};
                from_u128(x, family, other);
                there.push_back(r.lookup(family, other, static_cast<uint8_t>(bits)));
            }
            s.each([&] {
                for (int qf : {4, 6}) {
                    const auto pool = static_cast<int32_t>(p);
                    const Decision want = steer(s.z, pool, mine, 3, qf, &s.table);
                    for (const Location& t : there) {
                        INFO("pool " << s.z.pools[p].name << " scope /" << int(mine.prefix_len));
                        REQUIRE(same(want, steer(s.z, pool, t, 3, qf, &s.table)));
                        ++checked;
                    }
                }
            });
        }
    }
    CHECK(checked > 100000);
    CHECK(wider > 0);  // merging made some scopes wider than the database network's
}

TEST_CASE("map lookups and steering through them do not allocate", "[geomap]") {
    Resolver r;
    configure(r, "city", true);
    const Partition part = r.walk();
    States s;
    const auto maps = dnslb::steering::build_geo_maps(s.z, part);
    dnslb::steering::Asker asker;
    asker.family = 4;
    asker.ecs = true;
    asker.prefix = 24;
    std::mt19937_64 rng(1);
    size_t answered = 0;
    const size_t before = dnslb::test::allocations();
    for (int i = 0; i < 2000; ++i) {
        const auto v4 = static_cast<uint32_t>(rng());
        from_u128(v4 & 0xFFFFFF00U, 4, asker.addr);
        const auto st =
            dnslb::steering::steer_for(s.z, i % 4, &r, asker, 4, &s.table, nullptr, 1, maps.get());
        answered += st.d.kind == Decision::Kind::kAnswer ? 1 : 0;
    }
    CHECK(dnslb::test::allocations() == before);
    CHECK(answered == 2000);
}
