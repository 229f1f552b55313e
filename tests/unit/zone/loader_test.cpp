// Zone loader: example zones, records, names, structural checks and their messages.
#include "dnslb/zone/loader.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/unit/zone/test_util.hpp"

namespace dnslb::zone::test {

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using namespace std::string_literals;

namespace {

const RRset& rrset_at(const Zone& z, std::string_view name, uint16_t type) {
    const Node* node = z.find(wire(name));
    REQUIRE(node != nullptr);
    const RRset* rrset = node->find(type);
    REQUIRE(rrset != nullptr);
    return *rrset;
}

}  // namespace

TEST_CASE("the example zones load", "[zone][examples]") {
    std::vector<Diagnostic> warnings;
    auto lb = load_zone_file("zones/lb.example.com.json", &warnings);
    CHECK(lb->origin_text == "lb.example.com.");
    CHECK(lb->origin == wire("lb.example.com."));
    CHECK(lb->serial == 2026112701U);
    CHECK(lb->neg_ttl_s == 60);
    CHECK(lb->apex().find(dns::kTypeSOA) != nullptr);
    CHECK(lb->apex().find(dns::kTypeNS)->rdata.size() == 2);
    CHECK(lb->find(wire("child.lb.example.com."))->delegation);
    CHECK_FALSE(lb->apex().delegation);
    CHECK(lb->find(wire("child.lb.example.com."))->find(dns::kTypeDS) != nullptr);
    CHECK(lb->find(wire("*.tenant.lb.example.com.")) != nullptr);
    CHECK(lb->find(wire("deep.lb.example.com."))->empty());
    CHECK(lb->apex().find(65) != nullptr);  // HTTPS, RFC 9460

    REQUIRE(lb->pools.size() == 3);
    const Pool& web = lb->pools[0];
    CHECK(web.name == "web");
    REQUIRE(web.origins.size() == 6);
    const char* order[] = {"fra", "iad", "gru", "sgp", "syd", "jnb"};
    for (size_t i = 0; i < 6; ++i) {
        CHECK(web.origins[i].name == order[i]);
        CHECK(web.origins[i].priority == static_cast<int32_t>(i));
        CHECK(web.origins[i].addresses.size() == 2);
    }
    CHECK(web.fallback == 2);
    CHECK(lb->pools[2].name == "web-backup");
    CHECK(lb->pools[2].steering == Steering::kFailover);
    CHECK(lb->pools[2].ttl_s == 60);  // "1m"
    CHECK(lb->pools[1].steering == Steering::kGeo);
    REQUIRE(lb->monitors.size() == 1);
    CHECK(lb->monitors[0].name == "web-http");
    CHECK(lb->monitors[0].type == "http");
    CHECK(lb->monitors[0].spec.path == "/healthz");
    CHECK(web.monitor == -1);  // documentation addresses cannot be probed

    const Node* api = lb->find(wire("api.lb.example.com."));
    REQUIRE(api != nullptr);
    CHECK(api->pool == 0);
    CHECK(api->pool_ttl_s == 10);
    CHECK(lb->find(wire("app.lb.example.com."))->pool_ttl_s == 0);
    CHECK(lb->find(wire("geo.lb.example.com."))->pool == 1);
    CHECK(has_warning(warnings, "/pools/web", "no monitor"));

    auto org = load_zone_file("zones/example.org.json");
    CHECK(org->origin_text == "example.org.");
    CHECK(org->apex().find(dns::kTypeA) != nullptr);
    CHECK(rrset_at(*org, "docs.example.org.", dns::kTypeA).ttl == 60);
    // "@" in RDATA is the origin, as in a master file.
    CHECK(rrset_at(*org, "www.example.org.", dns::kTypeCNAME).rdata.at(0) ==
          "\x07"
          "example\x03org\x00"s);
}

TEST_CASE("$schema and $comment are accepted at the top level", "[zone]") {
    Json j = base_zone();
    j["$schema"] = "./zone.schema.json";
    j["$comment"] = "note";
    j["records"]["$comment"] = "note";
    j["records"]["ns1"]["$comment"] = "note";
    j["soa"]["$comment"] = "note";
    CHECK_NOTHROW(load(j));
    Json p = pool_zone();
    p["pools"]["$comment"] = "note";
    p["pools"]["p"]["origins"]["$comment"] = "note";
    p["monitors"] = Json{{"$comment", "note"}};
    auto z = load(p);
    CHECK(z->pools.size() == 1);
    CHECK(z->pools[0].origins.size() == 2);
    CHECK(z->monitors.empty());
}

TEST_CASE("SOA, defaults and record counts", "[zone]") {
    Json j = base_zone();
    j["ttl"] = 120;
    j["soa"]["minimum"] = 300;
    auto z = load(j);
    const RRset& soa = z->apex().rrsets.at(0);
    CHECK(soa.type == dns::kTypeSOA);
    CHECK(soa.ttl == 120);
    CHECK(z->neg_ttl_s == 120);   // min(SOA TTL, minimum), RFC 2308 section 5
    CHECK(z->record_count == 3);  // SOA, NS, A
    // mname and rname are relative to the origin.
    const std::string& rd = soa.rdata.at(0);
    const std::string names = "\x03ns1\x01z\x04test\x00\x0ahostmaster\x01z\x04test\x00"s;
    CHECK(rd.substr(0, names.size()) == names);
    CHECK(rd.size() == names.size() + 20);
    CHECK(rrset_at(*z, "ns1.z.test.", dns::kTypeA).ttl == 120);

    j = base_zone();
    j["soa"]["ttl"] = 30;
    CHECK(load(j)->neg_ttl_s == 30);
    CHECK(load(base_zone())->neg_ttl_s == 60);  // default minimum 60 < default TTL 3600
}

TEST_CASE("RDATA wire format", "[zone][rdata]") {
    Json j = base_zone();
    j["records"]["x"] = Json::parse(R"({
        "A": ["192.0.2.1"],
        "MX": ["10 Mail"],
        "TXT": ["\"a b\" c"],
        "CAA": ["0 issue \"ca.example\""],
        "AAAA": ["2001:db8::1"]
    })");
    j["records"]["_sip._tcp"] = Json::parse(R"({ "SRV": [ "10 20 5060 sip" ] })");
    j["records"]["c"] = Json::parse(R"({ "CNAME": [ "Target.Example.NET." ] })");
    auto z = load(j);
    CHECK(rrset_at(*z, "x.z.test.", dns::kTypeA).rdata.at(0) == "\xc0\x00\x02\x01"s);
    // Names in RDATA keep their case; relative ones take the origin.
    CHECK(rrset_at(*z, "x.z.test.", dns::kTypeMX).rdata.at(0) ==
          "\x00\x0a\x04Mail\x01z\x04test\x00"s);
    CHECK(rrset_at(*z, "x.z.test.", dns::kTypeTXT).rdata.at(0) ==
          "\x03"
          "a b\x01"
          "c"s);
    CHECK(rrset_at(*z, "x.z.test.", 257).rdata.at(0) == "\x00\x05issueca.example"s);
    CHECK(rrset_at(*z, "x.z.test.", dns::kTypeAAAA).rdata.at(0) ==
          "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"s);
    CHECK(rrset_at(*z, "_sip._tcp.z.test.", dns::kTypeSRV).rdata.at(0) ==
          "\x00\x0a\x00\x14\x13\xc4\x03sip\x01z\x04test\x00"s);
    CHECK(rrset_at(*z, "c.z.test.", dns::kTypeCNAME).rdata.at(0) ==
          "\x06Target\x07"
          "Example\x03NET\x00"s);
    // render() ran: TYPE CLASS TTL RDLENGTH RDATA.
    const RRset& a = rrset_at(*z, "x.z.test.", dns::kTypeA);
    CHECK(a.wire == "\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04\xc0\x00\x02\x01"s);
}

TEST_CASE("record sets with their own TTL and generic types", "[zone]") {
    Json j = base_zone();
    j["records"]["x"] = Json::parse(R"({
        "a": { "ttl": 60, "rdata": ["192.0.2.1", "192.0.2.2"] },
        "TYPE65000": ["\\# 2 abcd"]
    })");
    auto z = load(j);
    const RRset& a = rrset_at(*z, "x.z.test.", dns::kTypeA);
    CHECK(a.ttl == 60);
    CHECK(a.rdata.size() == 2);
    CHECK(rrset_at(*z, "x.z.test.", 65000).rdata.at(0) == "\xab\xcd"s);
}

TEST_CASE("owner names: case, absolute names, apex, wildcards", "[zone][names]") {
    Json j = base_zone();
    j["records"]["WWW"] = Json::parse(R"({ "A": ["192.0.2.7"] })");
    j["records"]["abs.z.test."] = Json::parse(R"({ "A": ["192.0.2.8"] })");
    j["records"]["*.tenant"] = Json::parse(R"({ "A": ["192.0.2.9"] })");
    j["records"]["@"]["TXT"] = Json::array({"\"apex\""});
    auto z = load(j);
    CHECK(z->find("\x03www\x01z\x04test\x00"s) != nullptr);
    CHECK(z->find("\x03"
                  "abs\x01z\x04test\x00"s) != nullptr);
    const Node* wild = z->find("\x01*\x06tenant\x01z\x04test\x00"s);
    REQUIRE(wild != nullptr);
    CHECK(wild->find(dns::kTypeA) != nullptr);
    const Node* tenant = z->find("\x06tenant\x01z\x04test\x00"s);
    REQUIRE(tenant != nullptr);
    CHECK(tenant->empty());
    CHECK(z->apex().find(dns::kTypeTXT) != nullptr);
}

TEST_CASE("empty non-terminals are created up to the origin", "[zone][ent]") {
    Json j = base_zone();
    j["records"]["a.b.c.deep"] = Json::parse(R"({ "TXT": ["\"x\""] })");
    auto z = load(j);
    for (const char* name : {"b.c.deep.z.test.", "c.deep.z.test.", "deep.z.test."}) {
        const Node* node = z->find(wire(name));
        REQUIRE(node != nullptr);
        CHECK(node->empty());
        CHECK(node->name == wire(name));
    }
    CHECK_FALSE(z->find(wire("a.b.c.deep.z.test."))->empty());
    CHECK(z->nodes.size() == 6);  // apex, ns1, a.b.c.deep, b.c.deep, c.deep, deep
}

TEST_CASE("the node index finds exactly the names of the node table", "[zone][index]") {
    // 3,000 owners at several depths (so empty non-terminals too), names of every length from
    // one label to near the 255-byte limit, and a moved zone: the index must agree with the
    // table for every node and find nothing for names that are not there.
    Json j = base_zone();
    for (int i = 0; i < 3000; ++i) {
        std::string owner = "h" + std::to_string(i);
        if (i % 3 == 1) {
            owner += ".sub" + std::to_string(i % 7);
        }
        if (i % 500 == 0) {
            owner = std::string(63, 'a' + static_cast<char>(i / 500)) + "." + std::string(63, 'b') +
                    "." + std::string(60, 'c') + "." + owner;
        }
        j["records"][owner] = Json{{"A", Json::array({"192.0.2.7"})}};
    }
    auto loaded = load(j);
    REQUIRE(loaded->index.built());
    const Zone z = std::move(*loaded);  // the index moves with the table it points into
    CHECK(z.nodes.size() > 3000);
    size_t found = 0;
    for (const auto& [name, node] : z.nodes) {
        const Node* hit = z.find(name);
        found += hit == &node ? 1 : 0;
        // Same bytes one byte shorter (another name's prefix) and one longer: no match.
        CHECK(z.find(std::string_view(name).substr(0, name.size() - 1)) == nullptr);
        CHECK(z.find(name + "x") == nullptr);
    }
    CHECK(found == z.nodes.size());
    CHECK(z.find(wire("h1.sub1.z.test.")) != nullptr);
    CHECK(z.find(wire("sub1.z.test."))->empty());  // an empty non-terminal is a node
    CHECK(z.find(wire("h3000.z.test.")) == nullptr);
    CHECK(z.find(wire("H1.z.test.")) == nullptr);  // keys are lower-cased: callers lower first
    CHECK(z.find("") == nullptr);
    CHECK(z.find(wire("z.test.")) == &z.apex());
}

TEST_CASE("delegations and glue", "[zone][cut]") {
    Json j = base_zone();
    j["records"]["child"] = Json::parse(R"({ "NS": ["ns.child", "ns.other.example."],
        "DS": ["12345 13 2 2bb183af5f22588179a53b0a98631fad1a292118ad3aae0e2eb08b26c1b7e3e8"] })");
    j["records"]["ns.child"] = Json::parse(R"({ "A": ["192.0.2.99"] })");
    auto z = load(j);
    CHECK(z->find(wire("child.z.test."))->delegation);
    CHECK_FALSE(z->find(wire("ns.child.z.test."))->delegation);

    SECTION("occluded data below a cut") {
        j["records"]["x.child"] = Json::parse(R"({ "TXT": ["\"hidden\""] })");
        CHECK_THAT(load_error(j), StartsWith("t.json: /records/x.child: ") &&
                                      Contains("below the zone cut at 'child.z.test.'"));
    }
    SECTION("an address below a cut that no NS names") {
        j["records"]["www.child"] = Json::parse(R"({ "A": ["192.0.2.5"] })");
        CHECK_THAT(load_error(j), StartsWith("t.json: /records/www.child: "));
    }
    SECTION("non-glue data beside the glue") {
        j["records"]["ns.child"]["TXT"] = Json::array({"\"x\""});
        CHECK_THAT(load_error(j), StartsWith("t.json: /records/ns.child: "));
    }
    SECTION("other data at the delegation point") {
        j["records"]["child"]["TXT"] = Json::array({"\"x\""});
        CHECK_THAT(load_error(j),
                   StartsWith("t.json: /records/child/TXT: ") && Contains("delegation point"));
    }
    SECTION("missing glue") {
        j["records"].erase("ns.child");
        CHECK_THAT(load_error(j),
                   StartsWith("t.json: /records/child/NS/0: ") && Contains("no glue"));
    }
    SECTION("DS away from a delegation") {
        j["records"]["ns1"]["DS"] = j["records"]["child"]["DS"];
        CHECK_THAT(load_error(j), StartsWith("t.json: /records/ns1/DS: "));
    }
}

TEST_CASE("load errors name the file, the pointer and the reason", "[zone][errors]") {
    const BadChange cases[] = {
        {"/origin", nullptr, "/origin: missing 'origin'"},
        {"/origin", R"("z.test")", "/origin: name 'z.test' is not absolute"},
        {"/origin", "5", "/origin: expected a string"},
        {"/soa", nullptr, "/soa: missing 'soa'"},
        {"/soa/serial", nullptr, "/soa: missing 'serial'"},
        {"/records/www.other.test.", R"({ "A": ["192.0.2.1"] })",
         "/records/www.other.test.: 'www.other.test.' is outside the zone z.test."},
        {"/records/www", R"({ "CNAME": ["app"], "TXT": ["\"x\""] })",
         "/records/www/CNAME: CNAME beside other data"},
        {"/records/www", R"({ "CNAME": ["a", "b"] })", "/records/www/CNAME/1: more than one CNAME"},
        {"/records/@/CNAME", R"(["elsewhere.example."])",
         "/records/@/CNAME: CNAME at the zone apex"},
        {"/ttl", "2147483648", "/ttl: 2147483648 is out of range 0..2147483647"},
        {"/records/ns1/A", R"({ "ttl": -1, "rdata": ["192.0.2.1"] })",
         "/records/ns1/A/ttl: -1 is out of range"},
        {"/records/ns1/A", R"({ "ttl": 1.5, "rdata": ["192.0.2.1"] })",
         "/records/ns1/A/ttl: expected an integer"},
        {"/ttl", R"("3600")", "/ttl: a TTL is an integer number of seconds"},
        {"/records/www", R"({ "A": ["192.0.2.1", "300.1.1.1"] })",
         "/records/www/A/1: '300.1.1.1' is not an IPv4 address"},
        {"/records/www", R"({ "MX": { "ttl": 5, "rdata": ["10"] } })",
         "/records/www/MX/rdata/0: bad MX RDATA '10': "},
        // Two addresses in one RDATA string.
        {"/records/www", R"({ "A": ["192.0.2.1 192.0.2.2"] })",
         "/records/www/A/0: '192.0.2.1 192.0.2.2' is not an IPv4 address"},
        {"/records/www", R"({ "AAAA": ["192.0.2.1"] })",
         "/records/www/AAAA/0: '192.0.2.1' is not an IPv6 address"},
        // The reason comes from ldns.
        {"/records/www", R"({ "SRV": ["10 20 sip"] })",
         "/records/www/SRV/0: bad SRV RDATA '10 20 sip': "},
        {"/records/www", R"({ "A": [1] })", "/records/www/A/0: expected a string"},
        {"/records/www", R"({ "A": [] })", "/records/www/A: empty record set"},
        {"/records/www", R"({ "AAA": ["192.0.2.1"] })", "/records/www/AAA: unknown RR type 'AAA'"},
        {"/records/www", R"({ "ANY": ["192.0.2.1"] })",
         "/records/www/ANY: 'ANY' is not a data type"},
        {"/records/@/SOA", R"(["ns1 hostmaster 1 2 3 4 5"])",
         "/records/@/SOA: SOA belongs in the top-level 'soa' object"},
        {"/records/www", R"({ "A": ["192.0.2.1", "192.0.2.1"] })",
         "/records/www/A/1: duplicate RDATA"},
        // One name written twice, relative and absolute.
        {"/records/ns1.z.test.", R"({ "TXT": ["\"x\""] })",
         "/records/ns1.z.test.: the same name as /records/ns1"},
        // The same type written in another case.
        {"/records/ns1/a", R"(["192.0.2.2"])", "/records/ns1/a: a is given twice"},
        {"/recrods", "{}", "/recrods: unknown key 'recrods'"},
        {"/soa/minumum", "5", "/soa/minumum: unknown key"},
        {"/records/ns1/A", R"({ "tll": 5, "rdata": ["192.0.2.1"] })",
         "/records/ns1/A/tll: unknown key"},
        {"/records/a.*.b", R"({ "A": ["192.0.2.1"] })",
         "/records/a.*.b: '*' is a wildcard only as the leftmost label"},
        {"/records/a..b", R"({ "A": ["192.0.2.1"] })", "/records/a..b: empty label"},
        // A key with a slash is escaped in the pointer (RFC 6901).
        {"/records/a~1b", R"({ "AX": ["x"] })", "/records/a~1b/AX: unknown RR type"},
        {"", "[]", "a zone file is a JSON object"},
    };
    for (const auto& c : cases) {
        INFO(c.at << " = " << (c.value != nullptr ? c.value : "(removed)"));
        CHECK_THAT(load_error(changed(base_zone(), c)),
                   StartsWith("t.json: " + std::string(c.expect)));
    }
}

// JSON text written by hand: a key given twice keeps the position of its first occurrence and
// takes the value of the last one (as nlohmann::ordered_json's own parser did), in `records`
// as in any other object; the records are read in file order either way.
TEST_CASE("a key given twice: first position, last value", "[zone][duplicates]") {
    const std::string head =
        R"({"origin": "z.test.", "soa": {"mname": "ns1", "rname": "h", "serial": 1}, )";
    SECTION("a record name") {
        auto z = load_zone_text(head + R"("records": {"@": {"NS": ["ns1"]},
            "ns1": {"A": ["192.0.2.1"]}, "www": {"A": ["192.0.2.7"]},
            "www": {"AAAA": ["2001:db8::7"]}}})",
                                "t.json");
        const Node* www = z->find("\3www\1z\4test\0"s);
        REQUIRE(www != nullptr);
        CHECK(www->find(dns::kTypeA) == nullptr);
        CHECK(www->find(dns::kTypeAAAA) != nullptr);
        CHECK(z->record_count == 4);  // SOA, NS, A, AAAA
    }
    SECTION("the first value is not checked, the last one is, at the first position") {
        CHECK_NOTHROW(load_zone_text(head + R"("records": {"@": {"NS": ["ns1"]},
            "ns1": {"A": ["192.0.2.1"]}, "www": {"A": ["bad"]}, "www": {"A": ["192.0.2.7"]}}})",
                                     "t.json"));
        CHECK_THROWS_WITH(
            load_zone_text(head + R"("records": {"@": {"NS": ["ns1"]}, "www": {"A": ["1.2.3.4"]},
                "x": {"A": ["bad-x"]}, "www": {"A": ["bad-www"]}}})",
                           "t.json"),
            StartsWith("t.json: /records/www/A/0: 'bad-www' is not an IPv4 address"));
    }
    SECTION("the records object itself") {
        CHECK_THROWS_WITH(
            load_zone_text(head + R"("records": {"@": {"NS": ["ns1"]}, "a": {"A": ["bad"]}},
                "records": {"@": {"NS": ["ns1"]}, "b": {"A": ["bad-b"]}}})",
                           "t.json"),
            StartsWith("t.json: /records/b/A/0: 'bad-b' is not an IPv4 address"));
    }
    SECTION("an origin keeps its place in the failover order") {
        auto z = load_zone_text(head + R"("pools": {"p": {"steering": "failover", "origins": {
            "a": {"addresses": ["192.0.2.10"]}, "b": {"addresses": ["192.0.2.20"]},
            "a": {"addresses": ["192.0.2.30"]}}}},
            "records": {"@": {"NS": ["ns1"]}, "ns1": {"A": ["192.0.2.1"]}}})",
                                "t.json");
        REQUIRE(z->pools.size() == 1);
        REQUIRE(z->pools[0].origins.size() == 2);
        CHECK(z->pools[0].origins[0].name == "a");
        CHECK(z->pools[0].origins[0].addresses[0].text == "192.0.2.30");
        CHECK(z->pools[0].origins[1].name == "b");
    }
}

TEST_CASE("JSON syntax errors give line and column", "[zone][errors]") {
    const std::string text = "{\n  \"origin\": \"z.test.\",\n  \"ttl\": 3600,,\n}";
    try {
        load_zone_text(text, "t.json");
        FAIL("no error");
    } catch (const LoadError& e) {
        CHECK_THAT(e.what(), StartsWith("t.json: line 3, column 15: syntax error"));
    }
    CHECK_THROWS_WITH(load_zone_file("/nonexistent/zone.json"),
                      StartsWith("/nonexistent/zone.json: cannot open"));
}

TEST_CASE("warnings for risky but legal zones", "[zone][warnings]") {
    Json j = base_zone();
    j["records"]["long"] = Json::parse(R"({ "TXT": { "ttl": 2000000, "rdata": ["\"x\""] } })");
    std::vector<Diagnostic> w;
    load(j, &w);
    CHECK(has_warning(w, "/records/long/TXT", "above the SOA expire"));
    CHECK(w.size() == 1);
    CHECK(w[0].file == "t.json");

    w.clear();
    load(base_zone(), &w);
    CHECK(w.empty());

    w.clear();
    j = base_zone();
    j["records"]["@"].erase("NS");
    load(j, &w);
    CHECK(has_warning(w, "/records", "apex has no NS"));

    // A failed load leaves the caller's list alone.
    w.clear();
    j["ttl"] = -5;
    CHECK_THROWS_AS(load(j, &w), LoadError);
    CHECK(w.empty());
}

TEST_CASE("load_zone_dir loads the good zones and reports the bad ones", "[zone][dir]") {
    namespace fs = std::filesystem;
    const fs::path dir =
        fs::temp_directory_path() / ("dnslb-zone-test-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    auto write = [&](const std::string& name, const std::string& text) {
        std::ofstream(dir / name) << text;
    };
    Json second = base_zone();
    second["origin"] = "y.test.";
    write("b-good.json", base_zone().dump());
    write("a-bad.json", "{ \"origin\": ");
    write("c-good.json", second.dump());
    write("d-dup.json", base_zone().dump());  // same origin as b-good.json
    write("zone.schema.json", "{ \"not\": \"a zone\" }");
    write("notes.txt", "not json");

    DirResult r = load_zone_dir(dir.string());
    REQUIRE(r.zones.size() == 2);
    CHECK(r.zones[0]->origin_text == "z.test.");
    CHECK(r.zones[0]->file == (dir / "b-good.json").string());
    CHECK(r.zones[1]->origin_text == "y.test.");
    REQUIRE(r.errors.size() == 2);
    CHECK_THAT(r.errors[0], StartsWith((dir / "a-bad.json").string() + ": line 1"));
    CHECK_THAT(r.errors[1], StartsWith((dir / "d-dup.json").string() + ": /origin: ") &&
                                Contains("already loaded from"));
    REQUIRE(r.failed_files.size() == 2);
    CHECK(r.failed_files[0] == (dir / "a-bad.json").string());
    CHECK(r.failed_files[1] == (dir / "d-dup.json").string());
    fs::remove_all(dir);

    DirResult missing = load_zone_dir((dir / "nope").string());
    CHECK(missing.zones.empty());
    CHECK(missing.errors.size() == 1);

    DirResult shipped = load_zone_dir("zones");
    CHECK(shipped.errors.empty());
    CHECK(shipped.zones.size() == 2);
}

}  // namespace dnslb::zone::test

namespace dnslb::zone::test {

TEST_CASE("the schema is JSON Schema 2020-12 and the examples refer to it", "[zone][schema]") {
    std::ifstream in("zones/zone.schema.json");
    REQUIRE(in);
    const Json schema = Json::parse(in);
    CHECK(schema["$schema"] == "https://json-schema.org/draft/2020-12/schema");
    // Every top-level key the loader accepts is described.
    for (const char* key :
         {"$schema", "$comment", "origin", "ttl", "soa", "records", "pools", "monitors"}) {
        CHECK(schema["properties"].contains(key));
    }
    for (const char* file : {"zones/lb.example.com.json", "zones/example.org.json"}) {
        std::ifstream z(file);
        REQUIRE(z);
        CHECK(Json::parse(z)["$schema"] == "./zone.schema.json");
    }
}

// e273bb5: nlohmann::json reports a number too large for a double as out_of_range, not as a
// parse_error; it escaped the loader as an uncaught exception (found by fuzz-zone).
TEST_CASE("regression: a number too large for a double (1e400) escaped the zone loader",
          "[zone][regression]") {
    const char* text = R"({"origin": "x.example.", "ttl": 1e400})";
    CHECK_THROWS_AS(load_zone_text(text, "big.json"), LoadError);
    CHECK_THROWS_WITH(load_zone_text(text, "big.json"), Contains("big.json"));
}

}  // namespace dnslb::zone::test
