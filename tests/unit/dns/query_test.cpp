#include "dnslb/dns/query.hpp"

#include <catch2/catch.hpp>

#include <vector>

using namespace dnslb::dns;

namespace {

std::vector<uint8_t> make_query(const std::vector<uint8_t>& qname, uint16_t qtype,
                                const std::vector<uint8_t>& additional = {}, uint16_t arcount = 0,
                                uint16_t qdcount = 1) {
    std::vector<uint8_t> p = {0x12, 0x34, 0x01, 0x00, 0, static_cast<uint8_t>(qdcount),
                              0,    0,    0,    0,    0, static_cast<uint8_t>(arcount)};
    p.insert(p.end(), qname.begin(), qname.end());
    p.push_back(static_cast<uint8_t>(qtype >> 8));
    p.push_back(static_cast<uint8_t>(qtype));
    p.push_back(0);
    p.push_back(1);
    p.insert(p.end(), additional.begin(), additional.end());
    return p;
}

const std::vector<uint8_t> kWww = {3, 'W', 'w', 'W', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};

std::vector<uint8_t> opt(const std::vector<uint8_t>& options, uint8_t version = 0,
                         uint16_t size = 1232) {
    std::vector<uint8_t> o = {0,
                              0,
                              41,
                              static_cast<uint8_t>(size >> 8),
                              static_cast<uint8_t>(size),
                              0,
                              version,
                              0x80,
                              0,
                              static_cast<uint8_t>(options.size() >> 8),
                              static_cast<uint8_t>(options.size())};
    o.insert(o.end(), options.begin(), options.end());
    return o;
}

std::vector<uint8_t> ecs(uint16_t family, uint8_t source, std::vector<uint8_t> addr) {
    std::vector<uint8_t> e = {
        0, 8, 0, static_cast<uint8_t>(4 + addr.size()), 0, static_cast<uint8_t>(family), source, 0};
    e.insert(e.end(), addr.begin(), addr.end());
    return e;
}

// The query in `p`, which must parse; its qname points into `p`.
Query parsed(const std::vector<uint8_t>& p) {
    Query q;
    REQUIRE(parse_query(p.data(), p.size(), q) == ParseStatus::kOk);
    return q;
}

}  // namespace

TEST_CASE("a plain query parses with its question lower-cased and its case kept") {
    const auto p = make_query(kWww, 1);
    const Query q = parsed(p);
    CHECK(q.id == 0x1234);
    CHECK(q.qtype == 1);
    CHECK(q.qclass == 1);
    CHECK(q.qname_len == kWww.size());
    CHECK(q.qname[1] == 'W');
    CHECK(q.qname_lower[1] == 'w');
    CHECK(q.qname_lower[3] == 'w');
    CHECK(q.qname_labels == 2);
    CHECK(q.qname_label_at[0] == 0);
    CHECK(q.qname_label_at[1] == 4);
    CHECK(q.qname_label_at[2] == 12);  // the root
    CHECK(q.question_end == 12 + kWww.size() + 4);
    CHECK_FALSE(q.edns);
    CHECK(q.udp_size == 512);
}

TEST_CASE("a question cut short is FORMERR, with or without its name") {
    auto p = make_query(kWww, 1);
    for (size_t cut = 12; cut < p.size(); ++cut) {
        Query q;
        CHECK(parse_query(p.data(), cut, q) == ParseStatus::kFormErr);
        CHECK(q.question_end == 0);
    }
    const auto r = make_query({0}, 2);
    const Query q = parsed(r);
    CHECK(q.qname_len == 1);
    CHECK(q.qname_labels == 0);
    CHECK(q.qtype == 2);
}

TEST_CASE("short packets and responses are dropped") {
    auto p = make_query(kWww, 1);
    Query q;
    CHECK(parse_query(p.data(), 11, q) == ParseStatus::kDrop);
    p[2] |= 0x80;
    CHECK(parse_query(p.data(), p.size(), q) == ParseStatus::kDrop);
}

TEST_CASE("QDCOUNT other than one and broken questions are FORMERR") {
    Query q;
    auto zero = make_query(kWww, 1, {}, 0, 0);
    CHECK(parse_query(zero.data(), zero.size(), q) == ParseStatus::kFormErr);
    auto two = make_query(kWww, 1, {}, 0, 2);
    CHECK(parse_query(two.data(), two.size(), q) == ParseStatus::kFormErr);
    auto p = make_query(kWww, 1);
    CHECK(parse_query(p.data(), 12 + 5, q) == ParseStatus::kFormErr);
    auto compressed = make_query({0xC0, 0x0C}, 1);
    CHECK(parse_query(compressed.data(), compressed.size(), q) == ParseStatus::kFormErr);
}

TEST_CASE("opcodes other than QUERY are NOTIMP") {
    auto p = make_query(kWww, 6);
    p[2] = 0x20;  // opcode 4, NOTIFY
    Query q;
    CHECK(parse_query(p.data(), p.size(), q) == ParseStatus::kNotImp);
    CHECK(q.question_end != 0);
}

TEST_CASE("EDNS: size, version, two OPTs") {
    Query q;
    auto one = make_query(kWww, 1, opt({}, 0, 4096), 1);
    REQUIRE(parse_query(one.data(), one.size(), q) == ParseStatus::kOk);
    CHECK(q.edns);
    CHECK(q.udp_size == 4096);
    CHECK(q.dnssec_ok);
    auto small = make_query(kWww, 1, opt({}, 0, 100), 1);
    REQUIRE(parse_query(small.data(), small.size(), q) == ParseStatus::kOk);
    CHECK(q.udp_size == 512);  // RFC 6891 6.2.3: below 512 is treated as 512
    auto v1 = make_query(kWww, 1, opt({}, 1), 1);
    CHECK(parse_query(v1.data(), v1.size(), q) == ParseStatus::kBadVers);
    auto both = opt({});
    auto second = opt({});
    both.insert(both.end(), second.begin(), second.end());
    auto twice = make_query(kWww, 1, both, 2);
    CHECK(parse_query(twice.data(), twice.size(), q) == ParseStatus::kFormErr);
    auto unknown = make_query(kWww, 1, opt({0xFD, 0xE9, 0, 2, 0xAB, 0xCD}), 1);
    CHECK(parse_query(unknown.data(), unknown.size(), q) == ParseStatus::kOk);
}

TEST_CASE("ECS options are validated as RFC 7871 section 7.1.1 asks") {
    Query q;
    auto ok = make_query(kWww, 1, opt(ecs(1, 24, {1, 1, 1})), 1);
    REQUIRE(parse_query(ok.data(), ok.size(), q) == ParseStatus::kOk);
    REQUIRE(q.has_ecs);
    CHECK(q.ecs.family == 1);
    CHECK(q.ecs.source_prefix == 24);
    CHECK(q.ecs.address[2] == 1);
    CHECK(q.ecs.address[3] == 0);
    auto v6 = make_query(kWww, 1, opt(ecs(2, 56, {0x24, 0, 0xcb, 0, 0, 0, 0})), 1);
    REQUIRE(parse_query(v6.data(), v6.size(), q) == ParseStatus::kOk);
    CHECK(q.ecs.family == 2);
    auto zero = make_query(kWww, 1, opt(ecs(1, 0, {})), 1);
    REQUIRE(parse_query(zero.data(), zero.size(), q) == ParseStatus::kOk);
    CHECK(q.ecs.source_prefix == 0);
    auto too_long = make_query(kWww, 1, opt(ecs(1, 33, {1, 1, 1, 1, 1})), 1);
    CHECK(parse_query(too_long.data(), too_long.size(), q) == ParseStatus::kFormErr);
    auto bad_family = make_query(kWww, 1, opt(ecs(3, 8, {1})), 1);
    CHECK(parse_query(bad_family.data(), bad_family.size(), q) == ParseStatus::kFormErr);
    auto stray_bits = make_query(kWww, 1, opt(ecs(1, 23, {1, 1, 1})), 1);
    CHECK(parse_query(stray_bits.data(), stray_bits.size(), q) == ParseStatus::kFormErr);
    auto wrong_len = make_query(kWww, 1, opt(ecs(1, 24, {1, 1, 1, 0})), 1);
    CHECK(parse_query(wrong_len.data(), wrong_len.size(), q) == ParseStatus::kFormErr);
}

TEST_CASE("a name longer than 255 bytes is FORMERR") {
    std::vector<uint8_t> name;
    for (int i = 0; i < 5; ++i) {
        name.push_back(63);
        name.insert(name.end(), 63, 'a');
    }
    name.push_back(0);
    auto p = make_query(name, 1);
    Query q;
    CHECK(parse_query(p.data(), p.size(), q) == ParseStatus::kFormErr);
}

TEST_CASE("word-at-a-time lower-casing agrees with ascii_lower on every byte") {
    for (unsigned b = 0; b < 256; ++b) {
        for (unsigned pos = 0; pos < 8; ++pos) {
            uint8_t in[8] = {'A', 'z', '@', '[', 0x80, 0xC1, 'Q', '0'};
            in[pos] = static_cast<uint8_t>(b);
            uint8_t out[8];
            copy_lower(out, in, 8);
            for (unsigned i = 0; i < 8; ++i) {
                REQUIRE(out[i] == ascii_lower(in[i]));
            }
        }
    }
    uint8_t in[13] = {3, 'W', 'w', 'W', 7, 'E', 'X', 'a', 'M', 'p', 'L', 'e', 0};
    uint8_t out[13];
    copy_lower(out, in, sizeof(in));
    for (size_t i = 0; i < sizeof(in); ++i) {
        CHECK(out[i] == ascii_lower(in[i]));
    }
    uint8_t label_at[kMaxLabels + 1];
    REQUIRE(name_labels(out, sizeof(out), label_at) == 2);
    CHECK(label_at[0] == 0);
    CHECK(label_at[1] == 4);
    CHECK(label_at[2] == 12);
}
