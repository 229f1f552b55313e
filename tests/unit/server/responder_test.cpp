// The responder fed real queries, then 100,000+ random, mutated and truncated packets: it must
// never crash, never read out of bounds (run under ASan in CI) and never allocate, also with
// the defences, the geo databases and the decision cache of a real query thread.
#include "dnslb/answer/responder.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "dnslb/answer/demand.hpp"
#include "dnslb/answer/query_log.hpp"
#include "dnslb/base/ldns.hpp"
#include "dnslb/control/sign.hpp"
#include "dnslb/zone/loader.hpp"
#include "probes/health_table.hpp"
#include "tests/support/counting_alloc.hpp"
#include "tests/support/packets.hpp"
#include "tests/support/query_thread.hpp"
#include "tests/support/zone_text.hpp"

using namespace dnslb;
using dnslb::test::v4;

namespace {

std::string test_zone() {
    return test::zone_text("test.example.", 3600, {},
                           R"(
    "@": { "NS": ["ns1"], "MX": ["10 mail"], "TXT": ["\"v=spf1 -all\""] },
    "ns1": { "A": ["192.0.2.53"], "AAAA": ["2001:db8::53"] },
    "mail": { "A": ["192.0.2.25"] },
    "www": { "CNAME": ["app"] },
    "app": { "pool": "web" },
    "*.wild": { "A": ["192.0.2.80"] },
    "a.b.deep": { "A": ["192.0.2.81"] },
    "child": { "NS": ["ns.child"] },
    "ns.child": { "A": ["192.0.2.99"] },
    )" + test::txt_record("big", {104, 104, 102, 102, 102, 102}),
                           R"(
  "pools": {
    "web": { "steering": "failover", "origins": {
      "fra": { "addresses": ["198.51.100.10", "2001:db8:f::10"], "lat": 50.11, "lon": 8.68 },
      "sgp": { "addresses": ["198.51.100.20"], "lat": 1.35, "lon": 103.82 } } }
  })");
}

server::Snapshot make_snapshot() {
    server::Snapshot s;
    s.zones.emplace_back(zone::load_zone_text(test_zone(), "test.json"));
    s.index();
    return s;
}

// With EDNS: a 1232-byte UDP size and ECS 10.11.12.0/24.
std::vector<uint8_t> query(const char* name, ldns_rr_type type, bool edns) {
    test::QuerySpec spec;
    if (edns) {
        spec.edns_udp_size = 1232;
        spec.options_hex = "00080007000118000a0b0c";
    }
    auto out = test::make_query(name, type, spec);
    REQUIRE(!out.empty());
    return out;
}

}  // namespace

TEST_CASE("responses to well-formed queries parse back with ldns") {
    auto snap = make_snapshot();
    server::Stats stats;
    server::QueryContext ctx{stats};
    server::ClientAddress client;
    std::vector<uint8_t> out(65535);
    struct Case {
        const char* name;
        ldns_rr_type type;
        ldns_pkt_rcode rcode;
        size_t answers;
    };
    const Case cases[] = {
        {"ns1.test.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 1},
        {"www.test.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 2},
        {"x.wild.test.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 1},
        {"b.deep.test.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 0},
        {"nope.test.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, 0},
        {"other.example.", LDNS_RR_TYPE_A, LDNS_RCODE_REFUSED, 0},
    };
    for (const auto& c : cases) {
        for (bool edns : {false, true}) {
            auto q = query(c.name, c.type, edns);
            size_t n = server::respond(snap, q.data(), q.size(), client, server::Transport::kUdp,
                                       out.data(), out.size(), ctx);
            REQUIRE(n > 0);
            ldns_pkt* resp = nullptr;
            REQUIRE(ldns_wire2pkt(&resp, out.data(), n) == LDNS_STATUS_OK);
            INFO(c.name << " edns=" << edns);
            CHECK(ldns_pkt_get_rcode(resp) == c.rcode);
            CHECK(ldns_pkt_ancount(resp) == c.answers);
            CHECK(ldns_pkt_id(resp) == 4242);
            CHECK(ldns_pkt_qr(resp));
            CHECK(ldns_pkt_edns(resp) == edns);
            ldns_pkt_free(resp);
        }
    }
}

namespace {

// Proximity and geo pools, one of them monitored with an origin down (fallback and health run).
std::string pool_zone() {
    return test::zone_text("lb.example.", 3600, {.serial = 2, .minimum = 60}, R"(
    "@": { "NS": ["ns1"] },
    "ns1": { "A": ["192.0.2.53"] },
    "near": { "pool": "near" },
    "geo": { "pool": "geo" })",
                           R"(
  "pools": {
    "near": { "steering": "proximity", "answers": 2, "fallback": "geo", "monitor": "m",
      "origins": {
        "fra": { "addresses": ["198.51.100.10", "2001:db8:10::10"], "lat": 50.11, "lon": 8.68 },
        "iad": { "addresses": ["198.51.100.20", "2001:db8:20::20"], "lat": 38.95, "lon": -77.45 },
        "syd": { "addresses": ["198.51.100.50"], "lat": -33.87, "lon": 151.21 } } },
    "geo": { "steering": "geo",
      "origins": { "fra": { "addresses": ["198.51.100.10"] },
                   "iad": { "addresses": ["198.51.100.20", "2001:db8:20::20"] } },
      "geo": { "countries": { "DE": ["fra"] }, "continents": { "NA": ["iad"] },
               "default": ["iad", "fra"] } }
  },
  "monitors": { "m": { "type": "tcp", "port": 80 } })");
}

// A query with EDNS options given as hex (ECS, COOKIE), built before any counting starts.
std::vector<uint8_t> query_opts(const char* name, ldns_rr_type type, const std::string& hex,
                                uint8_t version = 0) {
    auto out = test::make_query(name, type, {4343, 1232, version, hex});
    REQUIRE(!out.empty());
    return out;
}

std::string hex_of(const uint8_t* b, size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < n; ++i) {
        out += digits[b[i] >> 4];
        out += digits[b[i] & 15];
    }
    return out;
}

// A query thread's whole context: a snapshot with geo databases, health and every defence on,
// its guard, the shared attack switch, a decision cache and a query log ring.
struct Thread : test::QueryThread {
    probes::HealthTable health{64};
    server::Snapshot snap;
    server::QueryLogRing log{1.0, 5};
    server::DemandTable demand{64};  // small: some answers find it full and are dropped

    Thread() : QueryThread(4096) {
        snap.zones.emplace_back(zone::load_zone_text(test_zone(), "test.json"));
        auto pools = zone::load_zone_text(pool_zone(), "pools.json");
        int32_t slot = 0;
        for (auto& pool : pools->pools) {
            for (auto& origin : pool.origins) {
                origin.counter = slot++;  // as the control thread assigns them
            }
        }
        test::attach_health(*pools, health, [](const zone::Pool& pool, const zone::Origin& origin) {
            return origin.name == "fra" && pool.name == "near";
        });
        snap.zones.emplace_back(std::move(pools));
        snap.health = &health;
        snap.geo = test::city_resolver(DNSLB_TEST_GEODB_DIR);
        test::enable_defences(snap.options.guard, 5, true, 200);
        snap.index();
        ctx.log = &log;
        ctx.demand = &demand;
    }
};

struct Packet {
    std::vector<uint8_t> wire;
    server::ClientAddress client;
    server::Transport transport = server::Transport::kUdp;
};

// Queries that reach every branch of respond() with the defences on: cookies (client only,
// valid, invalid: BADCOOKIE under attack), RRL (sent, slipped, dropped), ECS into geo and
// proximity pools (cache hits and misses), NXDOMAIN, referral, ANY, truncation, FORMERR,
// NOTIMP, BADVERS, a dropped response packet, and TCP (no guard).
std::vector<Packet> branch_corpus(Thread& w) {
    const server::ClientAddress berlin = v4(5, 9, 77, 1);
    const server::ClientAddress sydney = v4(1, 1, 1, 9);
    server::ClientAddress v6client;
    v6client.family = 6;
    const uint8_t frankfurt6[] = {0x2a, 0x01, 0x04, 0xf8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    std::memcpy(v6client.bytes, frankfurt6, 16);
    const uint8_t client_cookie[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t server_cookie[16];
    w.guard.make_server_cookie(w.snap.options.guard.cookies, client_cookie, 4, berlin.bytes,
                               test::kNowS, server_cookie);
    const std::string cc = hex_of(client_cookie, 8);
    const std::string valid = "000a0018" + cc + hex_of(server_cookie, 16);
    const std::string invalid = "000a0018" + cc + std::string(32, 'e');
    const std::string client_only = "000a0008" + cc;
    const std::string ecs_sydney = "0008000700011800010101";     // 1.1.1.0/24
    const std::string ecs_ashburn = "000800070001100003500000";  // 3.80.0.0/16
    std::vector<uint8_t> two_questions = query("ns1.test.example.", LDNS_RR_TYPE_A, false);
    two_questions[5] = 2;  // QDCOUNT 2: FORMERR
    std::vector<uint8_t> status_opcode = query("ns1.test.example.", LDNS_RR_TYPE_A, false);
    status_opcode[2] |= 0x10;  // opcode 2 (STATUS): NOTIMP
    std::vector<uint8_t> response = query("ns1.test.example.", LDNS_RR_TYPE_A, false);
    response[2] |= 0x80;  // QR=1: dropped
    const auto udp = server::Transport::kUdp;
    const auto tcp = server::Transport::kTcp;
    std::vector<Packet> c = {
        {query("ns1.test.example.", LDNS_RR_TYPE_A, true), berlin, udp},
        {query("WWW.test.example.", LDNS_RR_TYPE_AAAA, false), berlin, udp},
        {query("q.wild.test.example.", LDNS_RR_TYPE_MX, true), sydney, udp},
        {query("nope.test.example.", LDNS_RR_TYPE_A, false), berlin, udp},
        {query("x.child.test.example.", LDNS_RR_TYPE_A, false), berlin, udp},
        {query("big.test.example.", LDNS_RR_TYPE_TXT, false), berlin, udp},
        {query("big.test.example.", LDNS_RR_TYPE_TXT, true), sydney, udp},
        {query("test.example.", LDNS_RR_TYPE_ANY, true), berlin, udp},
        {query("other.example.", LDNS_RR_TYPE_A, false), berlin, udp},
        {query_opts("near.lb.example.", LDNS_RR_TYPE_A, ecs_sydney), berlin, udp},
        {query_opts("near.lb.example.", LDNS_RR_TYPE_A, ecs_ashburn), berlin, udp},
        {query_opts("geo.lb.example.", LDNS_RR_TYPE_A, ecs_ashburn), sydney, udp},
        {query_opts("geo.lb.example.", LDNS_RR_TYPE_AAAA, ""), v6client, udp},
        {query_opts("near.lb.example.", LDNS_RR_TYPE_AAAA, ""), v6client, udp},
        {query_opts("big.test.example.", LDNS_RR_TYPE_TXT, client_only), berlin, udp},
        {query_opts("big.test.example.", LDNS_RR_TYPE_TXT, valid), berlin, udp},
        {query_opts("ns1.test.example.", LDNS_RR_TYPE_A, invalid), berlin, udp},
        {query_opts("near.lb.example.", LDNS_RR_TYPE_A, valid + ecs_sydney), berlin, udp},
        {query_opts("ns1.test.example.", LDNS_RR_TYPE_A, "", 1), berlin, udp},
        {two_questions, berlin, udp},
        {status_opcode, berlin, udp},
        {response, berlin, udp},
        {query("big.test.example.", LDNS_RR_TYPE_TXT, false), berlin, tcp},
        {query_opts("near.lb.example.", LDNS_RR_TYPE_A, valid + ecs_ashburn), berlin, tcp},
        {query("x.child.test.example.", LDNS_RR_TYPE_A, true), sydney, tcp},
    };
    return c;
}

struct Tally {
    uint64_t allocations = 0;
    uint64_t answered = 0;
    uint64_t slipped = 0, rrl_dropped = 0, badcookie = 0, valid = 0, invalid = 0, client_only = 0,
             cookie_exempt = 0, truncated = 0, referrals = 0, pool_answers = 0, ecs = 0,
             cache_hits = 0, cache_misses = 0, formerr = 0, notimp = 0, badvers = 0, nxdomain = 0,
             dropped = 0, logged = 0, demand = 0;
};

uint64_t get(const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); }

// `rounds` passes over the corpus as a worker makes them, 50 ms apart (RRL refills a little).
Tally run_rounds(Thread& w, const std::vector<Packet>& corpus, int rounds, uint64_t& now_ms) {
    std::vector<uint8_t> out(65535);
    const server::Stats& st = w.stats;
    auto snap_counters = [&] {
        Tally t;
        t.slipped = get(w.guard.rrl_counters.slipped);
        t.rrl_dropped = get(w.guard.rrl_counters.dropped);
        t.cookie_exempt = get(w.guard.rrl_counters.exempt_cookie);
        t.badcookie = get(w.guard.cookie_counters.badcookie);
        t.valid = get(w.guard.cookie_counters.valid);
        t.invalid = get(w.guard.cookie_counters.invalid);
        t.client_only = get(w.guard.cookie_counters.client_only);
        t.truncated = get(st.truncated);
        t.referrals = get(st.referrals);
        t.pool_answers = get(st.pool_answers);
        t.ecs = get(st.ecs);
        t.cache_hits = w.cache.hits();
        t.cache_misses = w.cache.misses();
        t.formerr = get(st.rcodes[1]);
        t.notimp = get(st.rcodes[4]);
        t.nxdomain = get(st.rcodes[3]);
        t.badvers = get(st.rcodes[16]);
        t.dropped = get(st.dropped);
        return t;
    };
    Tally before = snap_counters();
    Tally t;
    dnslb::test::AllocationWindow window;
    for (int round = 0; round < rounds; ++round) {
        now_ms += 50;
        w.ctx.now_ms = now_ms;
        for (const auto& p : corpus) {
            size_t n = server::respond(w.snap, p.wire.data(), p.wire.size(), p.client, p.transport,
                                       out.data(), out.size(), w.ctx);
            t.answered += n > 0;
        }
        // The control thread's side, as it drains every 100 ms (not counted: another thread).
        if (round % 2 == 1) {
            uint64_t a = window.count();
            w.log.drain([&t](const server::QueryLogRecord&) { ++t.logged; });
            w.demand.collect([&t](const server::DemandEntry& e) { t.demand += e.count; });
            t.allocations -= window.count() - a;
        }
        w.demand.quiesce();  // the query thread, between batches
    }
    t.allocations += window.count();
    Tally after = snap_counters();
    t.slipped = after.slipped - before.slipped;
    t.rrl_dropped = after.rrl_dropped - before.rrl_dropped;
    t.cookie_exempt = after.cookie_exempt - before.cookie_exempt;
    t.badcookie = after.badcookie - before.badcookie;
    t.valid = after.valid - before.valid;
    t.invalid = after.invalid - before.invalid;
    t.client_only = after.client_only - before.client_only;
    t.truncated = after.truncated - before.truncated;
    t.referrals = after.referrals - before.referrals;
    t.pool_answers = after.pool_answers - before.pool_answers;
    t.ecs = after.ecs - before.ecs;
    t.cache_hits = after.cache_hits - before.cache_hits;
    t.cache_misses = after.cache_misses - before.cache_misses;
    t.formerr = after.formerr - before.formerr;
    t.notimp = after.notimp - before.notimp;
    t.nxdomain = after.nxdomain - before.nxdomain;
    t.badvers = after.badvers - before.badvers;
    t.dropped = after.dropped - before.dropped;
    return t;
}

}  // namespace

TEST_CASE("the responder does not allocate once warm, with every defence, geo and the cache") {
    {
        dnslb::test::AllocationWindow probe;  // the counter itself sees an allocation
        auto p = std::make_unique<int>(1);
        REQUIRE(probe.count() == 1);
    }
    Thread w;
    const std::vector<Packet> corpus = branch_corpus(w);
    uint64_t now_ms = 1000000;
    for (bool attack : {false, true}) {
        w.attack.manual = attack;
        run_rounds(w, corpus, 2, now_ms);  // warm-up
        Tally t = run_rounds(w, corpus, 500, now_ms);
        INFO("under attack: " << attack);
        CHECK(t.allocations == 0);
        // Every branch was taken inside the counted window.
        CHECK(t.answered > 500 * 5);
        CHECK(t.slipped > 0);
        CHECK(t.rrl_dropped > 0);
        CHECK(t.cookie_exempt > 0);
        CHECK(t.valid > 0);
        CHECK(t.invalid > 0);
        CHECK(t.client_only > 0);
        CHECK(t.truncated > 0);
        CHECK(t.referrals > 0);
        CHECK(t.pool_answers > 0);
        CHECK(t.ecs > 0);
        CHECK(t.cache_hits > 0);
        CHECK(t.formerr > 0);
        CHECK(t.notimp > 0);
        CHECK(t.badvers > 0);
        CHECK(t.nxdomain > 0);
        CHECK(t.dropped >= 500);
        CHECK(t.logged > 0);
        CHECK(t.demand > 0);
        if (attack) {
            CHECK(t.badcookie > 0);
        } else {
            CHECK(t.badcookie == 0);
        }
    }
}

// DNSSEC answers append stored signatures and proofs: still no allocation, and every kind of
// signed answer (positive, pool, CNAME into a pool, NXDOMAIN, NODATA, wildcard, referral, ANY,
// DNSKEY) carries an RRSIG.
TEST_CASE("the responder does not allocate once warm for DO=1 queries to a signed zone") {
    char dir[] = "/tmp/dnslb-keys-XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    auto z = zone::load_zone_text(test_zone(), "test.json");
    z->dnssec.on = true;
    server::sign_zone(*z, dir, test::kNowS);
    REQUIRE(z->is_signed);
    test::QueryThread w(64);
    server::Snapshot snap;
    snap.zones.emplace_back(std::move(z));
    snap.index();
    std::vector<std::vector<uint8_t>> corpus;
    for (const auto& [name, type] : std::vector<std::pair<const char*, ldns_rr_type>>{
             {"ns1.test.example.", LDNS_RR_TYPE_A},
             {"app.test.example.", LDNS_RR_TYPE_A},
             {"app.test.example.", LDNS_RR_TYPE_AAAA},
             {"www.test.example.", LDNS_RR_TYPE_A},
             {"nope.test.example.", LDNS_RR_TYPE_A},
             {"mail.test.example.", LDNS_RR_TYPE_TXT},
             {"q.wild.test.example.", LDNS_RR_TYPE_A},
             {"q.wild.test.example.", LDNS_RR_TYPE_MX},
             {"x.child.test.example.", LDNS_RR_TYPE_A},
             {"test.example.", LDNS_RR_TYPE_ANY},
             {"test.example.", LDNS_RR_TYPE_DNSKEY},
             {"DeEp.TeSt.ExAmPlE.", LDNS_RR_TYPE_A}}) {
        test::QuerySpec spec;
        spec.edns_udp_size = 4096;
        spec.dnssec_ok = true;
        corpus.push_back(test::make_query(name, type, spec));
    }
    std::vector<uint8_t> out(65535);
    const server::ClientAddress client = v4(5, 9, 77, 1);
    size_t signed_answers = 0;
    for (const auto& q : corpus) {  // warm-up, and each answer carries signatures
        size_t n = server::respond(snap, q.data(), q.size(), client, server::Transport::kUdp,
                                   out.data(), out.size(), w.ctx);
        REQUIRE(n > 12);
        ldns_pkt* pkt = nullptr;
        REQUIRE(ldns_wire2pkt(&pkt, out.data(), n) == LDNS_STATUS_OK);
        ldns_rr_list* sigs = ldns_pkt_rr_list_by_type(pkt, LDNS_RR_TYPE_RRSIG, LDNS_SECTION_ANY);
        signed_answers += sigs != nullptr && ldns_rr_list_rr_count(sigs) > 0 ? 1 : 0;
        CHECK(ldns_pkt_edns_do(pkt));
        ldns_rr_list_deep_free(sigs);
        ldns_pkt_free(pkt);
    }
    CHECK(signed_answers == corpus.size());  // the referral to child: its signed NSEC
    dnslb::test::AllocationWindow window;
    size_t answered = 0;
    for (int round = 0; round < 200; ++round) {
        for (const auto& q : corpus) {
            answered += server::respond(snap, q.data(), q.size(), client, server::Transport::kUdp,
                                        out.data(), out.size(), w.ctx) > 0;
        }
    }
    CHECK(window.count() == 0);
    CHECK(answered == 200 * corpus.size());
    std::filesystem::remove_all(dir);
}

// e273bb5: a response slipped by RRL went through finish() twice (once as the answer, once cut
// to its question) and was counted twice in the rcode counters.
TEST_CASE("regression: a response slipped by RRL was counted twice", "[regression]") {
    Thread w;
    const auto q = query("ns1.test.example.", LDNS_RR_TYPE_A, false);
    const server::ClientAddress client = v4(5, 9, 77, 1);
    std::vector<uint8_t> out(65535);
    w.ctx.now_ms = 1000000;
    constexpr int kQueries = 40;
    for (int i = 0; i < kQueries; ++i) {
        server::respond(w.snap, q.data(), q.size(), client, server::Transport::kUdp, out.data(),
                        out.size(), w.ctx);
    }
    uint64_t counted = 0;
    for (const auto& c : w.stats.rcodes) {
        counted += get(c);
    }
    REQUIRE(get(w.guard.rrl_counters.slipped) > 0);
    CHECK(counted == kQueries);
}

// 16d348b: a reply cut to its question (an RRL slip, or TC=1 under attack) was rewound past its
// OPT: an EDNS client got no OPT back (RFC 6891 section 7) and a cookie client no server
// cookie to retry with (RFC 7873 section 5.4).
TEST_CASE("regression: a reply cut to its question lost its OPT and server cookie",
          "[regression]") {
    Thread w;
    const uint8_t client_cookie[8] = {9, 8, 7, 6, 5, 4, 3, 2};
    const auto q =
        query_opts("big.test.example.", LDNS_RR_TYPE_TXT, "000a0008" + hex_of(client_cookie, 8));
    const server::ClientAddress client = v4(5, 9, 77, 1);
    std::vector<uint8_t> out(65535);
    for (bool attack : {true, false}) {
        INFO("under attack: " << attack);
        w.attack.manual = attack;
        w.ctx.now_ms = 2000000;
        bool cut = false;
        for (int i = 0; i < 40 && !cut; ++i) {
            size_t n = server::respond(w.snap, q.data(), q.size(), client, server::Transport::kUdp,
                                       out.data(), out.size(), w.ctx);
            if (n == 0 || (out[2] & 0x02) == 0) {
                continue;  // dropped by RRL, or sent whole
            }
            cut = true;
            ldns_pkt* resp = nullptr;
            REQUIRE(ldns_wire2pkt(&resp, out.data(), n) == LDNS_STATUS_OK);
            CHECK(ldns_pkt_ancount(resp) == 0);
            CHECK(ldns_pkt_edns(resp));
            ldns_rdf* data = ldns_pkt_edns_data(resp);
            REQUIRE(data != nullptr);
            // One option: COOKIE (10), 24 bytes, starting with the client cookie.
            REQUIRE(ldns_rdf_size(data) == 28);
            const uint8_t* o = ldns_rdf_data(data);
            CHECK((o[0] << 8 | o[1]) == 10);
            CHECK((o[2] << 8 | o[3]) == 24);
            CHECK(std::memcmp(o + 4, client_cookie, 8) == 0);
            ldns_pkt_free(resp);
        }
        CHECK(cut);
    }
}

TEST_CASE("100,000 random, mutated and truncated packets neither crash nor over-read") {
    auto snap = make_snapshot();
    server::Stats stats;
    server::QueryContext ctx{stats};
    server::ClientAddress client;
    std::mt19937_64 rng(20261128);
    std::vector<std::vector<uint8_t>> seeds = {
        query("ns1.test.example.", LDNS_RR_TYPE_A, true),
        query("www.test.example.", LDNS_RR_TYPE_A, false),
        query("x.child.test.example.", LDNS_RR_TYPE_DS, true),
        query("a.b.deep.test.example.", LDNS_RR_TYPE_ANY, true),
    };
    size_t answered = 0;
    for (int i = 0; i < 100000; ++i) {
        std::vector<uint8_t> pkt;
        switch (i % 3) {
            case 0: {  // random bytes with a plausible header
                pkt.resize(rng() % 600);
                for (auto& b : pkt) {
                    b = static_cast<uint8_t>(rng());
                }
                if (pkt.size() > 2) {
                    pkt[2] &= 0x7F;
                }
                break;
            }
            case 1: {  // a valid query with a few bytes flipped
                pkt = seeds[rng() % seeds.size()];
                for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) {
                    pkt[rng() % pkt.size()] = static_cast<uint8_t>(rng());
                }
                break;
            }
            default: {  // truncated
                pkt = seeds[rng() % seeds.size()];
                pkt.resize(rng() % pkt.size());
                break;
            }
        }
        // Exact-size heap copy so ASan catches a read one past the end.
        std::vector<uint8_t> exact(pkt);
        std::vector<uint8_t> out(rng() % 2 ? 512 : 65535);
        auto transport = i % 2 ? server::Transport::kTcp : server::Transport::kUdp;
        size_t n = server::respond(snap, exact.data(), exact.size(), client, transport, out.data(),
                                   out.size(), ctx);
        REQUIRE(n <= out.size());
        if (n > 0) {
            ++answered;
            ldns_pkt* resp = nullptr;
            // Every response we send must itself be well-formed DNS.
            REQUIRE(ldns_wire2pkt(&resp, out.data(), n) == LDNS_STATUS_OK);
            ldns_pkt_free(resp);
        }
    }
    CHECK(answered > 10000);
}

TEST_CASE("find_zone picks the longest origin, by label, whatever the case and zone count") {
    server::Snapshot s;
    auto zone_for = [](const char* origin) {
        const std::string text = test::zone_text(
            origin, 60, {.rname = "h", .refresh = 1, .retry = 1, .expire = 1, .minimum = 1},
            R"("@": {"NS": ["ns1"]})");
        return zone::load_zone_text(text, std::string(origin) + "json");
    };
    for (const char* o : {"example.", "sub.example.", "a.b.sub.example.", "other.",
                          "b.sub.example.x.", "xample.", "le."}) {
        s.zones.emplace_back(zone_for(o));
    }
    s.index();
    auto found = [&](std::string_view name) -> std::string {
        const std::string w = zone::name_to_wire(name);
        const zone::Zone* z = s.find_zone(reinterpret_cast<const uint8_t*>(w.data()), w.size());
        return z != nullptr ? z->origin_text : "-";
    };
    CHECK(found("example.") == "example.");
    CHECK(found("www.example.") == "example.");
    CHECK(found("sub.example.") == "sub.example.");
    CHECK(found("x.sub.example.") == "sub.example.");
    CHECK(found("b.sub.example.") == "sub.example.");
    CHECK(found("a.b.sub.example.") == "a.b.sub.example.");
    CHECK(found("z.a.b.sub.example.") == "a.b.sub.example.");
    CHECK(found("very.long.label.chain.with.many.parts.a.b.sub.example.") == "a.b.sub.example.");
    CHECK(found("other.") == "other.");
    CHECK(found("example.x.") == "-");
    CHECK(found("nothing.") == "-");
    CHECK(found("ample.") == "-");
    CHECK(found("x.le.") == "le.");
    CHECK(found("a-label-longer-than-eight-bytes.example.") == "example.");
}
