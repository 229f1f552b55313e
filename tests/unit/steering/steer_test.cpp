// Tests for dnslb/steering/steer.cpp: every policy, ties, stable hashing, answer counts,
// health, fallback chains, all_down modes and address-family filtering.
#include "dnslb/steering/steer.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <new>
#include <set>
#include <string>
#include <vector>

#include "dnslb/steering/cache.hpp"
#include "tests/support/counting_alloc.hpp"

namespace {

using dnslb::geo::country_code;
using dnslb::geo::Location;
using dnslb::probes::HealthTable;
using dnslb::probes::State;
using dnslb::steering::Decision;
using dnslb::steering::kMaxAnswers;
using dnslb::steering::steer;
using dnslb::zone::AllDown;
using dnslb::zone::Origin;
using dnslb::zone::Pool;
using dnslb::zone::Steering;
using dnslb::zone::Zone;
using Kind = Decision::Kind;

dnslb::zone::Address address(const std::string& text, int32_t health = -1) {
    dnslb::zone::Address a;
    if (inet_pton(AF_INET, text.c_str(), a.bytes.data()) == 1) {
        a.family = 4;
    } else {
        REQUIRE(inet_pton(AF_INET6, text.c_str(), a.bytes.data()) == 1);
        a.family = 6;
    }
    a.health = health;
    a.text = text;
    return a;
}

Origin origin(const std::string& name, std::initializer_list<std::string> addrs) {
    Origin o;
    o.name = name;
    for (const auto& a : addrs) {
        o.addresses.push_back(address(a));
    }
    return o;
}

Origin located(const std::string& name, std::initializer_list<std::string> addrs, double lat,
               double lon) {
    Origin o = origin(name, addrs);
    o.has_location = true;
    o.lat = lat;
    o.lon = lon;
    return o;
}

Location at(double lat, double lon, const char* country = nullptr) {
    Location l;
    l.known = true;
    l.source = Location::Source::kDatabase;
    l.has_coords = true;
    l.lat = lat;
    l.lon = lon;
    if (country != nullptr) {
        l.country = country_code(country[0], country[1]);
        l.continent = dnslb::geo::continent_of(l.country);
    }
    l.prefix_len = 24;
    return l;
}

Location in_country(const char* country) {
    Location l;
    l.known = true;
    l.source = Location::Source::kDatabase;
    l.country = country_code(country[0], country[1]);
    l.continent = dnslb::geo::continent_of(l.country);
    return l;
}

const Location kUnknown{};
const Location kBerlin = at(52.52, 13.40, "DE");
const Location kSydney = at(-33.87, 151.21, "AU");
const Location kNewYork = at(40.71, -74.01, "US");

// fra, sgp, iad as in the design example, each with an IPv4 address; fra also has IPv6.
Pool web_pool(Steering steering) {
    Pool p;
    p.name = "web";
    p.steering = steering;
    p.origins.push_back(located("fra", {"198.51.100.10", "2001:db8:f::10"}, 50.11, 8.68));
    p.origins.push_back(located("sgp", {"198.51.100.20"}, 1.35, 103.82));
    p.origins.push_back(located("iad", {"198.51.100.30"}, 38.95, -77.45));
    return p;
}

Zone zone_with(std::initializer_list<Pool> pools) {
    Zone z;
    z.pools.assign(pools.begin(), pools.end());
    return z;
}

std::vector<std::string> names(const Zone& z, const Decision& d) {
    std::vector<std::string> out;
    if (d.pool < 0) {
        return out;
    }
    for (uint8_t i = 0; i < d.count; ++i) {
        out.push_back(z.pools[static_cast<size_t>(d.pool)].origins[d.origins[i]].name);
    }
    return out;
}

using Names = std::vector<std::string>;

// Gives every address of the zone its own health cell, initially up.
void monitor_all(Zone& z, HealthTable& table) {
    for (auto& p : z.pools) {
        for (auto& o : p.origins) {
            for (auto& a : o.addresses) {
                a.health = table.acquire(p.name + "/" + o.name + "/" + a.text, State::kUp);
                REQUIRE(a.health >= 0);
            }
        }
    }
}

// Marks an address down (or up) through the prober interface.
void set_state(Zone& z, HealthTable& table, size_t pool, size_t origin, size_t addr, bool ok) {
    const int32_t id = z.pools[pool].origins[origin].addresses[addr].health;
    table.record(id, ok, 0, ok ? "" : "refused", 1, 1);
    REQUIRE(table.up(id) == ok);
}

void set_origin(Zone& z, HealthTable& table, size_t pool, size_t origin, bool ok) {
    for (size_t a = 0; a < z.pools[pool].origins[origin].addresses.size(); ++a) {
        set_state(z, table, pool, origin, a, ok);
    }
}

}  // namespace

TEST_CASE("proximity: nearest origin first", "[steering]") {
    Pool p = web_pool(Steering::kProximity);
    p.answers = 3;
    const Zone z = zone_with({p});
    Decision d = steer(z, 0, kBerlin, 1, 4, nullptr);
    CHECK(d.kind == Kind::kAnswer);
    CHECK(d.pool == 0);
    CHECK(d.location_used);
    CHECK_FALSE(d.degraded);
    CHECK_FALSE(d.all_down);
    CHECK(names(z, d) == Names{"fra", "iad", "sgp"});
    CHECK(names(z, steer(z, 0, kSydney, 1, 4, nullptr)) == Names{"sgp", "iad", "fra"});
    CHECK(names(z, steer(z, 0, kNewYork, 1, 4, nullptr)) == Names{"iad", "fra", "sgp"});
}

TEST_CASE("proximity: answers limits the count", "[steering]") {
    Pool p = web_pool(Steering::kProximity);
    const Zone one = zone_with({p});
    CHECK(names(one, steer(one, 0, kSydney, 1, 4, nullptr)) == Names{"sgp"});
    p.answers = 2;
    const Zone two = zone_with({p});
    CHECK(names(two, steer(two, 0, kSydney, 1, 4, nullptr)) == Names{"sgp", "iad"});

    Pool big;
    big.steering = Steering::kProximity;
    big.answers = 100;
    for (int i = 0; i < 40; ++i) {
        big.origins.push_back(
            located("o" + std::to_string(i), {"192.0.2." + std::to_string(i)}, i, 0));
    }
    const Zone zb = zone_with({big});
    const Decision d = steer(zb, 0, at(0, 0), 1, 4, nullptr);
    CHECK(d.count == kMaxAnswers);
    CHECK(names(zb, d).front() == "o0");
    CHECK(names(zb, d).back() == "o15");
}

TEST_CASE("proximity: bias scales the distance", "[steering]") {
    Pool p = web_pool(Steering::kProximity);
    p.origins[2].bias = 99;  // iad: distance x 0.01
    const Zone z = zone_with({p});
    CHECK(names(z, steer(z, 0, kBerlin, 1, 4, nullptr)) == Names{"iad"});

    Pool q = web_pool(Steering::kProximity);
    q.origins[0].bias = -99;  // fra: distance x 1.99; London-fra 640 km -> 1270 > London-iad?
    const Location london = at(51.51, -0.13, "GB");
    const Zone zq = zone_with({q});
    // London - Frankfurt is about 640 km (x1.99 = 1270 km), London - Ashburn about 5900 km.
    CHECK(names(zq, steer(zq, 0, london, 1, 4, nullptr)) == Names{"fra"});
    q.origins[0].bias = -99;
    q.origins[2].bias = 90;  // iad: 590 km
    const Zone zr = zone_with({q});
    CHECK(names(zr, steer(zr, 0, london, 1, 4, nullptr)) == Names{"iad"});
}

TEST_CASE("proximity: ties within 1 km by weight, then stable per client", "[steering]") {
    Pool p;
    p.steering = Steering::kProximity;
    p.origins.push_back(located("a", {"192.0.2.1"}, 50.110, 8.680));
    p.origins.push_back(located("b", {"192.0.2.2"}, 50.114, 8.680));  // ~0.45 km away
    p.origins.push_back(located("far", {"192.0.2.3"}, 1.35, 103.82));
    const Zone z = zone_with({p});
    std::set<std::string> firsts;
    for (uint64_t client = 0; client < 64; ++client) {
        const Decision d = steer(z, 0, kBerlin, client, 4, nullptr);
        const std::string first = names(z, d).front();
        firsts.insert(first);
        // The same client subnet always gets the same answer.
        for (int again = 0; again < 3; ++again) {
            CHECK(names(z, steer(z, 0, kBerlin, client, 4, nullptr)).front() == first);
        }
    }
    CHECK(firsts == std::set<std::string>{"a", "b"});

    Pool w = p;
    w.origins[1].weight = 2;
    const Zone zw = zone_with({w});
    for (uint64_t client = 0; client < 64; ++client) {
        CHECK(names(zw, steer(zw, 0, kBerlin, client, 4, nullptr)).front() == "b");
    }

    // Beyond 1 km the distance decides, whatever the weight.
    Pool d = p;
    d.origins[1].lat = 50.15;  // ~4.5 km farther north than a, from Berlin about 4 km nearer
    d.origins[0].weight = 10;
    const Zone zd = zone_with({d});
    for (uint64_t client = 0; client < 16; ++client) {
        CHECK(names(zd, steer(zd, 0, kBerlin, client, 4, nullptr)).front() == "b");
    }
}

TEST_CASE("proximity: unlocated origins last, unknown askers use geo_default", "[steering]") {
    Pool p = web_pool(Steering::kProximity);
    p.answers = 4;
    p.origins.insert(p.origins.begin(), origin("anycast", {"192.0.2.99"}));
    const Zone z = zone_with({p});
    CHECK(names(z, steer(z, 0, kSydney, 1, 4, nullptr)) == Names{"sgp", "iad", "fra", "anycast"});

    // Unknown location: geo_default is empty here, so file order.
    const Decision u = steer(z, 0, kUnknown, 1, 4, nullptr);
    CHECK(u.kind == Kind::kAnswer);
    CHECK_FALSE(u.location_used);
    CHECK(names(z, u) == Names{"anycast", "fra", "sgp", "iad"});

    // A country without coordinates does not place the asker either.
    CHECK_FALSE(steer(z, 0, in_country("DE"), 1, 4, nullptr).location_used);

    Pool q = p;
    q.geo_default = {3, 1};  // iad, fra; the rest follow in file order
    const Zone zq = zone_with({q});
    CHECK(names(zq, steer(zq, 0, kUnknown, 1, 4, nullptr)) ==
          Names{"iad", "fra", "anycast", "sgp"});
}

TEST_CASE("geo: country, then continent, then default", "[steering]") {
    Pool p = web_pool(Steering::kGeo);
    p.answers = 3;
    p.geo_countries[country_code('C', 'N')] = {1};      // sgp
    p.geo_continents[country_code('E', 'U')] = {0};     // fra
    p.geo_continents[country_code('O', 'C')] = {1, 2};  // sgp, iad
    p.geo_default = {2, 0, 1};                          // iad, fra, sgp
    Zone z = zone_with({p});

    Decision cn = steer(z, 0, in_country("CN"), 1, 4, nullptr);
    CHECK(cn.kind == Kind::kAnswer);
    CHECK(cn.location_used);
    CHECK(names(z, cn) == Names{"sgp"});  // the list is the answer, nothing appended
    CHECK(names(z, steer(z, 0, in_country("DE"), 1, 4, nullptr)) == Names{"fra"});
    CHECK(names(z, steer(z, 0, kSydney, 1, 4, nullptr)) == Names{"sgp", "iad"});
    const Decision us = steer(z, 0, in_country("US"), 1, 4, nullptr);
    CHECK(us.location_used);
    CHECK(names(z, us) == Names{"iad", "fra", "sgp"});
    const Decision u = steer(z, 0, kUnknown, 1, 4, nullptr);
    CHECK_FALSE(u.location_used);
    CHECK(names(z, u) == Names{"iad", "fra", "sgp"});

    // Continent only (e.g. a nets entry without country).
    Location eu;
    eu.known = true;
    eu.continent = country_code('E', 'U');
    CHECK(names(z, steer(z, 0, eu, 1, 4, nullptr)) == Names{"fra"});

    // The list's origins are down: the next level answers.
    HealthTable table(64);
    monitor_all(z, table);
    set_origin(z, table, 0, 1, false);  // sgp
    const Decision down = steer(z, 0, in_country("CN"), 1, 4, &table);
    CHECK(down.kind == Kind::kAnswer);
    CHECK(down.degraded);
    CHECK(names(z, down) == Names{"iad", "fra"});

    // Out-of-range indices in a list are ignored.
    Pool bad = web_pool(Steering::kGeo);
    bad.geo_default = {7, 2};
    const Zone zb = zone_with({bad});
    CHECK(names(zb, steer(zb, 0, kUnknown, 1, 4, nullptr)) == Names{"iad"});
}

TEST_CASE("failover: ascending priority, ties in file order", "[steering]") {
    Pool p = web_pool(Steering::kFailover);
    p.answers = 3;
    Zone z = zone_with({p});
    const Decision d = steer(z, 0, kBerlin, 1, 4, nullptr);
    CHECK_FALSE(d.location_used);
    CHECK(names(z, d) == Names{"fra", "sgp", "iad"});

    z.pools[0].origins[0].priority = 5;
    z.pools[0].origins[2].priority = -1;
    CHECK(names(z, steer(z, 0, kBerlin, 1, 4, nullptr)) == Names{"iad", "sgp", "fra"});

    HealthTable table(64);
    monitor_all(z, table);
    z.pools[0].answers = 1;
    set_origin(z, table, 0, 2, false);
    const Decision failed = steer(z, 0, kBerlin, 1, 4, &table);
    CHECK(failed.degraded);
    CHECK(names(z, failed) == Names{"sgp"});
    set_origin(z, table, 0, 2, true);
    const Decision back = steer(z, 0, kBerlin, 1, 4, &table);
    CHECK_FALSE(back.degraded);
    CHECK(names(z, back) == Names{"iad"});
}

TEST_CASE("weighted: stable per client, proportional to weight", "[steering]") {
    Pool p;
    p.steering = Steering::kWeighted;
    p.origins.push_back(origin("light", {"192.0.2.1"}));
    p.origins.push_back(origin("heavy", {"192.0.2.2"}));
    p.origins[1].weight = 3;
    p.origins.push_back(origin("off", {"192.0.2.3"}));
    p.origins[2].weight = 0;
    Zone z = zone_with({p});

    int heavy = 0;
    const int kClients = 4000;
    for (uint64_t client = 0; client < kClients; ++client) {
        const Decision d = steer(z, 0, kUnknown, client * 0x9E3779B97F4A7C15ULL, 4, nullptr);
        REQUIRE(d.count == 1);
        const std::string first = names(z, d).front();
        CHECK(first != "off");
        heavy += first == "heavy" ? 1 : 0;
        CHECK(names(z, steer(z, 0, kBerlin, client * 0x9E3779B97F4A7C15ULL, 4, nullptr)).front() ==
              first);
    }
    CHECK(heavy > kClients * 70 / 100);  // expected 75%
    CHECK(heavy < kClients * 80 / 100);

    // The rest follow in hash order; a zero weight comes last.
    z.pools[0].answers = 3;
    const Decision all = steer(z, 0, kUnknown, 42, 4, nullptr);
    CHECK(all.count == 3);
    CHECK(names(z, all).back() == "off");

    // Only up origins are chosen; the zero-weight one answers when it is all that is left.
    HealthTable table(64);
    monitor_all(z, table);
    set_origin(z, table, 0, 0, false);
    set_origin(z, table, 0, 1, false);
    CHECK(names(z, steer(z, 0, kUnknown, 42, 4, &table)) == Names{"off"});
}

TEST_CASE("random: varies per query, respects answers", "[steering]") {
    Pool p;
    p.steering = Steering::kRandom;
    p.answers = 2;
    p.origins.push_back(origin("a", {"192.0.2.1"}));
    p.origins.push_back(origin("b", {"192.0.2.2"}));
    p.origins.push_back(origin("c", {"192.0.2.3"}));
    const Zone z = zone_with({p});
    std::set<std::string> firsts;
    for (int i = 0; i < 300; ++i) {
        const Decision d = steer(z, 0, kBerlin, 7, 4, nullptr);  // same client every time
        REQUIRE(d.count == 2);
        CHECK(d.origins[0] != d.origins[1]);
        CHECK_FALSE(d.location_used);
        firsts.insert(names(z, d).front());
    }
    CHECK(firsts == std::set<std::string>{"a", "b", "c"});
}

TEST_CASE("health: down origins are skipped and the answer is degraded", "[steering]") {
    Zone z = zone_with({web_pool(Steering::kProximity)});
    HealthTable table(64);
    monitor_all(z, table);
    CHECK(names(z, steer(z, 0, kBerlin, 1, 4, &table)) == Names{"fra"});
    set_state(z, table, 0, 0, 0, false);  // fra's IPv4 address
    const Decision d = steer(z, 0, kBerlin, 1, 4, &table);
    CHECK(d.kind == Kind::kAnswer);
    CHECK(d.degraded);
    CHECK(names(z, d) == Names{"iad"});
    // fra's IPv6 address is still up: AAAA still answers fra, not degraded.
    const Decision v6 = steer(z, 0, kBerlin, 1, 6, &table);
    CHECK(names(z, v6) == Names{"fra"});
    CHECK_FALSE(v6.degraded);

    // Unknown state counts as up; unmonitored addresses are always up.
    HealthTable fresh(8);
    Zone u = zone_with({web_pool(Steering::kProximity)});
    u.pools[0].origins[0].addresses[0].health = fresh.acquire("fra", State::kUnknown);
    CHECK(names(u, steer(u, 0, kBerlin, 1, 4, &fresh)) == Names{"fra"});
}

TEST_CASE("fallback pools and all_down policies", "[steering]") {
    Pool web = web_pool(Steering::kProximity);
    web.fallback = 1;
    Pool backup;
    backup.name = "backup";
    backup.steering = Steering::kFailover;
    backup.origins.push_back(origin("static", {"203.0.113.5"}));
    Zone z = zone_with({web, backup});
    HealthTable table(64);
    monitor_all(z, table);

    for (size_t i = 0; i < 3; ++i) {
        set_origin(z, table, 0, i, false);
    }
    const Decision fb = steer(z, 0, kBerlin, 1, 4, &table);
    CHECK(fb.kind == Kind::kAnswer);
    CHECK(fb.pool == 1);
    CHECK(fb.degraded);
    CHECK_FALSE(fb.all_down);
    CHECK(names(z, fb) == Names{"static"});

    // AAAA: the backup has no IPv6, fra's IPv6 is down too: the chain is exhausted.
    set_origin(z, table, 1, 0, false);
    for (auto [mode, kind] :
         {std::pair{AllDown::kReturnAll, Kind::kAnswer}, std::pair{AllDown::kNoData, Kind::kNoData},
          std::pair{AllDown::kServFail, Kind::kServFail}}) {
        z.pools[0].all_down = mode;
        z.pools[1].all_down = AllDown::kServFail;  // only the first pool's policy applies
        const Decision d = steer(z, 0, kBerlin, 1, 4, &table);
        CHECK(d.kind == kind);
        CHECK(d.all_down);
        CHECK(d.pool == 0);
        CHECK(d.degraded);
        if (kind == Kind::kAnswer) {
            CHECK(names(z, d) == Names{"fra"});  // as if everything were up
            CHECK(d.location_used);
        } else {
            CHECK(d.count == 0);
        }
    }
}

TEST_CASE("min_healthy below threshold follows the fallback", "[steering]") {
    Pool web = web_pool(Steering::kProximity);
    web.min_healthy = 2;
    web.fallback = 1;
    Pool backup;
    backup.steering = Steering::kFailover;
    backup.origins.push_back(origin("static", {"203.0.113.5"}));
    Zone z = zone_with({web, backup});
    HealthTable table(64);
    monitor_all(z, table);
    set_origin(z, table, 0, 0, false);
    const Decision one_down = steer(z, 0, kBerlin, 1, 4, &table);
    CHECK(one_down.pool == 0);
    CHECK(names(z, one_down) == Names{"iad"});
    set_origin(z, table, 0, 1, false);
    const Decision two_down = steer(z, 0, kBerlin, 1, 4, &table);
    CHECK(two_down.pool == 1);
    CHECK(names(z, two_down) == Names{"static"});
}

TEST_CASE("fallback cycles terminate", "[steering]") {
    Pool a = web_pool(Steering::kFailover);
    a.fallback = 1;
    a.all_down = AllDown::kNoData;
    Pool b;
    b.steering = Steering::kFailover;
    b.origins.push_back(origin("b1", {"203.0.113.5"}));
    b.fallback = 0;
    Zone z = zone_with({a, b});
    HealthTable table(64);
    monitor_all(z, table);
    for (size_t i = 0; i < 3; ++i) {
        set_origin(z, table, 0, i, false);
    }
    set_origin(z, table, 1, 0, false);
    const Decision d = steer(z, 0, kBerlin, 1, 4, &table);
    CHECK(d.kind == Kind::kNoData);
    CHECK(d.all_down);
    const Decision from_b = steer(z, 1, kBerlin, 1, 4, &table);
    CHECK(from_b.kind == Kind::kAnswer);  // b's policy is return-all
    CHECK(from_b.all_down);
    CHECK(names(z, from_b) == Names{"b1"});

    z.pools[0].fallback = 0;  // self-reference
    CHECK(steer(z, 0, kBerlin, 1, 4, &table).kind == Kind::kNoData);
    z.pools[0].fallback = 9;  // out of range
    CHECK(steer(z, 0, kBerlin, 1, 4, &table).kind == Kind::kNoData);
}

TEST_CASE("family filtering", "[steering]") {
    Pool p = web_pool(Steering::kProximity);
    p.answers = 3;
    p.origins.push_back(located("v6only", {"2001:db8:6::1"}, -33.87, 151.21));
    const Zone z = zone_with({p});
    // Origins without an address of the family never appear.
    CHECK(names(z, steer(z, 0, kSydney, 1, 4, nullptr)) == Names{"sgp", "iad", "fra"});
    CHECK(names(z, steer(z, 0, kSydney, 1, 6, nullptr)) == Names{"v6only", "fra"});

    // A pool without any address of the family: NODATA, not a fallback, not all_down.
    Pool v4 = web_pool(Steering::kFailover);
    v4.origins.erase(v4.origins.begin());  // drop fra, the only IPv6 origin
    v4.fallback = 1;
    Pool backup;
    backup.origins.push_back(origin("v6", {"2001:db8::5"}));
    const Zone zv = zone_with({v4, backup});
    const Decision d = steer(zv, 0, kBerlin, 1, 6, nullptr);
    CHECK(d.kind == Kind::kNoData);
    CHECK_FALSE(d.all_down);
    CHECK_FALSE(d.degraded);
    CHECK(d.count == 0);
    CHECK(steer(zv, 0, kBerlin, 1, 5, nullptr).kind == Kind::kNoData);
}

TEST_CASE("bad pool index is a server failure", "[steering]") {
    const Zone z = zone_with({web_pool(Steering::kProximity)});
    CHECK(steer(z, -1, kBerlin, 1, 4, nullptr).kind == Kind::kServFail);
    CHECK(steer(z, 1, kBerlin, 1, 4, nullptr).kind == Kind::kServFail);
}

TEST_CASE("steer does not allocate", "[steering]") {
    Pool web = web_pool(Steering::kProximity);
    web.answers = 2;
    web.fallback = 1;
    web.geo_countries[country_code('C', 'N')] = {1};
    Pool backup = web_pool(Steering::kWeighted);
    Zone z = zone_with({web, backup});
    HealthTable table(64);
    monitor_all(z, table);
    set_origin(z, table, 0, 0, false);
    const Location where[] = {kBerlin, kSydney, kUnknown, in_country("CN")};
    size_t answered = 0;
    const size_t before = dnslb::test::allocations();
    for (int round = 0; round < 50; ++round) {
        for (auto s : {Steering::kProximity, Steering::kGeo, Steering::kFailover,
                       Steering::kWeighted, Steering::kRandom}) {
            z.pools[0].steering = s;
            for (const auto& w : where) {
                const Decision d = steer(z, 0, w, static_cast<uint64_t>(round), 4, &table);
                answered += d.kind == Kind::kAnswer ? 1 : 0;
            }
        }
    }
    CHECK(dnslb::test::allocations() == before);
    CHECK(answered == 50 * 5 * 4);
}

// The decision cache must answer exactly what steer_for() computes without it.
TEST_CASE("cached steering decisions equal uncached ones over many subnets", "[cache]") {
    using dnslb::steering::Asker;
    using dnslb::steering::DecisionCache;
    using dnslb::steering::steer_for;
    using dnslb::steering::Steered;
    Zone z = zone_with({web_pool(Steering::kProximity), web_pool(Steering::kGeo),
                        web_pool(Steering::kWeighted), web_pool(Steering::kFailover)});
    z.pools[1].geo_countries[country_code('D', 'E')] = {0};
    z.pools[1].geo_continents[country_code('A', 'S')] = {1};
    z.pools[1].geo_default = {2};
    z.pools[0].answers = 2;
    z.pools[0].fallback = 3;
    HealthTable table(64);
    monitor_all(z, table);
    dnslb::geo::Resolver geo;
    // /24s spread over the world; every fourth /16 is left unlocated.
    for (int a = 0; a < 40; ++a) {
        for (int b = 0; b < 16; ++b) {
            if (b % 4 == 3) {
                continue;
            }
            Location l;
            l.has_coords = true;
            l.lat = -60 + 3.0 * a;
            l.lon = -170 + 21.0 * b;
            l.country = (a + b) % 3 == 0 ? country_code('D', 'E') : country_code('S', 'G');
            geo.add_net("10." + std::to_string(a) + "." + std::to_string(b) + ".0/24", l);
        }
    }
    DecisionCache cache(1024);  // smaller than the key set: evictions happen too
    auto same = [](const Steered& x, const Steered& y) {
        REQUIRE(x.d.kind == y.d.kind);
        REQUIRE(x.d.pool == y.d.pool);
        REQUIRE(x.d.degraded == y.d.degraded);
        REQUIRE(x.d.all_down == y.d.all_down);
        REQUIRE(x.d.location_used == y.d.location_used);
        REQUIRE(x.d.count == y.d.count);
        for (size_t i = 0; i < x.d.count; ++i) {
            REQUIRE(x.d.origins[i] == y.d.origins[i]);
        }
        REQUIRE(x.prefix_len == y.prefix_len);
    };
    uint64_t generation = 7;
    auto check_all = [&]() {
        for (int round = 0; round < 2; ++round) {
            for (int a = 0; a < 42; ++a) {
                for (int b = 0; b < 16; ++b) {
                    for (int32_t pool = 0; pool < 4; ++pool) {
                        for (int qfamily : {4, 6}) {
                            uint8_t addr[16] = {10, static_cast<uint8_t>(a),
                                                static_cast<uint8_t>(b), 0};
                            Asker asker;
                            asker.family = 4;
                            asker.prefix = static_cast<uint8_t>(b % 5 == 0 ? 16 : 24);
                            asker.ecs = (a + b) % 7 != 0;
                            if (asker.prefix == 16) {
                                addr[2] = 0;
                            }
                            std::memcpy(asker.addr, addr, 16);
                            Steered plain = steer_for(z, pool, &geo, asker, qfamily, &table,
                                                      nullptr, generation);
                            Steered cached = steer_for(z, pool, &geo, asker, qfamily, &table,
                                                       &cache, generation);
                            same(plain, cached);
                        }
                    }
                }
            }
        }
    };
    const auto allocations = dnslb::test::allocations();
    check_all();
    CHECK(cache.hits() > 0);
    CHECK(cache.misses() > 0);
    // Health changes: the epoch moves and nothing cached before may answer.
    set_origin(z, table, 0, 0, false);
    check_all();
    set_origin(z, table, 0, 1, false);
    set_origin(z, table, 0, 2, false);  // pool 0 all down: fallback to pool 3
    check_all();
    set_origin(z, table, 0, 0, true);
    check_all();
    CHECK(dnslb::test::allocations() == allocations);  // lookups and stores never allocate
    // A new snapshot generation empties it too, even with the same zone object.
    const uint64_t hits = cache.hits();
    uint8_t addr[16] = {10, 1, 1, 0};
    Asker asker;
    std::memcpy(asker.addr, addr, 16);
    asker.prefix = 24;
    asker.ecs = true;
    steer_for(z, 0, &geo, asker, 4, &table, &cache, generation + 1);
    CHECK(cache.hits() == hits);
    steer_for(z, 0, &geo, asker, 4, &table, &cache, generation + 1);
    CHECK(cache.hits() == hits + 1);
    steer_for(z, 0, &geo, asker, 4, &table, &cache, generation + 2);
    CHECK(cache.hits() == hits + 1);
}

TEST_CASE("random pools are never answered from the cache", "[cache]") {
    using dnslb::steering::Asker;
    using dnslb::steering::DecisionCache;
    using dnslb::steering::steer_for;
    Zone z = zone_with({web_pool(Steering::kRandom)});
    DecisionCache cache(64);
    uint8_t addr[16] = {192, 0, 2, 1};
    Asker asker;
    std::memcpy(asker.addr, addr, 16);
    for (int i = 0; i < 10; ++i) {
        steer_for(z, 0, nullptr, asker, 4, nullptr, &cache, 1);
    }
    CHECK(cache.hits() == 0);
}

// One set of four ways: askers that cycle through more keys than that keep three hitting (a
// new entry waits in the least recently used way until it hits), where LRU would hit none.
TEST_CASE("a set cycled by more keys than ways keeps three of them hitting", "[cache]") {
    using dnslb::steering::Asker;
    using dnslb::steering::DecisionCache;
    using dnslb::steering::steer_for;
    const Zone z = zone_with({web_pool(Steering::kProximity)});
    for (int keys : {4, 6}) {
        DecisionCache cache(DecisionCache::kWays);
        REQUIRE(cache.capacity() == 4);
        for (int round = 0; round < 20; ++round) {
            for (int k = 0; k < keys; ++k) {
                uint8_t addr[16] = {198, 51, 100, static_cast<uint8_t>(k)};
                Asker asker;
                std::memcpy(asker.addr, addr, 16);
                steer_for(z, 0, nullptr, asker, 4, nullptr, &cache, 1);
            }
        }
        INFO(keys << " keys");
        CHECK(cache.hits() == (keys == 4 ? 4 * 19 : 3 * 19));
        CHECK(cache.misses() == (keys == 4 ? 4 : 6 + 3 * 19));
    }
}
