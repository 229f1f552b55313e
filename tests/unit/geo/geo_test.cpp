// Tests for dnslb/geo/geo.cpp against the databases tools/make-test-geodb builds from
// tests/data/geo/test-geo.csv (both schemas, both families).
#include "dnslb/geo/geo.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>

#include "tests/support/counting_alloc.hpp"

namespace {

using dnslb::geo::country_code;
using dnslb::geo::Location;
using dnslb::geo::Resolver;
using Source = Location::Source;

const std::string kDir = DNSLB_TEST_GEODB_DIR;

std::string db(const char* name) { return kDir + "/" + name; }

struct Addr {
    int family = 4;
    std::array<uint8_t, 16> bytes{};
};

Addr parse(const char* text) {
    Addr a;
    if (inet_pton(AF_INET, text, a.bytes.data()) == 1) {
        a.family = 4;
    } else if (inet_pton(AF_INET6, text, a.bytes.data()) == 1) {
        a.family = 6;
    } else {
        FAIL("bad address in test: " << text);
    }
    return a;
}

Location look(const Resolver& r, const char* text, int source_prefix = -1) {
    const Addr a = parse(text);
    const int src = source_prefix >= 0 ? source_prefix : (a.family == 4 ? 32 : 128);
    return r.lookup(a.family, a.bytes.data(), static_cast<uint8_t>(src));
}

std::string describe(const Resolver& r, const char* text, int source_prefix = -1) {
    const Addr a = parse(text);
    const int src = source_prefix >= 0 ? source_prefix : (a.family == 4 ? 32 : 128);
    return r.describe(a.family, a.bytes.data(), static_cast<uint8_t>(src));
}

constexpr auto AU = country_code('A', 'U');
constexpr auto DE = country_code('D', 'E');
constexpr auto FR = country_code('F', 'R');
constexpr auto NZ = country_code('N', 'Z');
constexpr auto OC = country_code('O', 'C');
constexpr auto EU = country_code('E', 'U');
constexpr auto AS = country_code('A', 'S');

// 1.1.1.1 in an IPv4 database of either schema: Sydney, from a /24. `margin` allows for
// coordinates stored as float.
void check_sydney(const Location& l, double margin) {
    CHECK(l.known);
    CHECK(l.source == Source::kDatabase);
    CHECK(l.country == AU);
    CHECK(l.continent == OC);
    REQUIRE(l.has_coords);
    CHECK(l.lat == Approx(-33.87).margin(margin));
    CHECK(l.lon == Approx(151.21).margin(margin));
    CHECK(l.prefix_len == 24);
}

// Runs `check` on the database of each schema (city, dbip) for one family ("v4", "v6").
template <typename Check>
void for_both_schemas(const char* family, Check check) {
    for (const char* schema : {"city", "dbip"}) {
        const std::string file = std::string("test-") + schema + "-" + family + ".mmdb";
        INFO(file);
        Resolver r;
        r.open_database(db(file.c_str()));
        check(r);
    }
}

Location nets_location(char c0, char c1, double lat, double lon) {
    Location l;
    l.country = country_code(c0, c1);
    l.has_coords = true;
    l.lat = lat;
    l.lon = lon;
    return l;
}

}  // namespace

TEST_CASE("continent_of covers every ISO 3166-1 alpha-2 code", "[geo]") {
    const std::string all =
        "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO "
        "BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ "
        "DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP "
        "GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG "
        "KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML "
        "MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE "
        "PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL "
        "SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM "
        "US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";
    size_t n = 0;
    for (size_t i = 0; i + 1 < all.size(); i += 3) {
        INFO(all.substr(i, 2));
        CHECK(dnslb::geo::continent_of(country_code(all[i], all[i + 1])) != 0);
        ++n;
    }
    CHECK(n == 249);

    using dnslb::geo::continent_of;
    CHECK(continent_of(AU) == OC);
    CHECK(continent_of(DE) == EU);
    CHECK(continent_of(country_code('J', 'P')) == AS);
    CHECK(continent_of(country_code('U', 'S')) == country_code('N', 'A'));
    CHECK(continent_of(country_code('M', 'X')) == country_code('N', 'A'));
    CHECK(continent_of(country_code('B', 'R')) == country_code('S', 'A'));
    CHECK(continent_of(country_code('Z', 'A')) == country_code('A', 'F'));
    CHECK(continent_of(country_code('E', 'G')) == country_code('A', 'F'));
    CHECK(continent_of(country_code('A', 'Q')) == country_code('A', 'N'));
    CHECK(continent_of(country_code('R', 'U')) == EU);
    CHECK(continent_of(country_code('X', 'K')) == EU);
    CHECK(continent_of(0) == 0);
    CHECK(continent_of(country_code('Z', 'Z')) == 0);
    CHECK(continent_of(country_code('d', 'e')) == 0);
    CHECK(continent_of(country_code('1', '2')) == 0);
}

TEST_CASE("distance_km is the haversine great-circle distance", "[geo]") {
    using dnslb::geo::distance_km;
    CHECK(distance_km(50.11, 8.68, 50.11, 8.68) == Approx(0).margin(1e-9));
    // London - Paris, about 343.5 km.
    CHECK(distance_km(51.5074, -0.1278, 48.8566, 2.3522) == Approx(343.5).margin(1.0));
    // Antipodes: half the circumference of the 6371.0088 km sphere.
    CHECK(distance_km(0, 0, 0, 180) == Approx(20015.1).margin(0.5));
    CHECK(distance_km(90, 0, -90, 0) == Approx(20015.1).margin(0.5));
    // Symmetric, and across the antimeridian.
    CHECK(distance_km(-33.87, 151.21, 50.11, 8.68) ==
          Approx(distance_km(50.11, 8.68, -33.87, 151.21)));
    CHECK(distance_km(0, 179.5, 0, -179.5) == Approx(111.2).margin(0.5));
}

TEST_CASE("city schema, IPv4", "[geo]") {
    Resolver r;
    CHECK_FALSE(r.has_database());
    r.open_database(db("test-city-v4.mmdb"));
    CHECK(r.has_database());

    check_sydney(look(r, "1.1.1.1"), 0);

    // No continent in the record: derived from the country.
    const Location nz = look(r, "45.76.1.2");
    CHECK(nz.country == NZ);
    CHECK(nz.continent == OC);
    CHECK(nz.prefix_len == 16);

    // Country without coordinates.
    const Location fr = look(r, "2.17.3.4");
    CHECK(fr.known);
    CHECK(fr.country == FR);
    CHECK(fr.continent == EU);
    CHECK_FALSE(fr.has_coords);
    CHECK(fr.prefix_len == 13);

    // Not in the database.
    const Location none = look(r, "8.8.8.8");
    CHECK_FALSE(none.known);
    CHECK(none.source == Source::kNone);
    CHECK(none.country == 0);
    CHECK(none.prefix_len <= 32);
}

TEST_CASE("dbip schema, IPv4: flat fields, continent derived", "[geo]") {
    Resolver r;
    r.open_database(db("test-dbip-v4.mmdb"));
    check_sydney(look(r, "1.1.1.1"), 1e-4);  // coordinates stored as float

    const Location sa = look(r, "177.71.200.1");
    CHECK(sa.country == country_code('B', 'R'));
    CHECK(sa.continent == country_code('S', 'A'));
    CHECK(sa.lat == Approx(-23.55).margin(1e-4));
}

TEST_CASE("a more specific network narrows the scope", "[geo]") {
    for_both_schemas("v4", [](const Resolver& r) {
        const Location berlin = look(r, "5.9.77.5");
        CHECK(berlin.lat == Approx(52.52).margin(1e-4));
        CHECK(berlin.prefix_len == 24);
        // 5.9.0.0/16 minus 5.9.77.0/24: the MMDB network of 5.9.1.1 is 5.9.0.0/18.
        const Location fra = look(r, "5.9.1.1");
        CHECK(fra.lat == Approx(50.11).margin(1e-4));
        CHECK(fra.prefix_len == 18);
        // 5.9.64.0/21 is the network around 5.9.64.0; a /20 source caps the scope at 20.
        const Location capped = look(r, "5.9.77.5", 20);
        CHECK(capped.lat == Approx(50.11).margin(1e-4));
        CHECK(capped.prefix_len == 20);
        // Bits past the source prefix are ignored: 1.1.1.1/16 is looked up as 1.1.0.0.
        const Location wide = look(r, "1.1.1.1", 16);
        CHECK_FALSE(wide.known);
        CHECK(wide.prefix_len <= 16);
        const Location zero = look(r, "1.1.1.1", 0);
        CHECK(zero.prefix_len == 0);
    });
}

TEST_CASE("IPv6 databases, both schemas", "[geo]") {
    for_both_schemas("v6", [](const Resolver& r) {
        const Location berlin = look(r, "2a01:4f8:100::1");
        CHECK(berlin.source == Source::kDatabase);
        CHECK(berlin.country == DE);
        CHECK(berlin.continent == EU);
        CHECK(berlin.lat == Approx(52.52).margin(1e-4));
        CHECK(berlin.prefix_len == 48);
        const Location fra = look(r, "2a01:4f8:200::1");
        CHECK(fra.lat == Approx(50.11).margin(1e-4));
        CHECK(fra.prefix_len > 32);
        CHECK(fra.prefix_len < 48);
        const Location syd = look(r, "2400:cb00:1::1", 56);
        CHECK(syd.country == AU);
        CHECK(syd.continent == OC);
        CHECK(syd.prefix_len == 32);
        // Coordinates without a country.
        const Location lon = look(r, "2a00:1450::5");
        CHECK(lon.known);
        CHECK(lon.country == 0);
        CHECK(lon.has_coords);
        CHECK(lon.lat == Approx(51.51).margin(1e-4));
        // An IPv6 address outside every network.
        CHECK_FALSE(look(r, "2a02::1").known);
    });
}

TEST_CASE("IPv4 lookups in an IPv6 database use its IPv4 subtree", "[geo]") {
    Resolver city;
    city.open_database(db("test-city-v6.mmdb"));
    const Location l = look(city, "1.1.1.1");
    CHECK(l.country == AU);
    CHECK(l.prefix_len == 24);  // 120 IPv6 bits minus 96
    CHECK(look(city, "5.9.1.1").prefix_len == 18);

    // The dbip IPv6 file has no IPv4 subtree (like the real one): IPv4 stays unknown.
    Resolver dbip;
    dbip.open_database(db("test-dbip-v6.mmdb"));
    const Location none = look(dbip, "1.1.1.1");
    CHECK_FALSE(none.known);
    CHECK(describe(dbip, "1.1.1.1") == "unknown (no database for IPv4)");

    // Opened after it, the IPv4 file answers IPv4; the IPv6 one keeps IPv6.
    dbip.open_database(db("test-dbip-v4.mmdb"));
    CHECK(look(dbip, "1.1.1.1").country == AU);
    CHECK(look(dbip, "2a01:4f8::1").country == DE);
}

TEST_CASE("private and special-purpose addresses are unknown", "[geo]") {
    Resolver r;
    r.open_database(db("test-city-v4.mmdb"));
    r.open_database(db("test-city-v6.mmdb"));
    // The databases place 10.0.0.0/8 and fc00::/7 (New York); that must be ignored.
    const Location ten = look(r, "10.1.2.3");
    CHECK_FALSE(ten.known);
    CHECK(ten.source == Source::kNone);
    CHECK(ten.country == 0);
    CHECK_FALSE(ten.has_coords);
    CHECK(ten.prefix_len == 8);
    for (const char* a :
         {"127.0.0.1", "192.168.1.1", "172.16.5.4", "169.254.1.1", "100.64.0.1", "0.0.0.0",
          "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fd00::1", "fc00::1", "ff02::1",
          "::ffff:10.0.0.1", "::ffff:127.0.0.1", "2002:0a00:0001::1"}) {
        INFO(a);
        const Location l = look(r, a);
        CHECK_FALSE(l.known);
        CHECK(l.source == Source::kNone);
    }
    CHECK(look(r, "fc00::1").prefix_len == 7);
    CHECK(look(r, "::ffff:10.0.0.1").prefix_len == 104);
}

TEST_CASE("nets overrides take priority and bound the scope", "[geo]") {
    Resolver r;
    r.open_database(db("test-dbip-v4.mmdb"));
    r.open_database(db("test-dbip-v6.mmdb"));
    r.add_net("10.20.0.0/16", nets_location('D', 'E', 50.11, 8.68));
    r.add_net("10.20.5.0/24", nets_location('J', 'P', 35.68, 139.69));
    r.add_net("1.1.1.128/25", nets_location('D', 'E', 52.52, 13.40));
    Location only_country;
    only_country.country = FR;
    r.add_net("2a01:4f8:100:1::/64", only_country);

    const Location de = look(r, "10.20.3.4");
    CHECK(de.known);
    CHECK(de.source == Source::kNets);
    CHECK(de.country == DE);
    CHECK(de.continent == EU);  // derived
    CHECK(de.lat == Approx(50.11));
    // 10.20.3.4 and 10.20.5.0/24 first differ at bit 21: a /22 excludes the inner entry.
    CHECK(de.prefix_len == 22);
    CHECK(look(r, "10.20.200.1").prefix_len == 17);
    CHECK(look(r, "10.20.3.4", 16).prefix_len == 16);  // capped by the source prefix

    const Location jp = look(r, "10.20.5.9");
    CHECK(jp.country == country_code('J', 'P'));
    CHECK(jp.prefix_len == 24);
    CHECK(look(r, "10.20.5.9", 20).prefix_len == 20);

    // The nets entry beats the database (1.1.1.0/24 is Sydney there).
    const Location berlin = look(r, "1.1.1.200");
    CHECK(berlin.source == Source::kNets);
    CHECK(berlin.lat == Approx(52.52));
    CHECK(berlin.prefix_len == 25);
    // A database answer next to it must not claim the override's half of the /24.
    const Location syd = look(r, "1.1.1.5");
    CHECK(syd.source == Source::kDatabase);
    CHECK(syd.country == AU);
    CHECK(syd.prefix_len == 25);

    // IPv4-mapped addresses see IPv4 nets entries.
    const Location mapped = look(r, "::ffff:10.20.3.4");
    CHECK(mapped.source == Source::kNets);
    CHECK(mapped.country == DE);
    CHECK(mapped.prefix_len == 96 + 22);

    // IPv6 entry with a country only.
    const Location fr = look(r, "2a01:4f8:100:1::77");
    CHECK(fr.source == Source::kNets);
    CHECK(fr.country == FR);
    CHECK(fr.continent == EU);
    CHECK_FALSE(fr.has_coords);
    CHECK(fr.prefix_len == 64);
    const Location berlin6 = look(r, "2a01:4f8:100:2::1");
    CHECK(berlin6.source == Source::kDatabase);
    CHECK(berlin6.prefix_len == 63);  // the /48 minus the override's /64

    // Unknown answers are bounded too: 8.0.0.0/7 holds no nets entry, 8.0.0.0/6 would.
    const Location eight = look(r, "8.8.8.8");
    CHECK_FALSE(eight.known);
    CHECK(eight.prefix_len >= 7);
}

TEST_CASE("nets only, without a database", "[geo]") {
    Resolver r;
    r.add_net("10.20.0.0/16", nets_location('D', 'E', 50.11, 8.68));
    CHECK_FALSE(r.has_database());
    CHECK(look(r, "10.20.1.1").country == DE);
    const Location none = look(r, "8.8.8.8");
    CHECK_FALSE(none.known);
    CHECK(none.prefix_len == 7);  // 8/7 excludes 10.20/16 (they differ at bit 6)
    CHECK(look(r, "2a01::1").prefix_len == 0);
}

TEST_CASE("add_net rejects malformed networks", "[geo]") {
    Resolver r;
    const Location l = nets_location('D', 'E', 50.11, 8.68);
    CHECK_THROWS_AS(r.add_net("10.0.0.1/8", l), std::invalid_argument);
    CHECK_THROWS_AS(r.add_net("10.0.0.0/33", l), std::invalid_argument);
    CHECK_THROWS_AS(r.add_net("2001:db8::/129", l), std::invalid_argument);
    CHECK_THROWS_AS(r.add_net("10.0.0.0", l), std::invalid_argument);
    CHECK_THROWS_AS(r.add_net("10.0.0.0/", l), std::invalid_argument);
    CHECK_THROWS_AS(r.add_net("10.0.0.0/x", l), std::invalid_argument);
    CHECK_THROWS_AS(r.add_net("example/8", l), std::invalid_argument);
    r.add_net("10.0.0.0/8", l);
    CHECK_THROWS_AS(r.add_net("10.0.0.0/8", l), std::invalid_argument);
    CHECK_THROWS_WITH(r.add_net("10.1.0.0/8", l), Catch::Contains("10.0.0.0/8"));
}

TEST_CASE("mapped, 6to4 and Teredo addresses are looked up as IPv4", "[geo]") {
    Resolver r;
    r.open_database(db("test-city-v4.mmdb"));
    r.open_database(db("test-dbip-v6.mmdb"));

    const Location mapped = look(r, "::ffff:1.1.1.1");
    CHECK(mapped.country == AU);
    CHECK(mapped.prefix_len == 96 + 24);
    const Location mapped_src = look(r, "::ffff:5.9.77.5", 116);
    CHECK(mapped_src.lat == Approx(50.11));
    CHECK(mapped_src.prefix_len == 116);

    const Location six = look(r, "2002:0101:0101::1");
    CHECK(six.country == AU);
    CHECK(six.prefix_len == 16 + 24);
    CHECK(look(r, "2002:0101:0101::1", 48).prefix_len == 40);
    const Location six_wide = look(r, "2002:0509:4d05::1", 36);  // 5.9.77.5 with a /20 source
    CHECK(six_wide.lat == Approx(50.11));
    CHECK(six_wide.prefix_len == 36);

    // Teredo: client 1.1.1.1 is stored as fefe:fefe (RFC 4380); the scope is the source.
    const Location teredo = look(r, "2001:0:4136:e378:8000:63bf:fefe:fefe");
    CHECK(teredo.country == AU);
    CHECK(teredo.prefix_len == 128);
    const Location teredo_src = look(r, "2001:0:4136:e378:8000:63bf:fefe:fefe", 120);
    CHECK(teredo_src.country == AU);  // the low 8 bits do not matter inside 1.1.1.0/24
    CHECK(teredo_src.prefix_len == 120);
    // A source prefix that hides the client address entirely: not treated as Teredo.
    CHECK_FALSE(look(r, "2001:0:4136:e378:8000:63bf:fefe:fefe", 64).known);

    // 2001:200::/32 is not Teredo (2001:0::/32 only).
    CHECK(look(r, "2001:200::1").country == country_code('J', 'P'));
}

TEST_CASE("describe() explains the decision", "[geo]") {
    Resolver r;
    r.open_database(db("test-dbip-v4.mmdb"));
    r.open_database(db("test-city-v6.mmdb"));
    r.add_net("10.20.0.0/16", nets_location('D', 'E', 50.11, 8.68));

    CHECK(describe(r, "1.1.1.1") ==
          "database network 1.1.1.0/24 (test-dbip-v4.mmdb), country AU, continent OC, "
          "lat -33.87 lon 151.21; scope /24");
    CHECK(describe(r, "10.20.1.1") ==
          "nets 10.20.0.0/16: country DE, continent EU, lat 50.11 lon 8.68; scope /16");
    CHECK_THAT(describe(r, "8.8.8.8"), Catch::StartsWith("unknown (no database match)"));
    CHECK_THAT(describe(r, "192.168.0.1"), Catch::StartsWith("unknown (special-purpose"));
    CHECK(describe(r, "2a01:4f8:100::1") ==
          "database network 2a01:4f8:100::/48 (test-city-v6.mmdb), country DE, continent EU, "
          "lat 52.52 lon 13.40; scope /48");
    CHECK(describe(r, "2002:0101:0101::1") ==
          "6to4 address, looked up as 1.1.1.1: database network 1.1.1.0/24 (test-dbip-v4.mmdb), "
          "country AU, continent OC, lat -33.87 lon 151.21; scope /40");
}

TEST_CASE("open_database reports unusable files", "[geo]") {
    Resolver r;
    CHECK_THROWS_WITH(r.open_database(kDir + "/no-such.mmdb"), Catch::Contains("no-such.mmdb"));
    CHECK_THROWS_AS(r.open_database(kDir + "/no-such.mmdb"), std::runtime_error);
    // A file that is not a MaxMind database (this test binary's build directory has the
    // meson-generated files; the CSV source is not in it, so use the executable itself).
    CHECK_THROWS_AS(r.open_database("/proc/self/exe"), std::runtime_error);
    CHECK_FALSE(r.has_database());
}

TEST_CASE("lookup rejects bad input and does not allocate", "[geo]") {
    Resolver r;
    r.open_database(db("test-city-v4.mmdb"));
    r.open_database(db("test-city-v6.mmdb"));
    r.add_net("10.20.0.0/16", nets_location('D', 'E', 50.11, 8.68));
    const uint8_t four[4] = {1, 1, 1, 1};
    CHECK_FALSE(r.lookup(5, four, 32).known);
    CHECK_FALSE(r.lookup(4, nullptr, 32).known);
    CHECK(r.lookup(4, four, 200).prefix_len == 24);  // oversized source prefix is clamped

    const Addr addrs[] = {parse("1.1.1.1"),
                          parse("10.20.1.1"),
                          parse("2a01:4f8:100::1"),
                          parse("::ffff:5.9.1.1"),
                          parse("2002:0101:0101::1"),
                          parse("2001:0:4136:e378:8000:63bf:fefe:fefe"),
                          parse("fe80::1")};
    size_t known = 0;
    const size_t before = dnslb::test::allocations();
    for (int round = 0; round < 100; ++round) {
        for (const Addr& a : addrs) {
            known += r.lookup(a.family, a.bytes.data(), a.family == 4 ? 32 : 128).known ? 1 : 0;
        }
    }
    const size_t after = dnslb::test::allocations();
    CHECK(after == before);
    CHECK(known == 600);
}

TEST_CASE("default_location gives coordinates to askers that nothing places", "[geo]") {
    Resolver r;
    r.add_net("10.20.0.0/16", nets_location('D', 'E', 50.11, 8.68));
    r.set_default_location(35.68, 139.69);
    const Location placed = look(r, "10.20.1.1");
    CHECK(placed.source == Location::Source::kNets);
    CHECK(placed.lat == Approx(50.11));
    const Location unplaced = look(r, "8.8.8.8");
    CHECK_FALSE(unplaced.known);  // country and continent pools still do not match it
    CHECK(unplaced.has_coords);
    CHECK(unplaced.source == Location::Source::kDefault);
    CHECK(unplaced.lat == Approx(35.68));
    CHECK(unplaced.lon == Approx(139.69));
    CHECK(unplaced.prefix_len == 7);  // the scope is still that of the unplaced network
    Resolver without;
    CHECK_FALSE(look(without, "8.8.8.8").has_coords);
}
