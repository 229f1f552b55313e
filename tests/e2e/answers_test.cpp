// What a resolver sees from the zones in tests/e2e/zones: flags, negative answers, CNAME
// chains, wildcards, delegations and zone selection (RFC 1034, 1035, 2308, 4592).
#include <catch2/catch.hpp>

#include "tests/e2e/checks.hpp"
#include "tests/e2e/harness.hpp"

using namespace dnslb::e2e;

namespace {

constexpr const char* kDs =
    "12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

}  // namespace

TEST_CASE("authoritative answer: flags, id, question, ttl", "[e2e][answer]") {
    on_both_transports(test_zones(), [&](Transport t, Server& srv) {
        QueryOptions q;
        q.id = 0x4a3c;
        q.rd = true;
        auto r = ask(t, srv.port(), "www.test.example.", LDNS_RR_TYPE_A, q);
        REQUIRE(r);
        INFO(to_text(r->wire));
        CHECK(r->msg.ok);
        CHECK(r->msg.hdr.id == 0x4a3c);
        CHECK(r->msg.hdr.qr);
        CHECK(r->msg.hdr.opcode == 0);
        CHECK(r->msg.hdr.aa);
        CHECK_FALSE(r->msg.hdr.tc);
        CHECK(r->msg.hdr.rd);  // RFC 1035 4.1.1: RD is copied into the response
        CHECK_FALSE(r->msg.hdr.ra);
        CHECK(r->msg.hdr.qdcount == 1);
        check_answer(*r, "www.test.example.", LDNS_RR_TYPE_A, {"192.0.2.10"});
        auto a = records(r->pkt, LDNS_SECTION_ANSWER);
        REQUIRE(a.size() == 1);
        CHECK(ldns_rr_ttl(a[0]) == 3600);
        CHECK(ldns_rr_get_class(a[0]) == LDNS_RR_CLASS_IN);

        // An explicit per-RRset TTL wins over the zone default.
        expect_answer(t, srv.port(), "ns2.test.example.", LDNS_RR_TYPE_A, {"192.0.2.2"}, 86400);

        // Several strings in one TXT record survive presentation -> wire -> presentation.
        expect_answer(t, srv.port(), "www.test.example.", LDNS_RR_TYPE_TXT,
                      {"\"hello\" \"world\""});
        expect_answer(t, srv.port(), "ns1.test.example.", LDNS_RR_TYPE_AAAA, {"2001:db8::1"});
        expect_answer(t, srv.port(), "test.example.", LDNS_RR_TYPE_NS,
                      {"ns1.test.example.", "ns2.test.example."});
        expect_answer(t, srv.port(), "test.example.", LDNS_RR_TYPE_SOA,
                      {"ns1.test.example. hostmaster.test.example. 2024010101 3600 600 1209600 "
                       "300"});
    });
}

TEST_CASE("question echoed with the query's letter case; answer owner compressed",
          "[e2e][answer]") {
    Server srv(test_zones());
    E2E_START(srv);
    Bytes query = make_header(0x0101, 0x0000, 1, 0, 0, 0);
    Bytes question = wire_question("WwW.TeSt.ExAmPlE.", LDNS_RR_TYPE_A);
    append(query, question);
    for (Transport t : kBoth) {
        INFO(transport_name(t));
        auto r = ask_wire(t, srv.port(), query);
        REQUIRE(r);
        INFO(to_text(r->wire));
        REQUIRE(r->msg.ok);
        REQUIRE(r->wire.size() >= 12 + question.size());
        CHECK(Bytes(r->wire.begin() + 12,
                    r->wire.begin() + 12 + static_cast<std::ptrdiff_t>(question.size())) ==
              question);
        REQUIRE(r->msg.answer.size() == 1);
        size_t at = r->msg.answer[0].owner_offset;
        REQUIRE(at + 1 < r->wire.size());
        // RFC 1035 4.1.4: the owner is the question name, a pointer to offset 12.
        CHECK(r->wire[at] == 0xc0);
        CHECK(r->wire[at + 1] == 0x0c);
        CHECK(r->msg.answer[0].owner == "www.test.example.");
    }
    E2E_STOP_CLEAN(srv);
}

TEST_CASE("NXDOMAIN and NODATA carry the SOA with the negative TTL", "[e2e][negative]") {
    on_both_transports(test_zones(), [&](Transport t, Server& srv) {
        // RFC 2308 section 3: TTL of the SOA = min(SOA TTL 3600, SOA minimum 300).
        for (const char* name : {"nope.test.example.", "x.www.test.example.",
                                 "c.deep.test.example.", "a.b.c.nope.test.example."}) {
            INFO(name);
            auto r = ask(t, srv.port(), name, LDNS_RR_TYPE_A);
            REQUIRE(r);
            check_negative(*r, LDNS_RCODE_NXDOMAIN, "test.example.", 300);
            auto soa = records(r->pkt, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_SOA);
            REQUIRE(soa.size() == 1);
            CHECK(lower(rdata_text(soa[0])) ==
                  "ns1.test.example. hostmaster.test.example. 2024010101 3600 600 1209600 300");
        }
        // The other zone has TTL 60 < minimum 300: the TTL is the lower one there too.
        expect_negative(t, srv.port(), "nope.sub.test.example.", LDNS_RR_TYPE_A,
                        LDNS_RCODE_NXDOMAIN, "sub.test.example.", 60);

        // NODATA: the name exists, the type does not.
        for (auto [name, type] : {std::pair{"www.test.example.", LDNS_RR_TYPE_MX},
                                  std::pair{"ns2.test.example.", LDNS_RR_TYPE_AAAA},
                                  std::pair{"test.example.", LDNS_RR_TYPE_A}}) {
            expect_negative(t, srv.port(), name, type, LDNS_RCODE_NOERROR, "test.example.", 300);
        }
    });
}

TEST_CASE("empty non-terminals are NODATA, not NXDOMAIN", "[e2e][negative]") {
    on_both_transports(test_zones(), [&](Transport t, Server& srv) {
        // Only a.b.deep exists: b.deep and deep exist as empty non-terminals (RFC 8020
        // forbids NXDOMAIN for them, since names below exist).
        for (const char* name : {"b.deep.test.example.", "deep.test.example."}) {
            expect_negative(t, srv.port(), name, LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR,
                            "test.example.", 300);
        }
        expect_answer(t, srv.port(), "a.b.deep.test.example.", LDNS_RR_TYPE_A, {"192.0.2.30"});
    });
}

TEST_CASE("CNAME chains are followed inside the zone", "[e2e][cname]") {
    on_both_transports(test_zones(), [&](Transport t, Server& srv) {
        auto r = ask(t, srv.port(), "alias1.test.example.", LDNS_RR_TYPE_A);
        REQUIRE(r);
        INFO(to_text(r->wire));
        auto an = noerror_answer(*r);
        CHECK(r->msg.hdr.aa);
        REQUIRE(an.size() == 3);
        // RFC 1034 4.3.2 step 3a: each CNAME, in chain order, then the target's RRset.
        check_rr(an[0], "alias1.test.example.", LDNS_RR_TYPE_CNAME, "alias2.test.example.");
        check_rr(an[1], "alias2.test.example.", LDNS_RR_TYPE_CNAME, "target.test.example.");
        check_rr(an[2], "target.test.example.", LDNS_RR_TYPE_A, "192.0.2.20");

        // Asking for the CNAME itself returns it without following.
        expect_answer(t, srv.port(), "alias1.test.example.", LDNS_RR_TYPE_CNAME,
                      {"alias2.test.example."});

        // The chain ends at a name without the type: the CNAMEs, then NODATA (RFC 2308 2.2).
        auto nodata = ask(t, srv.port(), "alias1.test.example.", LDNS_RR_TYPE_MX);
        REQUIRE(nodata);
        INFO(to_text(nodata->wire));
        CHECK(noerror_answer(*nodata).size() == 2);
        CHECK(records(nodata->pkt, LDNS_SECTION_ANSWER, LDNS_RR_TYPE_CNAME).size() == 2);
        CHECK(records(nodata->pkt, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_SOA).size() == 1);

        // A CNAME to a wildcard-covered name: the synthesized target follows.
        auto w = ask(t, srv.port(), "alias-wild.test.example.", LDNS_RR_TYPE_A);
        REQUIRE(w);
        INFO(to_text(w->wire));
        auto wa = records(w->pkt, LDNS_SECTION_ANSWER);
        REQUIRE(wa.size() == 2);
        CHECK(ldns_rr_get_type(wa[0]) == LDNS_RR_TYPE_CNAME);
        CHECK(owner(wa[1]) == "foo.tenant.test.example.");
        CHECK(rdata_text(wa[1]) == "192.0.2.80");
    });
}

TEST_CASE("a CNAME loop terminates with the CNAMEs found", "[e2e][cname]") {
    on_both_transports(
        test_zones(),
        [&](Transport t, Server& srv) {
            auto r = ask(t, srv.port(), "loop-a.test.example.", LDNS_RR_TYPE_A);
            REQUIRE(r);  // an answer, within the 2 s timeout
            INFO(to_text(r->wire));
            auto an = noerror_answer(*r);
            // Each CNAME once: a section holds sets, a repeated record is a protocol error.
            REQUIRE(an.size() == 2);
            check_rr(an[0], "loop-a.test.example.", LDNS_RR_TYPE_CNAME, "loop-b.test.example.");
            check_rr(an[1], "loop-b.test.example.", LDNS_RR_TYPE_CNAME, "loop-a.test.example.");
        },
        [&](Server& srv) {
            // Still serving after the loop.
            expect_answer(Transport::kUdp, srv.port(), "www.test.example.", LDNS_RR_TYPE_A,
                          {"192.0.2.10"});
        });
}

TEST_CASE("a CNAME out of the zone is returned alone", "[e2e][cname]") {
    on_both_transports(test_zones(), [&](Transport t, Server& srv) {
        auto r = ask(t, srv.port(), "ext.test.example.", LDNS_RR_TYPE_A);
        REQUIRE(r);
        check_answer(*r, "ext.test.example.", LDNS_RR_TYPE_CNAME, {"www.example.net."});
    });
}

TEST_CASE("wildcards synthesize per RFC 4592", "[e2e][wildcard]") {
    on_both_transports(test_zones(), [&](Transport t, Server& srv) {
        // Owner of the synthesized record = the query name (RFC 4592 section 3.3.1).
        for (const char* name : {"x.tenant.test.example.", "x.y.tenant.test.example."}) {
            expect_answer(t, srv.port(), name, LDNS_RR_TYPE_A, {"192.0.2.80"});
        }
        // The wildcard's own name answers literally.
        expect_answer(t, srv.port(), "*.tenant.test.example.", LDNS_RR_TYPE_A, {"192.0.2.80"});
        // An existing name never uses the wildcard: real.tenant has TXT only.
        expect_answer(t, srv.port(), "real.tenant.test.example.", LDNS_RR_TYPE_TXT, {"\"real\""});
        // *.w and a.b.w: x.w is synthesized, b.w is an ENT (NODATA), and for x.b.w the closest
        // encloser is b.w whose *.b.w does not exist: NXDOMAIN (RFC 4592 section 2.2.2).
        expect_answer(t, srv.port(), "x.w.test.example.", LDNS_RR_TYPE_A, {"192.0.2.81"});
        expect_answer(t, srv.port(), "a.b.w.test.example.", LDNS_RR_TYPE_A, {"192.0.2.82"});

        struct Negative {
            const char* name;
            ldns_rr_type type;
            ldns_pkt_rcode rcode;
            const char* why;
        };
        for (const Negative& c : {
                 Negative{"x.tenant.test.example.", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR,
                          "wildcard owner without the type: NODATA"},
                 Negative{"real.tenant.test.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR,
                          "an existing name never uses the wildcard"},
                 Negative{"tenant.test.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR,
                          "tenant itself is an empty non-terminal"},
                 Negative{"b.w.test.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR,
                          "b.w is an empty non-terminal"},
                 Negative{"x.b.w.test.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN,
                          "no *.b.w below the closest encloser b.w"},
             }) {
            INFO(c.why);
            expect_negative(t, srv.port(), c.name, c.type, c.rcode, "test.example.", 300);
        }
    });
}

TEST_CASE("names at and below a zone cut get a referral", "[e2e][delegation]") {
    on_both_transports(test_zones(), [&](Transport t, Server& srv) {
        for (auto [name, type] : {std::pair{"child.test.example.", LDNS_RR_TYPE_A},
                                  std::pair{"child.test.example.", LDNS_RR_TYPE_NS},
                                  std::pair{"www.child.test.example.", LDNS_RR_TYPE_A},
                                  std::pair{"ns.child.test.example.", LDNS_RR_TYPE_A},
                                  std::pair{"a.b.child.test.example.", LDNS_RR_TYPE_AAAA},
                                  std::pair{"x.child.test.example.", LDNS_RR_TYPE_DS}}) {
            INFO(name << " " << type);
            auto r = ask(t, srv.port(), name, type);
            REQUIRE(r);
            INFO(to_text(r->wire));
            REQUIRE(r->pkt);
            CHECK(ldns_pkt_get_rcode(r->pkt.get()) == LDNS_RCODE_NOERROR);
            CHECK_FALSE(r->msg.hdr.aa);  // RFC 1034 4.3.2 step 3b: not authoritative
            CHECK(r->msg.hdr.ancount == 0);
            auto ns = records(r->pkt, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_NS);
            REQUIRE(ns.size() == 2);
            for (ldns_rr* rr : ns) {
                CHECK(owner(rr) == "child.test.example.");
            }
            CHECK(rdatas(r->pkt, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_NS) ==
                  std::vector<std::string>{"ns.child.test.example.", "ns.elsewhere.example.net."});
            CHECK(records(r->pkt, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_SOA).empty());
            // Glue for the in-bailiwick server, both families.
            auto glue_a = records(r->pkt, LDNS_SECTION_ADDITIONAL, LDNS_RR_TYPE_A);
            auto glue_aaaa = records(r->pkt, LDNS_SECTION_ADDITIONAL, LDNS_RR_TYPE_AAAA);
            REQUIRE(glue_a.size() == 1);
            REQUIRE(glue_aaaa.size() == 1);
            CHECK(owner(glue_a[0]) == "ns.child.test.example.");
            CHECK(rdata_text(glue_a[0]) == "192.0.2.99");
            CHECK(owner(glue_aaaa[0]) == "ns.child.test.example.");
            CHECK(rdata_text(glue_aaaa[0]) == "2001:db8::99");
        }
        // DS lives on the parent side of the cut (RFC 4035 section 3.1.4.1): authoritative.
        expect_answer(t, srv.port(), "child.test.example.", LDNS_RR_TYPE_DS, {kDs});
    });
}

TEST_CASE("names outside every zone are REFUSED", "[e2e][zones]") {
    on_both_transports(test_zones(), [&](Transport t, Server& srv) {
        for (const char* name : {"example.org.", "example.", "test.example.net.", "."}) {
            INFO(name);
            QueryOptions q;
            q.id = 0x7777;
            auto r = ask(t, srv.port(), name, LDNS_RR_TYPE_A, q);
            REQUIRE(r);
            INFO(to_text(r->wire));
            CHECK(r->msg.hdr.id == 0x7777);
            CHECK(r->msg.hdr.qr);
            CHECK(r->msg.hdr.rcode == LDNS_RCODE_REFUSED);
            CHECK_FALSE(r->msg.hdr.aa);
            CHECK(r->msg.hdr.ancount == 0);
        }
    });
}

TEST_CASE("the longest matching zone answers", "[e2e][zones]") {
    on_both_transports(test_zones(), [&](Transport t, Server& srv) {
        // test.example has its own www.sub record: the more specific zone hides it.
        expect_answer(t, srv.port(), "www.sub.test.example.", LDNS_RR_TYPE_A, {"192.0.2.200"}, 60);
        expect_answer(t, srv.port(), "sub.test.example.", LDNS_RR_TYPE_SOA,
                      {"ns1.test.example. hostmaster.test.example. 7 3600 600 1209600 300"});
        auto parent = ask(t, srv.port(), "test.example.", LDNS_RR_TYPE_SOA);
        REQUIRE(parent);
        auto psoa = records(parent->pkt, LDNS_SECTION_ANSWER, LDNS_RR_TYPE_SOA);
        REQUIRE(psoa.size() == 1);
        CHECK(ldns_rdf2native_int32(ldns_rr_rdf(psoa[0], 2)) == 2024010101U);
    });
}

TEST_CASE("the example zones answer", "[e2e][examples]") {
    ServerOptions o;
    o.zones_dir = example_zones_dir();
    on_both_transports(o, [&](Transport t, Server& srv) {
        expect_answer(t, srv.port(), "ns1.lb.example.com.", LDNS_RR_TYPE_A, {"192.0.2.53"});

        auto www = ask(t, srv.port(), "www.lb.example.com.", LDNS_RR_TYPE_A);
        REQUIRE(www);
        INFO(to_text(www->wire));
        auto an = noerror_answer(*www);
        CHECK(www->msg.hdr.aa);
        REQUIRE(an.size() >= 2);
        check_rr(an[0], "www.lb.example.com.", LDNS_RR_TYPE_CNAME, "app.lb.example.com.");
        for (size_t i = 1; i < an.size(); ++i) {
            CHECK(owner(an[i]) == "app.lb.example.com.");
            CHECK(ldns_rr_get_type(an[i]) == LDNS_RR_TYPE_A);
        }
    });
}

namespace {

struct DigResult {
    std::string output;
    std::string status;
    std::string flags;
};

DigResult dig(uint16_t port, const std::string& args) {
    DigResult d;
    int st = 0;
    d.output = run_command("dig @127.0.0.1 -p " + std::to_string(port) +
                               " +time=2 +tries=1 +norecurse " + args + " 2>&1",
                           &st);
    auto find_after = [&](const std::string& key, char end) {
        size_t at = d.output.find(key);
        if (at == std::string::npos) {
            return std::string();
        }
        at += key.size();
        return d.output.substr(at, d.output.find(end, at) - at);
    };
    d.status = find_after("status: ", ',');
    d.flags = " " + find_after(";; flags: ", ';') + " ";
    return d;
}

}  // namespace

TEST_CASE("dig as a client over UDP and TCP", "[e2e][dig]") {
    Server srv(test_zones());
    E2E_START(srv);
    for (const char* transport : {"+notcp", "+tcp"}) {
        INFO(transport);
        DigResult ok = dig(srv.port(), std::string(transport) + " www.test.example. A");
        INFO(ok.output);
        CHECK(ok.status == "NOERROR");
        CHECK(ok.flags.find(" qr ") != std::string::npos);
        CHECK(ok.flags.find(" aa ") != std::string::npos);
        CHECK(ok.flags.find(" ra ") == std::string::npos);
        CHECK(ok.output.find("192.0.2.10") != std::string::npos);

        DigResult nx = dig(srv.port(), std::string(transport) + " nope.test.example. A");
        INFO(nx.output);
        CHECK(nx.status == "NXDOMAIN");
        CHECK(nx.flags.find(" aa ") != std::string::npos);

        DigResult refused = dig(srv.port(), std::string(transport) + " example.org. A");
        INFO(refused.output);
        CHECK(refused.status == "REFUSED");
        CHECK(refused.flags.find(" aa ") == std::string::npos);
    }
    E2E_STOP_CLEAN(srv);
}
