// The responder fed real queries, then 100,000+ random, mutated and truncated packets: it must
// never crash, never read out of bounds (run under ASan in CI) and never allocate.
#include "dnslb/answer/responder.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <new>
#include <random>
#include <vector>

#include "dnslb/base/ldns.hpp"
#include "dnslb/zone/loader.hpp"

namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace

// Counting allocator for this test binary: the query path must not allocate. malloc/free
// back it, which GCC's -Wmismatched-new-delete cannot see through.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(size_t n) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n == 0 ? 1 : n)) {
        return p;
    }
    throw std::bad_alloc();
}
// Catch2 allocates with the nothrow form: it must come from the same malloc, or ASan reports
// an alloc-dealloc mismatch when our delete frees it.
void* operator new(size_t n, const std::nothrow_t&) noexcept {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    return std::malloc(n == 0 ? 1 : n);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

using namespace dnslb;

namespace {

constexpr const char* kZone = R"({
  "origin": "test.example.",
  "ttl": 3600,
  "soa": { "mname": "ns1", "rname": "hostmaster", "serial": 1, "refresh": 3600,
           "retry": 600, "expire": 1209600, "minimum": 300 },
  "records": {
    "@": { "NS": ["ns1"], "MX": ["10 mail"], "TXT": ["\"v=spf1 -all\""] },
    "ns1": { "A": ["192.0.2.53"], "AAAA": ["2001:db8::53"] },
    "mail": { "A": ["192.0.2.25"] },
    "www": { "CNAME": ["app"] },
    "app": { "pool": "web" },
    "*.wild": { "A": ["192.0.2.80"] },
    "a.b.deep": { "A": ["192.0.2.81"] },
    "child": { "NS": ["ns.child"] },
    "ns.child": { "A": ["192.0.2.99"] },
    "big": { "TXT": ["\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
                     "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"",
                     "\"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\"",
                     "\"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd\"",
                     "\"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\"",
                     "\"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\""] }
  },
  "pools": {
    "web": { "steering": "failover", "origins": {
      "fra": { "addresses": ["198.51.100.10", "2001:db8:f::10"], "lat": 50.11, "lon": 8.68 },
      "sgp": { "addresses": ["198.51.100.20"], "lat": 1.35, "lon": 103.82 } } }
  }
})";

server::Snapshot make_snapshot() {
    server::Snapshot s;
    s.zones.emplace_back(zone::load_zone_text(kZone, "test.json"));
    s.index();
    return s;
}

std::vector<uint8_t> query(const char* name, ldns_rr_type type, bool edns) {
    ldns_pkt* pkt = ldns_pkt_query_new(ldns_dname_new_frm_str(name), type, LDNS_RR_CLASS_IN,
                                       LDNS_RD);
    ldns_pkt_set_id(pkt, 4242);
    if (edns) {
        ldns_pkt_set_edns_udp_size(pkt, 1232);
        ldns_pkt_set_edns_data(pkt, ldns_rdf_new_frm_str(LDNS_RDF_TYPE_HEX, "00080007000118000a0b0c"));
    }
    uint8_t* wire = nullptr;
    size_t len = 0;
    REQUIRE(ldns_pkt2wire(&wire, pkt, &len) == LDNS_STATUS_OK);
    std::vector<uint8_t> out(wire, wire + len);
    std::free(wire);
    ldns_pkt_free(pkt);
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

TEST_CASE("the responder does not allocate once warm") {
    auto snap = make_snapshot();
    server::Stats stats;
    server::QueryContext ctx{stats};
    server::ClientAddress client;
    std::vector<uint8_t> out(65535);
    std::vector<std::vector<uint8_t>> corpus = {
        query("ns1.test.example.", LDNS_RR_TYPE_A, true),
        query("WWW.test.example.", LDNS_RR_TYPE_AAAA, false),
        query("app.test.example.", LDNS_RR_TYPE_A, true),
        query("q.wild.test.example.", LDNS_RR_TYPE_MX, true),
        query("nope.test.example.", LDNS_RR_TYPE_A, false),
        query("x.child.test.example.", LDNS_RR_TYPE_A, false),
        query("big.test.example.", LDNS_RR_TYPE_TXT, false),
        query("test.example.", LDNS_RR_TYPE_ANY, true),
    };
    for (const auto& q : corpus) {
        server::respond(snap, q.data(), q.size(), client, server::Transport::kUdp, out.data(),
                        out.size(), ctx);
    }
    uint64_t before = g_allocations.load();
    size_t answered = 0;
    for (int round = 0; round < 1000; ++round) {
        for (const auto& q : corpus) {
            answered += server::respond(snap, q.data(), q.size(), client,
                                        server::Transport::kUdp, out.data(), out.size(),
                                        ctx) > 0;
        }
    }
    CHECK(answered == 1000 * corpus.size());
    CHECK(g_allocations.load() - before == 0);
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
        size_t n = server::respond(snap, exact.data(), exact.size(), client, transport,
                                   out.data(), out.size(), ctx);
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
        std::string text = R"({"origin": ")" + std::string(origin) + R"(", "ttl": 60,
          "soa": {"mname": "ns1", "rname": "h", "serial": 1, "refresh": 1, "retry": 1,
                  "expire": 1, "minimum": 1}, "records": {"@": {"NS": ["ns1"]}}})";
        return zone::load_zone_text(text, std::string(origin) + "json");
    };
    for (const char* o : {"example.", "sub.example.", "a.b.sub.example.", "other.",
                          "b.sub.example.x.", "xample.", "le."}) {
        s.zones.emplace_back(zone_for(o));
    }
    s.index();
    auto wire = [](std::string_view text) {
        std::vector<uint8_t> w;
        size_t start = 0;
        while (start < text.size()) {
            size_t dot = text.find('.', start);
            w.push_back(static_cast<uint8_t>(dot - start));
            w.insert(w.end(), text.begin() + static_cast<ptrdiff_t>(start),
                     text.begin() + static_cast<ptrdiff_t>(dot));
            start = dot + 1;
        }
        w.push_back(0);
        return w;
    };
    auto found = [&](std::string_view name) -> std::string {
        auto w = wire(name);
        const zone::Zone* z = s.find_zone(w.data(), w.size());
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
