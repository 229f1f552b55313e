// Fuzz target: the query path. One input is one DNS message as it arrives on a socket; it is
// answered over UDP and TCP, from snapshots with and without a geo resolver, health cells, CHAOS
// options and explain access, into exact-size heap buffers so that any write or read past the
// end is caught by AddressSanitizer. Then it is answered as a query thread answers it: with the
// defences (RRL, cookies, under-attack mode) and the decision cache, the bits of the message ID
// choosing which defences are on, and a server cookie of the message signed so that the valid
// cookie branches run too.
//
// Oracle: no crash, no sanitizer report, no allocation, the length returned fits the buffer and
// the transport (UDP: at most the advertised EDNS size; RFC 6891 section 6.2.5), and every
// response parses back as a DNS message with the query's ID.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dnslb/answer/responder.hpp"
#include "dnslb/dns/query.hpp"
#include "dnslb/geo/geo.hpp"
#include "dnslb/zone/loader.hpp"
#include "probes/health_table.hpp"
#include "tests/fuzz/fuzz_common.hpp"
#include "tests/support/counting_alloc.hpp"
#include "tests/support/packets.hpp"
#include "tests/support/query_thread.hpp"
#include "tests/support/zone_text.hpp"

#ifndef DNSLB_TEST_GEODB_DIR
#define DNSLB_TEST_GEODB_DIR ""
#endif

using namespace dnslb;
using dnslb::test::v4;
using dnslb::test::v6;

namespace {

// Static data, delegations, CNAME chains, wildcards, empty non-terminals and an RRset too big
// for a 512-byte UDP answer.
std::string static_zone() {
    return test::zone_text("test.example.", 3600, {},
                           R"(
    "@": { "NS": ["ns1", "ns2.test.example."], "MX": ["10 mail"], "TXT": ["\"v=spf1 -all\""],
           "CAA": ["0 issue \"letsencrypt.org\""] },
    "ns1": { "A": ["192.0.2.53"], "AAAA": ["2001:db8::53"] },
    "ns2": { "A": { "ttl": 86400, "rdata": ["192.0.2.54"] } },
    "mail": { "A": ["192.0.2.25"] },
    "www": { "CNAME": ["app.lb.example."] },
    "loop1": { "CNAME": ["loop2"] },
    "loop2": { "CNAME": ["loop1"] },
    "out": { "CNAME": ["elsewhere.invalid."] },
    "*.wild": { "A": ["192.0.2.80"], "TXT": ["\"wildcard\""] },
    "a.b.deep": { "A": ["192.0.2.81"] },
    "_sip._tcp": { "SRV": ["10 20 5060 sip"] },
    "sip": { "A": ["192.0.2.82"] },
    "child": { "NS": ["ns.child", "ns.elsewhere.invalid."],
               "DS": ["12345 13 2 2bb183af5f22588179a53b0a98631fad1a292118ad3aae0e2eb08b26c1b7e3e8"] },
    "ns.child": { "A": ["192.0.2.99"], "AAAA": ["2001:db8::99"] },
    )" + test::txt_record("big", {100, 100, 100, 100, 100, 100}));
}

// A zone below the first one: the longest origin wins.
std::string sub_zone() {
    return test::zone_text("sub.test.example.", 300,
                           {.mname = "ns1.test.example.",
                            .rname = "hostmaster.test.example.",
                            .serial = 7,
                            .minimum = 60},
                           R"("@": { "NS": ["ns1.test.example."] },
                              "host": { "A": ["192.0.2.7"], "AAAA": ["2001:db8::7"] })");
}

// Every steering mode, fallbacks, all-down policies, and monitored addresses.
std::string pool_zone() {
    return test::zone_text("lb.example.", 3600, {.serial = 2, .minimum = 60}, R"(
    "@": { "NS": ["ns1"], "pool": "near" },
    "ns1": { "A": ["192.0.2.53"] },
    "app": { "pool": "near", "TXT": ["\"pool name\""] },
    "api": { "pool": "near", "ttl": 10 },
    "geo": { "pool": "geo" },
    "fo": { "pool": "fo" },
    "w": { "pool": "w" },
    "r": { "pool": "r" },
    "dead": { "pool": "dead" },
    "nodata": { "pool": "nodata" },
    "*.any": { "pool": "r" })",
                           R"(
  "pools": {
    "near": { "steering": "proximity", "answers": 2, "ttl": 30, "fallback": "fo",
      "monitor": "m",
      "origins": {
        "fra": { "addresses": ["198.51.100.10", "2001:db8:10::10"], "lat": 50.11, "lon": 8.68 },
        "iad": { "addresses": ["198.51.100.20", "2001:db8:20::20"], "lat": 38.95,
                 "lon": -77.45, "bias": 20 },
        "syd": { "addresses": ["198.51.100.50"], "lat": -33.87, "lon": 151.21 } } },
    "geo": { "steering": "geo", "fallback": "fo",
      "origins": {
        "fra": { "addresses": ["198.51.100.10", "2001:db8:10::10"] },
        "iad": { "addresses": ["198.51.100.20"] },
        "sgp": { "addresses": ["2001:db8:40::40"] } },
      "geo": { "countries": { "DE": ["fra"], "US": ["iad"] },
               "continents": { "AS": ["sgp", "fra"], "OC": ["sgp"] },
               "default": ["iad", "fra"] } },
    "fo": { "steering": "failover", "answers": 3,
      "origins": { "a": { "addresses": ["203.0.113.1"] },
                   "b": { "addresses": ["203.0.113.2", "2001:db8:b::2"] } } },
    "w": { "steering": "weighted", "answers": 2,
      "origins": { "a": { "addresses": ["203.0.113.11"], "weight": 3 },
                   "b": { "addresses": ["203.0.113.12"], "weight": 1 },
                   "c": { "addresses": ["2001:db8:c::12"], "weight": 0.5 } } },
    "r": { "steering": "random",
      "origins": { "a": { "addresses": ["203.0.113.21"] },
                   "b": { "addresses": ["203.0.113.22"] } } },
    "dead": { "steering": "failover", "all_down": "servfail", "monitor": "m",
      "origins": { "a": { "addresses": ["203.0.113.31"] } } },
    "nodata": { "steering": "failover", "all_down": "nodata", "monitor": "m",
      "origins": { "a": { "addresses": ["203.0.113.41", "2001:db8:41::41"] } } }
  },
  "monitors": {
    "m": { "type": "tcp", "port": 80, "interval": 5, "timeout": 2 }
  })");
}

struct Setup {
    probes::HealthTable health{256};
    server::Snapshot plain;   // no geo, no CHAOS answers, no explain access
    server::Snapshot placed;  // geo databases and nets, CHAOS and explain enabled
    // As `placed`, with RRL on (low rates, so that slips and drops happen) and cookies on or off.
    server::Snapshot defended[2];
};

// Every other monitored address down, and the "dead" and "nodata" pools entirely, so that
// steering, fallback and all-down policies all run.
void attach_health(zone::Zone& z, probes::HealthTable& health) {
    test::attach_health(z, health, [n = 0](const zone::Pool& pool, const zone::Origin&) mutable {
        return pool.name == "dead" || pool.name == "nodata" || (n++ % 2 == 1);
    });
}

void fill(server::Snapshot& s, probes::HealthTable& health) {
    s.zones.emplace_back(zone::load_zone_text(static_zone(), "static.json"));
    s.zones.emplace_back(zone::load_zone_text(sub_zone(), "sub.json"));
    auto pools = zone::load_zone_text(pool_zone(), "pools.json");
    attach_health(*pools, health);
    s.zones.emplace_back(std::move(pools));
    s.health = &health;
    s.index();
}

std::string geodb_dir() {
    const char* env = std::getenv("DNSLB_TEST_GEODB_DIR");
    return env != nullptr && *env != '\0' ? env : DNSLB_TEST_GEODB_DIR;
}

const Setup& setup() {
    static const Setup* s = [] {
        auto* out = new Setup;
        fill(out->plain, out->health);
        fill(out->placed, out->health);
        // A missing database is a broken build, not something to fuzz around.
        auto resolver = test::city_resolver(geodb_dir());
        geo::Location berlin;
        berlin.known = true;
        berlin.has_coords = true;
        berlin.lat = 52.52;
        berlin.lon = 13.40;
        berlin.country = geo::country_code('D', 'E');
        resolver->add_net("10.20.0.0/16", berlin);
        geo::Location tokyo;
        tokyo.known = true;
        tokyo.country = geo::country_code('J', 'P');
        resolver->add_net("fd00:20::/32", tokyo);
        out->placed.geo = std::move(resolver);
        out->placed.options.chaos_version = "dnslb fuzz";
        out->placed.options.chaos_id = "fuzz-1";
        server::Network loopback;
        loopback.family = 4;
        loopback.prefix = 8;
        loopback.bytes[0] = 127;
        out->placed.options.explain_from.push_back(loopback);
        server::Network v6;
        v6.family = 6;
        v6.prefix = 32;
        const uint8_t doc[4] = {0x2a, 0x01, 0x04, 0xf8};
        std::memcpy(v6.bytes, doc, sizeof doc);
        out->placed.options.explain_from.push_back(v6);
        for (int cookies = 0; cookies < 2; ++cookies) {
            server::Snapshot& d = out->defended[cookies];
            fill(d, out->health);
            d.geo = out->placed.geo;
            d.options = out->placed.options;
            test::enable_defences(d.options.guard, 4, cookies == 1, 256);
            d.options.rrl_exempt.push_back(loopback);
        }
        return out;
    }();
    return *s;
}

// A CHAOS query from a client allowed to ask for explanations: the explain answer is built with
// strings (dnslb/answer/explain.cpp), the one part of respond() that allocates. Only clients in
// explain_from (default: loopback) can reach it.
bool explain_query(const server::Snapshot& snap, const uint8_t* pkt, size_t len,
                   const server::ClientAddress& client) {
    dns::Query q;
    if (dns::parse_query(pkt, len, q) != dns::ParseStatus::kOk || q.qclass != dns::kClassCH) {
        return false;
    }
    return std::any_of(
        snap.options.explain_from.begin(), snap.options.explain_from.end(),
        [&](const server::Network& n) { return n.contains(client.family, client.bytes); });
}

void answer(const server::Snapshot& snap, const uint8_t* pkt, size_t len,
            const server::ClientAddress& client, server::Transport transport, size_t cap,
            server::QueryContext* thread = nullptr) {
    static server::Stats stats;
    static server::QueryContext plain{stats};
    // Exact size: one byte past the end is a heap-buffer-overflow under ASan.
    std::unique_ptr<uint8_t[]> out(new uint8_t[cap]);
    server::AnswerNote note;
    dnslb::test::AllocationWindow window;
    size_t n = server::respond(snap, pkt, len, client, transport, out.get(), cap,
                               thread != nullptr ? *thread : plain, &note);
    fuzz::check(window.count() == 0 || explain_query(snap, pkt, len, client),
                "the query path allocated");
    fuzz::check(n <= cap, "response longer than the buffer");
    if (transport == server::Transport::kUdp) {
        // RFC 1035 section 4.2.1: 512 bytes without EDNS; RFC 6891 section 6.2.5: with EDNS, no
        // more than the smaller of the requestor's size and ours.
        dns::Query q;
        bool edns = dns::parse_query(pkt, len, q) != dns::ParseStatus::kDrop && q.edns;
        size_t allowed =
            edns ? std::clamp<size_t>(q.udp_size, 512, snap.options.edns_udp_size) : 512;
        fuzz::check(n <= allowed, "UDP response longer than the client or the server allows");
    }
    fuzz::check(note.origin_count <= 16, "note lists more origins than it holds");
    if (n > 0) {
        fuzz::check(len >= 2, "answered a packet without an ID");
        fuzz::check_response(out.get(), n, static_cast<uint16_t>((pkt[0] << 8) | pkt[1]));
    }
}

// The packet as the query thread sees it: when it carries a client and a server cookie, and
// bit 3 of the ID asks for it, the server cookie is replaced by the one this server would issue,
// so that valid cookies (RRL and under-attack exemptions) are reached as well as invalid ones.
std::vector<uint8_t> with_signed_cookie(const uint8_t* data, size_t size, test::QueryThread& w,
                                        const server::Snapshot& snap,
                                        const server::ClientAddress& client) {
    std::vector<uint8_t> pkt(data, data + size);
    dns::Query q;
    if (size < 2 || (data[1] & 0x08) == 0 ||
        dns::parse_query(data, size, q) == dns::ParseStatus::kDrop || !q.has_cookie ||
        q.cookie_len != 24) {
        return pkt;
    }
    auto at = std::search(pkt.begin(), pkt.end(), q.cookie, q.cookie + q.cookie_len);
    if (at == pkt.end()) {
        return pkt;
    }
    uint8_t server_cookie[16];
    w.guard.make_server_cookie(snap.options.guard.cookies, q.cookie, client.family, client.bytes,
                               test::kNowS, server_cookie);
    std::copy_n(server_cookie, 16, at + 8);
    return pkt;
}

// The message ID chooses the query-thread state: bit 0 under-attack mode, bit 1 cookies, bit 2 the
// source (a client or loopback, which is RRL-exempt); the other bits move the RRL clock.
void answer_defended(const Setup& s, const uint8_t* data, size_t size) {
    static test::QueryThread* w = [] {
        auto* t = new test::QueryThread(1024);
        t->ctx.now_ms = 1000000;
        return t;
    }();
    uint8_t bits = size >= 2 ? data[1] : 0;
    const server::Snapshot& snap = s.defended[(bits >> 1) & 1];
    w->attack.manual = (bits & 1) != 0;
    w->ctx.now_ms += (bits >> 4) * 100U;
    const server::ClientAddress client = (bits & 4) != 0 ? v4(127, 0, 0, 1) : v4(5, 9, 77, 1);
    std::vector<uint8_t> pkt = with_signed_cookie(data, size, *w, snap, client);
    std::unique_ptr<uint8_t[]> exact(new uint8_t[pkt.size() + 1]);
    std::copy(pkt.begin(), pkt.end(), exact.get());
    // Twice over UDP, so that a second answer meets a bucket the first one drained.
    answer(snap, exact.get(), pkt.size(), client, server::Transport::kUdp, 4096, &w->ctx);
    answer(snap, exact.get(), pkt.size(), client, server::Transport::kUdp, 512, &w->ctx);
    answer(snap, exact.get(), pkt.size(), v6({0x2a, 0x01, 0x04, 0xf8, 0x01, 0x00}),
           server::Transport::kUdp, 4096, &w->ctx);
    answer(snap, exact.get(), pkt.size(), client, server::Transport::kTcp, 65535, &w->ctx);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const Setup& s = setup();
    const auto udp = server::Transport::kUdp;
    const auto tcp = server::Transport::kTcp;
    // The sizes the server uses (4096-byte UDP slots, a 65535-byte TCP buffer), and one that is
    // smaller than most answers.
    answer(s.plain, data, size, v4(192, 0, 2, 1), udp, 4096);
    answer(s.plain, data, size, v6({0x20, 0x01, 0x0d, 0xb8}), tcp, 65535);
    answer(s.placed, data, size, v4(127, 0, 0, 1), udp, 4096);
    answer(s.placed, data, size, v4(5, 9, 77, 1), udp, 512);
    answer(s.placed, data, size, v6({0x2a, 0x01, 0x04, 0xf8, 0x01, 0x00}), tcp, 65535);
    answer(s.placed, data, size, v4(10, 20, 1, 2), tcp, 65535);
    answer_defended(s, data, size);
    return 0;
}
