// The planner, the demand tables and the demand book.
#include "dnslb/plan/plan.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "dnslb/answer/demand.hpp"
#include "dnslb/plan/demand_book.hpp"
#include "dnslb/plan/input.hpp"

using namespace dnslb;

namespace {

// Along the equator a great-circle distance is the radius times the longitude difference:
// an independent check of the planner's haversine.
double equator_km(double dlon_deg) { return 6371.0088 * dlon_deg * M_PI / 180.0; }
double rtt(double km) { return 2 * km * 1.5 / 200.0; }

const geo::CountryCode kEU = geo::country_code('E', 'U');
const geo::CountryCode kAS = geo::country_code('A', 'S');

const plan::Row& row(const plan::Result& r, const std::string& continent) {
    for (const auto& w : r.rows) {
        if (w.continent == continent) {
            return w;
        }
    }
    FAIL("no row " << continent);
    return r.rows.front();
}

}  // namespace

TEST_CASE("the planner's before/after table, by continent, against hand-computed numbers") {
    const std::vector<plan::Site> before = {{"a", 0, 0}, {"b", 0, 90}};
    const std::vector<plan::Point> demand = {
        {0, 10, kEU, 3},  // a at 10 degrees; after: a (c is 20 away)
        {0, 20, kEU, 1},  // a at 20; after: c at 10
        {0, 40, kEU, 6},  // a at 40; after: c at 10
        {0, 80, kAS, 2},  // b at 10
        {0, 65, kAS, 2},  // b at 25 (c at 35)
    };
    const std::vector<plan::Site> after = plan::apply(before, {{"c", 0, 30}}, {});
    REQUIRE(after.size() == 3);
    const plan::Result r = plan::compute(demand, before, after, 1.5);
    REQUIRE(r.rows.size() == 3);  // AS, EU, all

    // EU, weights 3, 1, 6 at 10, 20, 40 degrees: the median (5 of 10) and p90 (9 of 10) are 40.
    const plan::Row& eu = row(r, "EU");
    CHECK(eu.queries == 10);
    CHECK(eu.median_before_km == Approx(equator_km(40)));
    CHECK(eu.p90_before_km == Approx(equator_km(40)));
    CHECK(eu.median_after_km == Approx(equator_km(10)));
    CHECK(eu.p90_after_km == Approx(equator_km(10)));
    CHECK(eu.changed_share == Approx(0.7));
    CHECK(rtt(eu.median_before_km) == Approx(66.7).epsilon(0.001));

    // AS: 2 at 10 and 2 at 25 degrees, unchanged by c.
    const plan::Row& as = row(r, "AS");
    CHECK(as.queries == 4);
    CHECK(as.median_before_km == Approx(equator_km(10)));
    CHECK(as.p90_before_km == Approx(equator_km(25)));
    CHECK(as.median_after_km == Approx(equator_km(10)));
    CHECK(as.changed_share == 0);

    // All 14: before 10(5) 20(1) 25(2) 40(6): median (7th) 25, p90 (12.6th) 40;
    // after 10(12) 25(2): median 10, p90 25. 7 of 14 change origin.
    const plan::Row& all = row(r, "all");
    CHECK(all.queries == 14);
    CHECK(all.median_before_km == Approx(equator_km(25)));
    CHECK(all.p90_before_km == Approx(equator_km(40)));
    CHECK(all.median_after_km == Approx(equator_km(10)));
    CHECK(all.p90_after_km == Approx(equator_km(25)));
    CHECK(all.changed_share == Approx(0.5));

    std::string table = plan::render_table(r);
    CHECK(table.find("EU") != std::string::npos);
    CHECK(table.find("70.0%") != std::string::npos);
    std::string svg = plan::render_svg(r, "pool <web>");
    CHECK(svg.rfind("<svg", 0) == 0);
    CHECK(svg.find("pool &lt;web&gt;") != std::string::npos);
    CHECK(svg.find("<web>") == std::string::npos);
    auto j = nlohmann::json::parse(plan::render_json(r, before, after));
    CHECK(j["rows"].size() == 3);
    CHECK(j["after"].size() == 3);
}

TEST_CASE("removing an origin sends its askers to the next nearest") {
    const std::vector<plan::Site> before = {{"a", 0, 0}, {"b", 0, 90}};
    const std::vector<plan::Point> demand = {{0, 10, kEU, 1}, {0, 80, kAS, 1}};
    const plan::Result r = plan::compute(demand, before, plan::apply(before, {}, {"a"}));
    CHECK(row(r, "EU").median_after_km == Approx(equator_km(80)));
    CHECK(row(r, "EU").changed_share == 1);
    CHECK(row(r, "AS").changed_share == 0);
    CHECK_THROWS_WITH(plan::apply(before, {}, {"zz"}), Catch::Contains("zz"));
}

TEST_CASE("sites and networks parse, and bad ones are refused with the place") {
    plan::Site s = plan::parse_site("tok:35.68,139.69");
    CHECK(s.name == "tok");
    CHECK(s.lat == Approx(35.68));
    CHECK(s.lon == Approx(139.69));
    CHECK_THROWS(plan::parse_site("tok:95,10"));
    CHECK_THROWS(plan::parse_site("tok"));
    CHECK_THROWS(plan::parse_site("tok:1,x"));

    std::istringstream list("# comment\n192.0.2.0/24 5\n2001:db8::/32\n");
    auto nets = plan::nets_from_list(list, "nets.txt");
    REQUIRE(nets.size() == 2);
    CHECK(nets[0].count == 5);
    CHECK(nets[0].prefix == 24);
    CHECK(nets[1].family == 6);
    std::istringstream bad("192.0.2.0/24\n192.0.2.0/33\n");
    CHECK_THROWS_WITH(plan::nets_from_list(bad, "nets.txt"), Catch::StartsWith("nets.txt:2:"));

    std::istringstream log(
        "x info  query client=192.0.2.0/24 ecs name=app.example. type=A rcode=NOERROR pool=web "
        "origin=fra scope=24 transport=udp\n"
        "x info  query client=198.51.100.7/32 name=app.example. type=A rcode=NOERROR pool=other "
        "origin=fra scope=0 transport=udp\n");
    auto logged = plan::nets_from_query_log(log, "web");
    REQUIRE(logged.size() == 1);
    CHECK(logged[0].prefix == 24);
}

TEST_CASE("a demand table counts per network and origin, switches halves, counts drops") {
    server::DemandTable t(16);
    const uint8_t a[16] = {192, 0, 2, 7};
    const uint8_t b[16] = {192, 0, 2, 200};  // the same /24
    const uint8_t c[16] = {198, 51, 100, 1};
    t.record(4, a, 24, 1);
    t.record(4, b, 24, 1);
    t.record(4, c, 24, 1);
    t.record(4, c, 24, 2);
    std::map<std::pair<int, int>, uint64_t> seen;  // (third byte, slot) -> count
    auto sink = [&](const server::DemandEntry& e) {
        CHECK(e.addr[3] == 0);  // masked to the prefix
        seen[{e.addr[2], e.slot}] += e.count;
    };
    CHECK(t.collect(sink));  // drains the idle half, asks for a switch
    CHECK(seen.empty());
    CHECK_FALSE(t.collect(sink));  // the query thread has not switched yet
    t.quiesce();
    CHECK(t.collect(sink));
    CHECK(seen[{2, 1}] == 2);
    CHECK(seen[{100, 1}] == 1);
    CHECK(seen[{100, 2}] == 1);
    // Full: 16 slots, distinct networks beyond them are dropped and counted.
    for (int i = 0; i < 40; ++i) {
        const uint8_t n[16] = {10, static_cast<uint8_t>(i), 0, 0};
        t.record(4, n, 16, 1);
    }
    CHECK(t.dropped() >= 40 - 16);
}

TEST_CASE("the demand book merges, bounds, exports and saves its demand") {
    plan::DemandBook book(3);
    book.name_origin(0, "example.com.", "web", "fra");
    book.name_origin(1, "example.com.", "web", "syd\"x");
    uint8_t n1[16] = {192, 0, 2, 0};
    uint8_t n2[16] = {198, 51, 100, 0};
    uint8_t n3[16] = {203, 0, 113, 0};
    uint8_t n4[16] = {10, 0, 0, 0};
    book.add(4, n1, 24, 0, 5, nullptr);
    book.add(4, n1, 24, 0, 2, nullptr);
    book.add(4, n2, 24, 1, 1, nullptr);
    book.add(4, n3, 24, 1, 1, nullptr);
    book.add(4, n4, 8, 1, 4, nullptr);  // a fourth entry: over the bound
    CHECK(book.entries() == 3);
    CHECK(book.dropped() == 4);
    auto j = nlohmann::json::parse(book.json());
    CHECK(j["networks"].size() == 3);
    CHECK(j["origins"][0]["answers"] == 7);
    std::string m = book.metrics();
    CHECK(m.find("dnslb_demand_answers_total{zone=\"example.com.\",pool=\"web\",origin=\"fra\","
                 "continent=\"--\"} 7") != std::string::npos);
    CHECK(m.find("origin=\"syd\\\"x\"") != std::string::npos);  // label escaped
    book.tick(1000000);
    book.tick(1000000 + plan::DemandBook::kBucketMs);
    CHECK(nlohmann::json::parse(book.json())["history"].size() == 1);

    const std::string file = "plan_test_demand.json";
    book.save(file);
    plan::DemandBook again(10);
    again.name_origin(0, "example.com.", "web", "fra");
    again.load(file, nullptr);
    CHECK(again.entries() == 1);  // syd"x is not an origin of `again`: its networks are left out
    auto k = nlohmann::json::parse(again.json());
    CHECK(k["networks"][0]["net"] == "192.0.2.0/24");
    CHECK(k["networks"][0]["queries"] == 7);
    std::remove(file.c_str());
    {
        std::FILE* f = std::fopen(file.c_str(), "w");
        std::fputs("{\"networks\": [{\"net\": \"x\"}]}", f);
        std::fclose(f);
    }
    CHECK_THROWS_WITH(again.load(file, nullptr), Catch::Contains("/networks/0"));
    std::remove(file.c_str());
}
