// Shared helpers of the end-to-end tests: ask one question, look at sections by type.
#pragma once

#include <catch2/catch.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tests/e2e/harness.hpp"

namespace dnslb::e2e {

// A server on the test zones (tests/e2e/zones).
inline ServerOptions test_zones() {
    ServerOptions o;
    o.zones_dir = test_zones_dir();
    return o;
}

// A reply in three views: raw bytes, our own wire walk and ldns' parse.
struct Reply {
    Bytes wire;
    Message msg;
    Pkt pkt;
};

// The three views of `wire`; nullopt when there is none.
inline std::optional<Reply> as_reply(const std::optional<Bytes>& wire) {
    if (!wire) {
        return std::nullopt;
    }
    Reply r;
    r.wire = *wire;
    r.msg = walk(r.wire);
    r.pkt = parse(r.wire);
    return r;
}

inline std::optional<Reply> ask_wire(Transport t, uint16_t port, const Bytes& query,
                                     std::chrono::milliseconds timeout = 2000ms) {
    return as_reply(exchange(t, port, query, timeout));
}

inline std::optional<Reply> ask(Transport t, uint16_t port, const std::string& name,
                                ldns_rr_type type, const QueryOptions& options = {}) {
    return ask_wire(t, port, make_query(name, type, options));
}

// The records of one section of `pkt`, optionally only those of `type`.
inline std::vector<ldns_rr*> records(const Pkt& pkt, ldns_pkt_section section,
                                     ldns_rr_type type = LDNS_RR_TYPE_ANY) {
    std::vector<ldns_rr*> out;
    if (!pkt) {
        return out;
    }
    ldns_rr_list* list = nullptr;
    switch (section) {
        case LDNS_SECTION_ANSWER:
            list = ldns_pkt_answer(pkt.get());
            break;
        case LDNS_SECTION_AUTHORITY:
            list = ldns_pkt_authority(pkt.get());
            break;
        case LDNS_SECTION_ADDITIONAL:
            list = ldns_pkt_additional(pkt.get());
            break;
        default:
            list = ldns_pkt_question(pkt.get());
            break;
    }
    for (size_t i = 0; list != nullptr && i < ldns_rr_list_rr_count(list); ++i) {
        ldns_rr* rr = ldns_rr_list_rr(list, i);
        if (type == LDNS_RR_TYPE_ANY || ldns_rr_get_type(rr) == type) {
            out.push_back(rr);
        }
    }
    return out;
}

// The mnemonic of an RR type ("AAAA"); ldns_rr_type2str's string is freed here.
inline std::string type_name(ldns_rr_type type) {
    char* s = ldns_rr_type2str(type);
    std::string out = s != nullptr ? s : "";
    std::free(s);
    return out;
}

inline std::string owner(const ldns_rr* rr) {
    char* s = ldns_rdf2str(ldns_rr_owner(rr));
    std::string out = s != nullptr ? s : "";
    std::free(s);
    return lower(out);
}

// Sorted rdata texts of the records of `type` in `section`.
inline std::vector<std::string> rdatas(const Pkt& pkt, ldns_pkt_section section,
                                       ldns_rr_type type) {
    std::vector<std::string> out;
    for (ldns_rr* rr : records(pkt, section, type)) {
        out.push_back(lower(rdata_text(rr)));
    }
    std::sort(out.begin(), out.end());
    return out;
}

// The answer records of a NOERROR reply; fails the test case when ldns cannot parse it.
inline std::vector<ldns_rr*> noerror_answer(const Reply& r) {
    REQUIRE(r.pkt);
    CHECK(ldns_pkt_get_rcode(r.pkt.get()) == LDNS_RCODE_NOERROR);
    return records(r.pkt, LDNS_SECTION_ANSWER);
}

// Expects `rr` to be `type` at `name` with the rdata text `rdata` (compared lower-cased).
inline void check_rr(const ldns_rr* rr, const std::string& name, ldns_rr_type type,
                     const std::string& rdata) {
    CHECK(owner(rr) == name);
    CHECK(ldns_rr_get_type(rr) == type);
    CHECK(lower(rdata_text(rr)) == rdata);
}

// Expects a NOERROR or NXDOMAIN negative answer from `zone` (RFC 2308): the zone's SOA alone in
// the authority section with TTL `neg_ttl`, nothing in the answer section.
inline void check_negative(const Reply& r, ldns_pkt_rcode rcode, const std::string& zone,
                           uint32_t neg_ttl) {
    INFO(to_text(r.wire));
    REQUIRE(r.pkt);
    CHECK(ldns_pkt_get_rcode(r.pkt.get()) == rcode);
    CHECK(r.msg.hdr.aa);
    CHECK(r.msg.hdr.ancount == 0);
    auto soa = records(r.pkt, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_SOA);
    REQUIRE(soa.size() == 1);
    CHECK(owner(soa[0]) == zone);
    CHECK(ldns_rr_ttl(soa[0]) == neg_ttl);
}

// Expects a NOERROR authoritative answer whose answer section holds exactly `rdata` (sorted)
// of `type` at `name`.
inline void check_answer(const Reply& r, const std::string& name, ldns_rr_type type,
                         std::vector<std::string> rdata) {
    INFO(to_text(r.wire));
    REQUIRE(r.pkt);
    CHECK(ldns_pkt_get_rcode(r.pkt.get()) == LDNS_RCODE_NOERROR);
    CHECK(r.msg.hdr.aa);
    auto answer = records(r.pkt, LDNS_SECTION_ANSWER);
    REQUIRE(answer.size() == rdata.size());
    for (ldns_rr* rr : answer) {
        CHECK(owner(rr) == name);
        CHECK(ldns_rr_get_type(rr) == type);
    }
    std::sort(rdata.begin(), rdata.end());
    CHECK(rdatas(r.pkt, LDNS_SECTION_ANSWER, type) == rdata);
}

// Asks `name` `type` over `t` and expects exactly `rdata` of `type` at `name` (check_answer),
// each record with TTL `ttl` when given.
inline void expect_answer(Transport t, uint16_t port, const std::string& name, ldns_rr_type type,
                          std::vector<std::string> rdata, std::optional<uint32_t> ttl = {}) {
    INFO(name << " " << type_name(type));
    auto r = ask(t, port, name, type);
    REQUIRE(r);
    check_answer(*r, name, type, std::move(rdata));
    for (ldns_rr* rr : records(r->pkt, LDNS_SECTION_ANSWER)) {
        CHECK((!ttl || ldns_rr_ttl(rr) == *ttl));
    }
}

// Asks `name` `type` over `t` and expects a negative answer from `zone` (check_negative).
inline void expect_negative(Transport t, uint16_t port, const std::string& name, ldns_rr_type type,
                            ldns_pkt_rcode rcode, const std::string& zone, uint32_t neg_ttl) {
    INFO(name << " " << type_name(type));
    auto r = ask(t, port, name, type);
    REQUIRE(r);
    check_negative(*r, rcode, zone, neg_ttl);
}

// Runs the shell `command` and expects exit status `status` and every one of `parts` in what it
// printed; returns that output.
inline std::string expect_output(const std::string& command, int status,
                                 std::initializer_list<const char*> parts) {
    int got = -1;
    std::string out = run_command(command, &got);
    INFO(command << "\n" << out);
    CHECK(got == status);
    for (const char* part : parts) {
        INFO("expected: " << part);
        CHECK(out.find(part) != std::string::npos);
    }
    return out;
}

// Starts `server` or fails the test case with the reason and the server's stderr.
#define E2E_START(server)                 \
    do {                                  \
        bool started_ = (server).start(); \
        INFO((server).error());           \
        REQUIRE(started_);                \
    } while (false)

// Stops `server` with SIGTERM and expects exit status 0.
#define E2E_STOP_CLEAN(server)                                                                     \
    do {                                                                                           \
        ::dnslb::e2e::ExitInfo exit_ = (server).stop();                                            \
        INFO("exited=" << exit_.exited << " status=" << exit_.status << " signal=" << exit_.signal \
                       << "\nstderr:\n"                                                            \
                       << (server).stderr_text().substr(0, 4000));                                 \
        CHECK(exit_.clean());                                                                      \
    } while (false)

constexpr Transport kBoth[] = {Transport::kUdp, Transport::kTcp};

// Starts a server with `options`, runs `body` over UDP and then over TCP (the transport named in
// every failure), then `after` when given, and expects a clean stop.
inline void on_both_transports(ServerOptions options,
                               const std::function<void(Transport, Server&)>& body,
                               const std::function<void(Server&)>& after = {}) {
    Server srv(std::move(options));
    E2E_START(srv);
    for (Transport t : kBoth) {
        INFO(transport_name(t));
        body(t, srv);
    }
    if (after) {
        after(srv);
    }
    E2E_STOP_CLEAN(srv);
}

}  // namespace dnslb::e2e
