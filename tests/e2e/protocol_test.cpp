// Protocol edges: EDNS (RFC 6891), truncation, ANY (RFC 8482), opcodes, malformed packets,
// CHAOS identity queries and TCP connection handling (RFC 7766).
#include <catch2/catch.hpp>

#include <set>
#include <thread>

#include "tests/e2e/checks.hpp"
#include "tests/e2e/harness.hpp"

using namespace dnslb::e2e;

namespace {

QueryOptions with_edns(uint16_t size, uint8_t version = 0, Bytes options = {}) {
    QueryOptions q;
    Edns e;
    e.udp_size = size;
    e.version = version;
    e.options = std::move(options);
    q.edns = e;
    return q;
}

// The answer must still be there after whatever the previous packet did.
void check_still_serving(uint16_t port) {
    expect_answer(Transport::kUdp, port, "www.test.example.", LDNS_RR_TYPE_A, {"192.0.2.10"});
}

// on_both_transports() on the test zones, then check_still_serving().
void on_both_transports_then_serving(const std::function<void(Transport, Server&)>& body) {
    on_both_transports(test_zones(), body, [](Server& srv) { check_still_serving(srv.port()); });
}

// The one OPT record (RFC 6891 section 6.1.1) of a full answer to www.test.example. A.
const WireRr& www_answer_opt(const Reply& r) {
    REQUIRE(r.msg.ok);
    check_answer(r, "www.test.example.", LDNS_RR_TYPE_A, {"192.0.2.10"});
    auto opts = opt_records(r.msg);
    REQUIRE(opts.size() == 1);
    return *opts[0];
}

// Sends `query` and expects a FORMERR echoing its ID, with nothing in the answer section.
void expect_formerr(Transport t, uint16_t port, const Bytes& query) {
    auto r = ask_wire(t, port, query);
    REQUIRE(r);
    INFO(to_text(r->wire));
    CHECK(r->msg.hdr.id == wire_id(query));
    CHECK(r->msg.hdr.qr);
    CHECK(r->msg.hdr.rcode == LDNS_RCODE_FORMERR);
    CHECK(r->msg.hdr.ancount == 0);
}

uint16_t flags_with_opcode(unsigned opcode) { return static_cast<uint16_t>(opcode << 11); }

}  // namespace

TEST_CASE("EDNS: OPT in the response advertises 1232", "[e2e][edns]") {
    on_both_transports(test_zones(), [&](Transport t, Server& srv) {
        auto r = ask(t, srv.port(), "www.test.example.", LDNS_RR_TYPE_A, with_edns(4096));
        REQUIRE(r);
        INFO(to_text(r->wire));
        const WireRr& opt = www_answer_opt(*r);
        CHECK(opt.owner == ".");
        CHECK(opt.klass == 1232);            // our UDP payload size
        CHECK((opt.ttl >> 16 & 0xff) == 0);  // version 0
        CHECK(full_rcode(r->msg) == 0);

        // No OPT in the query: none in the response (RFC 6891 section 7).
        auto plain = ask(t, srv.port(), "www.test.example.", LDNS_RR_TYPE_A);
        REQUIRE(plain);
        REQUIRE(plain->msg.ok);
        CHECK(opt_records(plain->msg).empty());
    });
}

TEST_CASE("EDNS: BADVERS for version 1", "[e2e][edns]") {
    on_both_transports(test_zones(), [&](Transport t, Server& srv) {
        auto r = ask(t, srv.port(), "www.test.example.", LDNS_RR_TYPE_A, with_edns(4096, 1));
        REQUIRE(r);
        INFO(to_text(r->wire));
        REQUIRE(r->msg.ok);
        auto opts = opt_records(r->msg);
        REQUIRE(opts.size() == 1);
        CHECK(full_rcode(r->msg) == 16);          // BADVERS: extended bits 0x01, header bits 0
        CHECK((opts[0]->ttl >> 16 & 0xff) == 0);  // the version we do implement
        CHECK(r->msg.hdr.ancount == 0);
    });
}

TEST_CASE("EDNS: unknown options are ignored", "[e2e][edns]") {
    Server srv(test_zones());
    E2E_START(srv);
    // Option 65001 (local/experimental range), 4 bytes of data.
    Bytes option{0xfd, 0xe9, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef};
    for (Transport t : kBoth) {
        INFO(transport_name(t));
        auto r =
            ask(t, srv.port(), "www.test.example.", LDNS_RR_TYPE_A, with_edns(1232, 0, option));
        REQUIRE(r);
        INFO(to_text(r->wire));
        const Bytes& data = www_answer_opt(*r).rdata;
        CHECK(full_rcode(r->msg) == 0);
        // Ignored means not echoed either.
        CHECK(std::search(data.begin(), data.end(), option.begin(), option.begin() + 2) ==
              data.end());
    }
    E2E_STOP_CLEAN(srv);
}

TEST_CASE("EDNS: two OPT records are a FORMERR", "[e2e][edns]") {
    Server srv(test_zones());
    E2E_START(srv);
    Bytes query = make_header(0x2b2b, 0x0000, 1, 0, 0, 2);
    append(query, wire_question("www.test.example.", LDNS_RR_TYPE_A));
    append(query, wire_opt(1232, 0, 0, 0));
    append(query, wire_opt(1232, 0, 0, 0));
    for (Transport t : kBoth) {
        INFO(transport_name(t));
        expect_formerr(t, srv.port(), query);  // RFC 6891 section 6.1.1
    }
    check_still_serving(srv.port());
    E2E_STOP_CLEAN(srv);
}

TEST_CASE("truncation: UDP answers fit the payload size, TCP carries all", "[e2e][tc]") {
    Server srv(test_zones());
    E2E_START(srv);
    const uint16_t port = srv.port();

    SECTION("an RRset over 512 bytes without EDNS sets TC and sends no partial RRset") {
        auto r = ask(Transport::kUdp, port, "big.test.example.", LDNS_RR_TYPE_TXT);
        REQUIRE(r);
        INFO(to_text(r->wire));
        CHECK(r->wire.size() <= 512);
        CHECK(r->msg.hdr.tc);
        CHECK(r->msg.hdr.ancount == 0);
        CHECK(r->msg.hdr.rcode == LDNS_RCODE_NOERROR);
        CHECK(r->msg.hdr.qdcount == 1);
    }
    SECTION("EDNS payload sizes below 512 count as 512 (RFC 6891 section 6.2.3)") {
        auto r = ask(Transport::kUdp, port, "big.test.example.", LDNS_RR_TYPE_TXT, with_edns(100));
        REQUIRE(r);
        INFO(to_text(r->wire));
        CHECK(r->wire.size() <= 512);
        CHECK(r->msg.hdr.tc);
        CHECK(r->msg.hdr.ancount == 0);
    }
    SECTION("the same RRset fits with EDNS") {
        auto r = ask(Transport::kUdp, port, "big.test.example.", LDNS_RR_TYPE_TXT, with_edns(4096));
        REQUIRE(r);
        INFO(to_text(r->wire));
        CHECK(r->wire.size() > 512);
        CHECK(r->wire.size() <= 1232);
        CHECK_FALSE(r->msg.hdr.tc);
        CHECK(r->msg.hdr.ancount == 4);
        CHECK(opt_records(r->msg).size() == 1);
    }
    SECTION("over 1232 bytes: TC even when the client offers 4096") {
        for (uint16_t size : {uint16_t{1232}, uint16_t{4096}, uint16_t{65535}}) {
            INFO("bufsize " << size);
            auto r =
                ask(Transport::kUdp, port, "huge.test.example.", LDNS_RR_TYPE_TXT, with_edns(size));
            REQUIRE(r);
            INFO(to_text(r->wire));
            CHECK(r->wire.size() <= 1232);
            CHECK(r->msg.hdr.tc);
            CHECK(r->msg.hdr.ancount == 0);
            // RFC 6891 section 7: a truncated EDNS response still carries the OPT.
            CHECK(opt_records(r->msg).size() == 1);
        }
    }
    SECTION("TCP carries the whole RRset") {
        for (bool edns : {false, true}) {
            INFO("edns " << edns);
            auto r = ask(Transport::kTcp, port, "huge.test.example.", LDNS_RR_TYPE_TXT,
                         edns ? with_edns(1232) : QueryOptions{});
            REQUIRE(r);
            INFO(to_text(r->wire));
            CHECK(r->wire.size() > 1232);
            CHECK_FALSE(r->msg.hdr.tc);
            CHECK(r->msg.hdr.aa);
            auto txt = records(r->pkt, LDNS_SECTION_ANSWER, LDNS_RR_TYPE_TXT);
            REQUIRE(txt.size() == 12);
            std::set<std::string> seen;
            for (ldns_rr* rr : txt) {
                CHECK(owner(rr) == "huge.test.example.");
                REQUIRE(ldns_rr_rd_count(rr) == 2);
                CHECK(ldns_rdf_size(ldns_rr_rdf(rr, 0)) == 101);  // length byte + 100
                seen.insert(rdata_text(rr));
            }
            CHECK(seen.size() == 12);
        }
    }
    E2E_STOP_CLEAN(srv);
}

TEST_CASE("ANY gets one RRset or the RFC 8482 HINFO", "[e2e][any]") {
    Server srv(test_zones());
    E2E_START(srv);
    for (const char* name : {"www.test.example.", "test.example."}) {
        INFO(name);
        auto r = ask(Transport::kUdp, srv.port(), name, LDNS_RR_TYPE_ANY);
        REQUIRE(r);
        INFO(to_text(r->wire));
        auto an = noerror_answer(*r);
        CHECK(r->msg.hdr.aa);
        REQUIRE_FALSE(an.empty());
        std::set<ldns_rr_type> types;
        for (ldns_rr* rr : an) {
            types.insert(ldns_rr_get_type(rr));
            CHECK(owner(rr) == name);
        }
        CHECK(types.size() == 1);  // never every RRset of the name
        if (ldns_rr_get_type(an[0]) == LDNS_RR_TYPE_HINFO) {
            REQUIRE(an.size() == 1);
            CHECK(rdata_text(an[0]) == "\"RFC8482\" \"\"");
        }
    }
    expect_negative(Transport::kUdp, srv.port(), "nope.test.example.", LDNS_RR_TYPE_ANY,
                    LDNS_RCODE_NXDOMAIN, "test.example.", 300);
    E2E_STOP_CLEAN(srv);
}

TEST_CASE("opcodes other than QUERY", "[e2e][opcode]") {
    on_both_transports_then_serving([&](Transport t, Server& srv) {
        for (unsigned opcode : {1U, 2U, 3U, 4U, 5U, 15U}) {
            INFO("opcode " << opcode);
            Bytes query = make_header(static_cast<uint16_t>(0x3000 + opcode),
                                      flags_with_opcode(opcode), 1, 0, 0, 0);
            append(query, wire_question("test.example.", LDNS_RR_TYPE_SOA));
            auto r = ask_wire(t, srv.port(), query);
            REQUIRE(r);
            INFO(to_text(r->wire));
            CHECK(r->msg.hdr.id == 0x3000 + opcode);
            CHECK(r->msg.hdr.qr);
            CHECK(r->msg.hdr.opcode == opcode);
            CHECK(r->msg.hdr.ancount == 0);
            if (opcode == 4 || opcode == 5) {
                // NOTIFY and UPDATE: an authoritative-only server may refuse or not implement.
                CHECK((r->msg.hdr.rcode == LDNS_RCODE_REFUSED ||
                       r->msg.hdr.rcode == LDNS_RCODE_NOTIMPL));
            } else {
                CHECK(r->msg.hdr.rcode == LDNS_RCODE_NOTIMPL);
            }
        }
    });
}

TEST_CASE("meta query types: zone transfers are not served, OPT is no question", "[e2e][opcode]") {
    on_both_transports_then_serving([&](Transport t, Server& srv) {
        for (auto type : {LDNS_RR_TYPE_AXFR, LDNS_RR_TYPE_IXFR}) {
            INFO("type " << type);
            auto r = ask(t, srv.port(), "test.example.", type);
            if (t == Transport::kUdp && !r) {
                continue;  // silence is a fine answer to a transfer over UDP
            }
            REQUIRE(r);
            INFO(to_text(r->wire));
            CHECK(
                (r->msg.hdr.rcode == LDNS_RCODE_REFUSED || r->msg.hdr.rcode == LDNS_RCODE_NOTIMPL));
            CHECK(r->msg.hdr.ancount == 0);
        }
        // RFC 6891 section 6.1.1: OPT only in the additional section.
        auto opt = ask(t, srv.port(), "test.example.", LDNS_RR_TYPE_OPT);
        REQUIRE(opt);
        INFO(to_text(opt->wire));
        CHECK(opt->msg.hdr.rcode == LDNS_RCODE_FORMERR);
    });
}

TEST_CASE("QDCOUNT other than 1 is a FORMERR", "[e2e][formerr]") {
    on_both_transports_then_serving([&](Transport t, Server& srv) {
        expect_formerr(t, srv.port(), make_header(0x0a0a, 0x0000, 0, 0, 0, 0));

        Bytes two = make_header(0x0b0b, 0x0000, 2, 0, 0, 0);
        append(two, wire_question("www.test.example.", LDNS_RR_TYPE_A));
        append(two, wire_question("ns1.test.example.", LDNS_RR_TYPE_A));
        expect_formerr(t, srv.port(), two);
    });
}

// What dnslb/dns/query.cpp decides for each malformed packet, pinned case by case: a question
// that does not parse is a FORMERR with the header only (QDCOUNT 0); a question that parses
// followed by a broken OPT is a FORMERR echoing the question, without OPT; a packet shorter than
// a header or with QR=1 gets nothing. A FORMERR echoes the ID, the opcode and RD, and sets QR
// only (no AA, TC, RA).
TEST_CASE("malformed packets: FORMERR or drop as pinned per case; the server keeps answering",
          "[e2e][formerr]") {
    Server srv(test_zones());
    E2E_START(srv);

    constexpr uint16_t kRD = 0x0100;
    Bytes truncated = make_header(0x0c01, kRD, 1, 0, 0, 0);
    Bytes full_q = wire_question("www.test.example.", LDNS_RR_TYPE_A);
    truncated.insert(truncated.end(), full_q.begin(), full_q.begin() + 7);

    Bytes no_type = make_header(0x0c02, 0, 1, 0, 0, 0);
    append(no_type, wire_name("www.test.example."));  // name, then nothing

    Bytes self_loop = make_header(0x0c03, kRD, 1, 0, 0, 0);
    append(self_loop, Bytes{0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01});  // pointer to itself

    Bytes two_hop = make_header(0x0c04, 0, 1, 0, 0, 0);
    // offset 12: label "a" then a pointer to 12: a.a.a.a... forever
    append(two_hop, Bytes{0x01, 'a', 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01});

    Bytes forward_ptr = make_header(0x0c05, 0, 1, 0, 0, 0);
    append(forward_ptr, Bytes{0xc0, 0xff, 0x00, 0x01, 0x00, 0x01});  // past the end

    Bytes long_label = make_header(0x0c06, 0, 1, 0, 0, 0);
    long_label.push_back(0x40);  // 64: reserved label type bits 01
    long_label.insert(long_label.end(), 64, 'x');
    append(long_label, Bytes{0x00, 0x00, 0x01, 0x00, 0x01});

    Bytes bad_opt = make_header(0x0c07, kRD, 1, 0, 0, 1);
    append(bad_opt, full_q);
    append(bad_opt, Bytes{0x00, 0x00, 0x29, 0x04, 0xd0, 0, 0, 0, 0, 0x00, 0x20, 0x00});  // rdlen 32

    Bytes short_header{0x12, 0x34, 0x01};

    Bytes response = make_header(0x0c08, 0x8000, 1, 0, 0, 0);  // QR=1
    append(response, full_q);

    Bytes header_only_response = make_header(0x0c09, 0x8000, 0, 0, 0, 0);

    enum class Expect { kFormErrNoQuestion, kFormErrWithQuestion, kDrop };
    struct Case {
        const char* what;
        Bytes bytes;
        Expect expect;
    };
    const std::vector<Case> cases{
        {"truncated question", truncated, Expect::kFormErrNoQuestion},
        {"name without type/class", no_type, Expect::kFormErrNoQuestion},
        {"pointer to itself", self_loop, Expect::kFormErrNoQuestion},
        {"pointer loop through a label", two_hop, Expect::kFormErrNoQuestion},
        {"pointer past the end", forward_ptr, Expect::kFormErrNoQuestion},
        {"label length 64", long_label, Expect::kFormErrNoQuestion},
        {"OPT rdata past the end", bad_opt, Expect::kFormErrWithQuestion},
        {"3-byte packet", short_header, Expect::kDrop},
        {"a response (QR=1)", response, Expect::kDrop},
        {"a bare response header", header_only_response, Expect::kDrop},
    };
    for (Transport t : kBoth) {
        INFO(transport_name(t));
        // Positive control: the server answers on this transport, so a silence below is a drop
        // and not a dead server.
        auto alive = ask(t, srv.port(), "www.test.example.", LDNS_RR_TYPE_A);
        REQUIRE(alive);
        REQUIRE(answered(alive->wire));
        for (const auto& c : cases) {
            INFO(c.what);
            auto r = ask_wire(t, srv.port(), c.bytes, 700ms);
            if (c.expect == Expect::kDrop) {
                CHECK_FALSE(r.has_value());
            } else {
                REQUIRE(r);
                INFO(to_text(r->wire));
                const Header h = header(r->wire);
                const bool with_q = c.expect == Expect::kFormErrWithQuestion;
                CHECK(r->wire.size() == 12 + (with_q ? full_q.size() : 0));
                CHECK(h.id == wire_id(c.bytes));
                CHECK(h.qr);
                CHECK(h.opcode == 0);
                CHECK(h.rd == ((c.bytes[2] & 0x01) != 0));
                CHECK_FALSE(h.aa);
                CHECK_FALSE(h.tc);
                CHECK_FALSE(h.ra);
                CHECK(h.rcode == LDNS_RCODE_FORMERR);
                CHECK(h.qdcount == (with_q ? 1 : 0));
                CHECK(h.ancount == 0);
                CHECK(h.nscount == 0);
                CHECK(h.arcount == 0);
                if (with_q) {
                    CHECK(Bytes(r->wire.begin() + 12, r->wire.end()) == full_q);
                }
            }
            check_still_serving(srv.port());
        }
    }
    E2E_STOP_CLEAN(srv);
}

TEST_CASE("CHAOS identity queries", "[e2e][chaos]") {
    SECTION("answered with the configured strings") {
        ServerOptions o = test_zones();
        o.extra_args = {"--chaos-version", "dnslb e2e 1.2.3", "--chaos-id", "node-7"};
        Server srv(o);
        E2E_START(srv);
        for (Transport t : kBoth) {
            INFO(transport_name(t));
            QueryOptions ch;
            ch.klass = LDNS_RR_CLASS_CH;
            for (auto [name, value] : {std::pair{"version.bind.", "\"dnslb e2e 1.2.3\""},
                                       std::pair{"VERSION.Bind.", "\"dnslb e2e 1.2.3\""},
                                       std::pair{"id.server.", "\"node-7\""}}) {
                INFO(name);
                auto r = ask(t, srv.port(), name, LDNS_RR_TYPE_TXT, ch);
                REQUIRE(r);
                INFO(to_text(r->wire));
                REQUIRE(r->pkt);
                CHECK(r->msg.hdr.rcode == LDNS_RCODE_NOERROR);
                auto txt = records(r->pkt, LDNS_SECTION_ANSWER, LDNS_RR_TYPE_TXT);
                REQUIRE(txt.size() == 1);
                CHECK(ldns_rr_get_class(txt[0]) == LDNS_RR_CLASS_CH);
                CHECK(owner(txt[0]) == lower(name));
                CHECK(rdata_text(txt[0]) == value);
            }
            // The same names in class IN are not ours.
            auto in = ask(t, srv.port(), "version.bind.", LDNS_RR_TYPE_TXT);
            REQUIRE(in);
            CHECK(in->msg.hdr.rcode == LDNS_RCODE_REFUSED);
        }
        E2E_STOP_CLEAN(srv);
    }
    SECTION("REFUSED when not configured") {
        Server srv(test_zones());
        E2E_START(srv);
        for (Transport t : kBoth) {
            INFO(transport_name(t));
            QueryOptions ch;
            ch.klass = LDNS_RR_CLASS_CH;
            for (const char* name : {"version.bind.", "id.server."}) {
                INFO(name);
                auto r = ask(t, srv.port(), name, LDNS_RR_TYPE_TXT, ch);
                REQUIRE(r);
                INFO(to_text(r->wire));
                CHECK(r->msg.hdr.rcode == LDNS_RCODE_REFUSED);
                CHECK(r->msg.hdr.ancount == 0);
            }
        }
        E2E_STOP_CLEAN(srv);
    }
}

TEST_CASE("TCP: several queries on one connection, pipelined", "[e2e][tcp]") {
    Server srv(test_zones());
    E2E_START(srv);
    TcpConnection conn(srv.port());
    REQUIRE(conn.connected());

    // One after the other on the same connection (RFC 7766 section 6.2.1).
    for (uint16_t id : {uint16_t{0x5001}, uint16_t{0x5002}, uint16_t{0x5003}}) {
        QueryOptions q;
        q.id = id;
        REQUIRE(conn.send_message(make_query("www.test.example.", LDNS_RR_TYPE_A, q)));
        auto r = conn.receive_message();
        REQUIRE(r);
        CHECK(wire_id(*r) == id);
    }

    // Two queries in one write; answers may come in either order (RFC 7766 section 7).
    QueryOptions qa;
    qa.id = 0x6001;
    QueryOptions qb;
    qb.id = 0x6002;
    Bytes a = make_query("www.test.example.", LDNS_RR_TYPE_A, qa);
    Bytes b = make_query("ns1.test.example.", LDNS_RR_TYPE_AAAA, qb);
    Bytes both{static_cast<uint8_t>(a.size() >> 8), static_cast<uint8_t>(a.size())};
    append(both, a);
    both.push_back(static_cast<uint8_t>(b.size() >> 8));
    both.push_back(static_cast<uint8_t>(b.size()));
    append(both, b);
    REQUIRE(conn.send_raw(both));
    std::set<uint16_t> ids;
    for (int i = 0; i < 2; ++i) {
        auto r = conn.receive_message();
        REQUIRE(r);
        Reply reply{*r, walk(*r), parse(*r)};
        INFO(to_text(*r));
        ids.insert(reply.msg.hdr.id);
        if (reply.msg.hdr.id == 0x6001) {
            check_answer(reply, "www.test.example.", LDNS_RR_TYPE_A, {"192.0.2.10"});
        } else {
            check_answer(reply, "ns1.test.example.", LDNS_RR_TYPE_AAAA, {"2001:db8::1"});
        }
    }
    CHECK(ids == std::set<uint16_t>{0x6001, 0x6002});

    // A query split across writes is reassembled.
    QueryOptions qc;
    qc.id = 0x6003;
    Bytes c = make_query("www.test.example.", LDNS_RR_TYPE_A, qc);
    Bytes framed{static_cast<uint8_t>(c.size() >> 8), static_cast<uint8_t>(c.size())};
    append(framed, c);
    REQUIRE(conn.send_raw(Bytes(framed.begin(), framed.begin() + 1)));
    std::this_thread::sleep_for(50ms);
    REQUIRE(conn.send_raw(Bytes(framed.begin() + 1, framed.begin() + 9)));
    std::this_thread::sleep_for(50ms);
    REQUIRE(conn.send_raw(Bytes(framed.begin() + 9, framed.end())));
    auto rc = conn.receive_message();
    REQUIRE(rc);
    CHECK(wire_id(*rc) == 0x6003);
    E2E_STOP_CLEAN(srv);
}

TEST_CASE("TCP: idle connections are closed", "[e2e][tcp]") {
    ServerOptions o = test_zones();
    o.extra_args = {"--tcp-idle-timeout", "1"};
    Server srv(o);
    E2E_START(srv);
    SECTION("after a query") {
        TcpConnection conn(srv.port());
        REQUIRE(conn.connected());
        REQUIRE(conn.send_message(make_query("www.test.example.", LDNS_RR_TYPE_A)));
        REQUIRE(conn.receive_message());
        CHECK(conn.wait_closed(3000ms));
    }
    SECTION("without any query") {
        TcpConnection conn(srv.port());
        REQUIRE(conn.connected());
        CHECK(conn.wait_closed(3000ms));
    }
    SECTION("with half a message sent") {
        TcpConnection conn(srv.port());
        REQUIRE(conn.connected());
        REQUIRE(conn.send_raw(Bytes{0x00, 0x40, 0x12}));
        CHECK(conn.wait_closed(3000ms));
    }
    check_still_serving(srv.port());
    E2E_STOP_CLEAN(srv);
}
