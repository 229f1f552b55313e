// Zone structures and helpers: RRset::render, NameHash, names, durations.
#include "dnslb/zone/zone.hpp"

#include <catch2/catch.hpp>

#include "dnslb/zone/loader.hpp"

namespace dnslb::zone {

using namespace std::string_literals;

TEST_CASE("RRset::render lays out TYPE CLASS TTL RDLENGTH RDATA per RR", "[zone][render]") {
    RRset r;
    r.type = dns::kTypeA;
    r.ttl = 300;
    r.rdata = {"\x01\x02\x03\x04"s, "\x05\x06\x07\x08"s};
    r.render();
    CHECK(r.wire ==
          "\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04\x01\x02\x03\x04"
          "\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04\x05\x06\x07\x08"s);
    CHECK(r.rr_offsets == std::vector<uint32_t>{0, 14});

    r.type = dns::kTypeTXT;
    r.ttl = 0x01020304;
    r.rdata = {""s};
    r.render();  // re-rendering replaces, never appends
    CHECK(r.wire == "\x00\x10\x00\x01\x01\x02\x03\x04\x00\x00"s);
    CHECK(r.rr_offsets == std::vector<uint32_t>{0});

    r.rdata.clear();
    r.render();
    CHECK(r.wire.empty());
    CHECK(r.rr_offsets.empty());
}

TEST_CASE("NameHash is stable and supports heterogeneous lookup", "[zone][hash]") {
    const NameHash h;
    const std::string a =
        "\x03www\x07"
        "example\x03"
        "com\x00"s;
    CHECK(h(a) == h(std::string_view(a)));
    CHECK(h(a) != h("\x03wwx\x07"
                    "example\x03"
                    "com\x00"s));
    CHECK(h(""s) != h("\x00"s));
    // Every length around the 8-byte word boundary hashes differently from its prefix.
    std::string s;
    size_t prev = h(s);
    for (int i = 0; i < 40; ++i) {
        s.push_back('a');
        const size_t cur = h(s);
        CHECK(cur != prev);
        prev = cur;
    }
    std::unordered_map<std::string, int, NameHash, NameEq> m;
    m.emplace(a, 1);
    CHECK(m.find(std::string_view(a)) != m.end());
}

TEST_CASE("name_to_wire and wire_to_text", "[zone][names]") {
    CHECK(name_to_wire("WWW.Example.COM.") ==
          "\x03www\x07"
          "example\x03"
          "com\x00"s);
    CHECK(name_to_wire(".") == "\x00"s);
    CHECK(name_to_wire("a\\.b.c.") ==
          "\x03"
          "a.b\x01"
          "c\x00"s);
    CHECK(name_to_wire("\\065b.") ==
          "\x02"
          "ab\x00"s);  // escapes fold case too (RFC 4343)
    CHECK(name_to_wire("*.x.") == "\x01*\x01x\x00"s);
    CHECK_THROWS_AS(name_to_wire("no-dot"), LoadError);
    CHECK_THROWS_AS(name_to_wire("a..b."), LoadError);
    CHECK_THROWS_AS(name_to_wire(".a."), LoadError);
    CHECK_THROWS_AS(name_to_wire(""), LoadError);
    CHECK_THROWS_AS(name_to_wire("a b."), LoadError);
    CHECK_THROWS_AS(name_to_wire("\\256."), LoadError);
    CHECK_THROWS_AS(name_to_wire(std::string(64, 'a') + "."), LoadError);
    CHECK_NOTHROW(name_to_wire(std::string(63, 'a') + "."));
    std::string long_name;
    for (int i = 0; i < 4; ++i) {
        long_name += std::string(63, 'a') + ".";
    }
    CHECK_THROWS_AS(name_to_wire(long_name), LoadError);  // 257 bytes

    CHECK(wire_to_text("\x03www\x07"
                       "example\x03"
                       "com\x00"s) == "www.example.com.");
    CHECK(wire_to_text("\x00"s) == ".");
    CHECK(wire_to_text(""s) == ".");
    CHECK(wire_to_text("\x03"
                       "a.b\x02"
                       "\x01 \x00"s) == "a\\.b.\\001\\032.");
    CHECK(wire_to_text("\x05"
                       "ab"s) == ".");  // truncated: never reads past the end
    CHECK(name_to_wire(wire_to_text("\x03"
                                    "a.b\x02"
                                    "\x01 \x00"s)) ==
          "\x03"
          "a.b\x02\x01 \x00"s);

    CHECK(is_subdomain(name_to_wire("a.b.c."), name_to_wire("b.c.")));
    CHECK(is_subdomain(name_to_wire("b.c."), name_to_wire("b.c.")));
    CHECK_FALSE(is_subdomain(name_to_wire("ab.c."), name_to_wire("b.c.")));
    CHECK_FALSE(is_subdomain(name_to_wire("c."), name_to_wire("b.c.")));
    CHECK(is_subdomain(name_to_wire("a."), name_to_wire(".")));
}

TEST_CASE("parse_duration_ms", "[zone][duration]") {
    CHECK(parse_duration_ms("500ms") == 500U);
    CHECK(parse_duration_ms("2s") == 2000U);
    CHECK(parse_duration_ms("1.5s") == 1500U);
    CHECK(parse_duration_ms("1m") == 60000U);
    CHECK(parse_duration_ms("1h") == 3600000U);
    CHECK(parse_duration_ms("1d") == 86400000U);
    CHECK(parse_duration_ms("30") == 30000U);
    CHECK(parse_duration_ms("0") == 0U);
    CHECK_FALSE(parse_duration_ms(""));
    CHECK_FALSE(parse_duration_ms("s"));
    CHECK_FALSE(parse_duration_ms("-1s"));
    CHECK_FALSE(parse_duration_ms("5x"));
    CHECK_FALSE(parse_duration_ms("5 s"));
    CHECK_FALSE(parse_duration_ms("1.2.3s"));
    CHECK_FALSE(parse_duration_ms(".5s"));
    CHECK_FALSE(parse_duration_ms("99999999999999999999d"));
}

}  // namespace dnslb::zone
