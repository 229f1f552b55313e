// Zone loader: /pools and /monitors.
#include <catch2/catch.hpp>

#include "dnslb/zone/loader.hpp"
#include "tests/unit/zone/test_util.hpp"

namespace dnslb::zone::test {

using Catch::Matchers::StartsWith;

TEST_CASE("pool defaults and values", "[zone][pools]") {
    auto z = load(pool_zone());
    REQUIRE(z->pools.size() == 1);
    const Pool& p = z->pools[0];
    CHECK(p.name == "p");
    CHECK(p.steering == Steering::kProximity);
    CHECK(p.answers == 1);
    CHECK(p.ttl_s == 30);
    CHECK(p.ttl_degraded_s == 0);
    CHECK(p.min_healthy == 1);
    CHECK(p.fallback == -1);
    CHECK(p.all_down == AllDown::kReturnAll);
    CHECK(p.monitor == -1);
    REQUIRE(p.origins.size() == 2);
    CHECK(p.origins[0].name == "a");
    CHECK(p.origins[0].weight == 1);
    CHECK(p.origins[0].bias == 0);
    CHECK(p.origins[1].priority == 1);
    CHECK(p.origins[0].has_location);
    CHECK(p.origins[1].lon == 103);
    const Address& v4 = p.origins[1].addresses[0];
    CHECK(v4.family == 4);
    CHECK(v4.bytes[0] == 192);
    CHECK(v4.bytes[3] == 20);
    CHECK(v4.health == -1);
    const Address& v6 = p.origins[1].addresses[1];
    CHECK(v6.family == 6);
    CHECK(v6.bytes[0] == 0x20);
    CHECK(v6.bytes[15] == 0x20);
    CHECK(v6.text == "2001:db8::20");
    CHECK(p.geo_default == std::vector<uint16_t>{0, 1});
    CHECK(z->find(wire("app.z.test."))->pool == 0);
}

TEST_CASE("pool options", "[zone][pools]") {
    Json j = pool_zone();
    j["monitors"] = Json::parse(R"({ "m1": { "type": "tcp", "port": 443 },
                                     "m2": { "type": "http", "interval": "500ms",
                                             "timeout": "200ms" } })");
    Json& p = j["pools"]["p"];
    p["steering"] = "geo";
    p["answers"] = 2;
    p["ttl"] = "20s";
    p["ttl_degraded"] = 5;
    p["min_healthy"] = 2;
    p["all_down"] = "servfail";
    p["monitor"] = "m1";
    p["fallback"] = "q";  // defined later in the file
    p["origins"]["a"]["weight"] = 2.5;
    p["origins"]["a"]["bias"] = -40;
    p["origins"]["a"]["priority"] = 7;
    p["origins"]["b"]["monitor"] = "m2";
    p["geo"] = Json::parse(R"({ "countries": { "DE": ["a"], "SG": ["b", "a"] },
                                "continents": { "EU": ["a"] }, "default": ["b"] })");
    j["pools"]["q"] = Json::parse(R"({ "steering": "failover",
        "origins": { "x": { "addresses": ["203.0.113.5"] } } })");
    auto z = load(j);
    const Pool& pool = z->pools[0];
    CHECK(pool.steering == Steering::kGeo);
    CHECK(pool.answers == 2);
    CHECK(pool.ttl_s == 20);
    CHECK(pool.ttl_degraded_s == 5);
    CHECK(pool.min_healthy == 2);
    CHECK(pool.all_down == AllDown::kServFail);
    CHECK(pool.monitor == 0);
    CHECK(pool.fallback == 1);
    CHECK(pool.origins[0].weight == 2.5);
    CHECK(pool.origins[0].bias == -40);
    CHECK(pool.origins[0].priority == 7);
    CHECK(pool.origins[1].monitor == 1);
    CHECK(pool.geo_countries.at(country_code('D', 'E')) == std::vector<uint16_t>{0});
    CHECK(pool.geo_countries.at(country_code('S', 'G')) == std::vector<uint16_t>{1, 0});
    CHECK(pool.geo_continents.at(country_code('E', 'U')) == std::vector<uint16_t>{0});
    CHECK(pool.geo_default == std::vector<uint16_t>{1});
    CHECK(z->monitors.at(1).type == "http");
    CHECK(z->pools[1].steering == Steering::kFailover);
    CHECK_FALSE(z->pools[1].origins[0].has_location);

    for (const char* s : {"proximity", "weighted", "random"}) {
        Json k = pool_zone();
        k["pools"]["p"]["steering"] = s;
        CHECK_NOTHROW(load(k));
    }
    for (const char* s : {"return-all", "nodata"}) {
        Json k = pool_zone();
        k["pools"]["p"]["all_down"] = s;
        CHECK_NOTHROW(load(k));
    }
}

TEST_CASE("a pool name may carry other types and its own TTL", "[zone][pools]") {
    Json j = pool_zone();
    j["records"]["app"] = Json::parse(R"({ "pool": "p", "ttl": 10, "TXT": ["\"x\""] })");
    auto z = load(j);
    const Node* app = z->find(wire("app.z.test."));
    CHECK(app->pool == 0);
    CHECK(app->pool_ttl_s == 10);
    CHECK(app->find(dns::kTypeTXT)->ttl == 10);
    CHECK_FALSE(app->empty());
}

TEST_CASE("pool and monitor errors", "[zone][pools][errors]") {
    const BadChange cases[] = {
        {"/records/app/pool", R"("nope")", "/records/app/pool: unknown pool 'nope'"},
        {"/records/app/A", R"(["192.0.2.1"])", "/records/app/A: address records beside 'pool'"},
        {"/records/app/CNAME", R"(["x"])", "/records/app/pool: 'pool' beside CNAME"},
        {"/pools/p/steerng", R"("geo")", "/pools/p/steerng: unknown key 'steerng'"},
        {"/pools/p/origins/a/adresses", "[]", "/pools/p/origins/a/adresses: unknown key"},
        {"/pools/p/steering", R"("nearest")", "/pools/p/steering: unknown steering 'nearest'"},
        {"/pools/p/answers", "17", "/pools/p/answers: 17 is out of range 1..16"},
        {"/pools/p/ttl", R"("1500ms")", "/pools/p/ttl: a TTL is a whole number of seconds"},
        {"/pools/p/all_down", R"("drop")", "/pools/p/all_down: unknown all_down policy"},
        {"/pools/p/geo", R"({ "countries": { "DE": ["a", "zz"] } })",
         "/pools/p/geo/countries/DE/1: unknown origin 'zz'"},
        {"/pools/p/geo", R"({ "default": ["zz"] })", "/pools/p/geo/default/0: unknown origin 'zz'"},
        {"/pools/p/geo", R"({ "countries": { "de": ["a"] } })",
         "/pools/p/geo/countries/de: 'de' is not a country code"},
        {"/pools/p/geo", R"({ "continents": { "XX": ["a"] } })",
         "/pools/p/geo/continents/XX: 'XX' is not a continent code"},
        {"/pools/p/geo", R"({ "country": { "DE": ["a"] } })", "/pools/p/geo/country: unknown key"},
        {"/pools/p/fallback", R"("nope")", "/pools/p/fallback: unknown fallback pool 'nope'"},
        {"/pools/p/fallback", R"("p")", "/pools/p/fallback: fallback cycle: p -> p"},
        {"/pools/p/origins/a/lat", "91", "/pools/p/origins/a/lat: 91 is out of range -90"},
        {"/pools/p/origins/b/lon", "-180.5", "/pools/p/origins/b/lon: -180.5 is out of range"},
        {"/pools/p/origins/a/lon", nullptr, "/pools/p/origins/a/lat: lat and lon go together"},
        {"/pools/p/origins/a/weight", "0",
         "/pools/p/origins/a/weight: weight must be greater than 0"},
        {"/pools/p/origins/a/bias", "100", "/pools/p/origins/a/bias: 100 is out of range"},
        {"/pools/p/origins", nullptr, "/pools/p: pool 'p' has no 'origins'"},
        {"/pools/p/origins", "{}", "/pools/p/origins: expected a non-empty object"},
        {"/pools/p/origins/a/addresses", nullptr,
         "/pools/p/origins/a: origin 'a' has no 'addresses'"},
        {"/pools/p/origins/a/addresses", "[]",
         "/pools/p/origins/a/addresses: expected a non-empty list"},
        {"/pools/p/origins/b/addresses/1", R"("2001:db8::zz")",
         "/pools/p/origins/b/addresses/1: '2001:db8::zz' is not an IPv4 or IPv6"},
        {"/pools/p/origins/b/addresses/1", R"("192.0.2.20")",
         "/pools/p/origins/b/addresses/1: duplicate address"},
        {"/pools/p/monitor", R"("nope")", "/pools/p/monitor: unknown monitor 'nope'"},
        {"/pools/p/origins/b/monitor", R"("nope")",
         "/pools/p/origins/b/monitor: unknown monitor 'nope'"},
        {"/monitors", R"({ "m": { "port": 80 } })", "/monitors/m: monitor 'm' has no 'type'"},
        {"/monitors", R"({ "m": { "type": "icmp" } })",
         "/monitors/m/type: unknown monitor type 'icmp'"},
        {"/monitors", R"({ "m": { "type": "tcp", "port": 65536 } })",
         "/monitors/m/port: 65536 is out of range 1..65535"},
        {"/monitors", R"({ "m": { "type": "tcp", "interval": "2s", "timeout": 2 } })",
         "/monitors/m/timeout: timeout must be shorter than interval"},
        {"/monitors", R"({ "m": { "type": "tcp", "interval": "5 minutes" } })",
         "/monitors/m/interval: '5 minutes' is not a duration"},
        {"/monitors", R"({ "m": { "type": "tcp", "interval": 0 } })",
         "/monitors/m/interval: duration must be greater than zero"},
        {"/monitors", R"({ "m": { "type": "tcp", "rise": 0 } })",
         "/monitors/m/rise: 0 is out of range 1.."},
    };
    for (const auto& c : cases) {
        INFO(c.at << " = " << (c.value != nullptr ? c.value : "(removed)"));
        CHECK_THAT(load_error(changed(pool_zone(), c)),
                   StartsWith("t.json: " + std::string(c.expect)));
    }

    // A fallback cycle through three pools.
    Json j = pool_zone();
    const Json copy = j["pools"]["p"];  // ordered_json: inserting below invalidates references
    j["pools"]["q"] = copy;
    j["pools"]["r"] = copy;
    j["pools"]["p"]["fallback"] = "q";
    j["pools"]["q"]["fallback"] = "r";
    j["pools"]["r"]["fallback"] = "p";
    CHECK_THAT(load_error(j),
               StartsWith("t.json: /pools/p/fallback: fallback cycle: p -> q -> r -> p"));
}

TEST_CASE("pool warnings", "[zone][pools][warnings]") {
    std::vector<Diagnostic> w;
    Json j = pool_zone();
    load(j, &w);
    CHECK(has_warning(w, "/pools/p", "has no monitor"));
    CHECK_FALSE(has_warning(w, "/pools/p", "one origin"));

    w.clear();
    j["pools"]["p"]["origins"].erase("b");
    load(j, &w);
    CHECK(has_warning(w, "/pools/p", "one origin and no fallback"));

    w.clear();
    j = pool_zone();
    j["monitors"] = Json::parse(R"({ "m": { "type": "tcp", "port": 80 } })");
    j["pools"]["p"]["origins"]["a"]["monitor"] = "m";
    load(j, &w);
    CHECK(has_warning(w, "/pools/p/origins/b", "no monitor"));
    CHECK_FALSE(has_warning(w, "/pools/p/origins/a", "no monitor"));

    w.clear();
    j["pools"]["p"]["monitor"] = "m";
    load(j, &w);
    CHECK(w.empty());
}

}  // namespace dnslb::zone::test
