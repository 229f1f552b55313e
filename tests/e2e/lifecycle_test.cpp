// The process around the answers: start-up from flags or a config file, signals, listening on
// IPv6, several workers, and a zone directory holding a broken zone.
#include <catch2/catch.hpp>

#include <signal.h>

#include <thread>

#include "tests/e2e/checks.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/e2e/zone_json.hpp"
#include "tests/support/wait_until.hpp"

using namespace dnslb::e2e;

namespace {

const std::string kGoodZone = zone_json("good.example.", R"(    "@":   { "NS": ["ns1"] },
    "ns1": { "A": ["192.0.2.1"] },
    "www": { "A": ["192.0.2.7"] })");

// Everything valid except one A RDATA: the error is at /records/www/A/0.
const std::string kBadRdataZone = zone_json("bad.example.", R"(    "@":   { "NS": ["ns1"] },
    "ns1": { "A": ["192.0.2.1"] },
    "www": { "A": ["300.1.2.3"] })");

// Not JSON at all past the first line.
constexpr const char* kSyntaxErrorZone = R"({
  "origin": "broken.example.",
  "ttl": 300,,
}
)";

void check_www_good(Transport t, uint16_t port, bool v6 = false) {
    auto wire = v6 ? (t == Transport::kUdp
                          ? udp_exchange(port, make_query("www.good.example.", LDNS_RR_TYPE_A),
                                         2000ms, true)
                          : tcp_exchange(port, make_query("www.good.example.", LDNS_RR_TYPE_A),
                                         2000ms, true))
                   : exchange(t, port, make_query("www.good.example.", LDNS_RR_TYPE_A));
    REQUIRE(wire);
    Reply r{*wire, walk(*wire), parse(*wire)};
    check_answer(r, "www.good.example.", LDNS_RR_TYPE_A, {"192.0.2.7"});
}

}  // namespace

TEST_CASE("SIGTERM and SIGINT stop the server cleanly", "[e2e][lifecycle]") {
    TempDir zones;
    zones.write("good.example.json", kGoodZone);
    for (int sig : {SIGTERM, SIGINT}) {
        INFO("signal " << sig);
        ServerOptions o;
        o.zones_dir = zones.path();
        Server srv(o);
        E2E_START(srv);
        check_www_good(Transport::kUdp, srv.port());
        // With a TCP connection still open: shutting down must not wait for it.
        TcpConnection idle(srv.port());
        REQUIRE(idle.connected());
        ExitInfo e = srv.stop(sig);
        INFO("stderr:\n" << srv.stderr_text());
        CHECK(e.exited);
        CHECK(e.status == 0);
    }
}

TEST_CASE("SIGTERM right after the first answer still exits cleanly", "[e2e][lifecycle]") {
    // Once the server answers, a supervisor may stop it at any moment: the signal handlers
    // must be in place before the sockets serve (otherwise the default action kills it).
    TempDir zones;
    zones.write("good.example.json", kGoodZone);
    for (int i = 0; i < 60; ++i) {
        ServerOptions o;
        o.zones_dir = zones.path();
        Server srv(o);
        E2E_START(srv);
        ExitInfo e = srv.stop(SIGTERM);
        INFO("attempt " << i << ": exited=" << e.exited << " status=" << e.status
                        << " signal=" << e.signal << "\nstderr:\n"
                        << srv.stderr_text());
        REQUIRE(e.clean());
    }
}

TEST_CASE("a zone directory with broken zones serves the good ones", "[e2e][lifecycle]") {
    TempDir zones;
    zones.write("good.example.json", kGoodZone);
    zones.write("bad.example.json", kBadRdataZone);
    zones.write("broken.example.json", kSyntaxErrorZone);
    // Schemas sit beside zones and are not zones.
    zones.write("zone.schema.json",
                R"({"$schema": "https://json-schema.org/draft/2020-12/schema"})");
    ServerOptions o;
    o.zones_dir = zones.path();
    on_both_transports(
        o,
        [&](Transport t, Server& srv) {
            check_www_good(t, srv.port());
            for (const char* name :
                 {"www.bad.example.", "ns1.bad.example.", "www.broken.example."}) {
                INFO(name);
                auto r = ask(t, srv.port(), name, LDNS_RR_TYPE_A);
                REQUIRE(r);
                INFO(to_text(r->wire));
                CHECK(r->msg.hdr.rcode == LDNS_RCODE_REFUSED);
                CHECK_FALSE(r->msg.hdr.aa);
            }
        },
        [&](Server& srv) {
            std::string log = srv.stderr_text();
            INFO("stderr:\n" << log);
            CHECK(log.find("bad.example.json") != std::string::npos);
            CHECK(log.find("/records/www") != std::string::npos);  // the JSON pointer of the error
            CHECK(log.find("broken.example.json") != std::string::npos);
            CHECK(log.find("zone.schema.json") == std::string::npos);
        });
}

TEST_CASE("SIGHUP reloads zones; a broken zone keeps its previous version", "[e2e][lifecycle]") {
    TempDir zones;
    zones.write("good.example.json", kGoodZone);
    ServerOptions o;
    o.zones_dir = zones.path();
    Server srv(o);
    E2E_START(srv);
    check_www_good(Transport::kUdp, srv.port());

    auto www_a = [&]() {
        auto r = ask(Transport::kUdp, srv.port(), "www.good.example.", LDNS_RR_TYPE_A);
        return r ? rdatas(r->pkt, LDNS_SECTION_ANSWER, LDNS_RR_TYPE_A) : std::vector<std::string>{};
    };
    auto wait_for = [&](const std::vector<std::string>& want) {
        for (int i = 0; i < 60; ++i) {
            if (www_a() == want) {
                return true;
            }
            std::this_thread::sleep_for(50ms);
        }
        return false;
    };

    std::string changed = kGoodZone;
    changed.replace(changed.find("192.0.2.7"), 9, "192.0.2.8");
    zones.write("good.example.json", changed);
    srv.signal(SIGHUP);
    CHECK(wait_for({"192.0.2.8"}));

    // Now break it: the reload fails, the last good version keeps answering.
    std::string broken = changed;
    broken.replace(broken.find("192.0.2.8"), 9, "192.0.2.999");
    zones.write("good.example.json", broken);
    srv.signal(SIGHUP);
    const bool logged = dnslb::test::wait_until(
        [&] { return srv.stderr_text().find("/records/www") != std::string::npos; }, 3000ms, 50ms);
    INFO("stderr:\n" << srv.stderr_text());
    CHECK(logged);
    CHECK(www_a() == std::vector<std::string>{"192.0.2.8"});
    E2E_STOP_CLEAN(srv);
}

TEST_CASE("a config file sets listen, zones, workers and chaos", "[e2e][lifecycle]") {
    TempDir zones;
    zones.write("good.example.json", kGoodZone);
    TempDir conf;
    uint16_t port = pick_free_port();
    std::string config = R"({
  "listen": ["127.0.0.1:)" +
                         std::to_string(port) + R"("],
  "workers": 2,
  "zones": ")" + zones.path() +
                         R"(",
  "chaos": { "version": "cfg-version-9", "id": "cfg-node" }
}
)";
    conf.write("dnslb.json", config);
    ServerOptions o;
    o.config_file = conf.path() + "/dnslb.json";
    o.pass_listen = false;
    o.port = port;
    on_both_transports(o, [&](Transport t, Server& /*srv*/) {
        check_www_good(t, port);
        QueryOptions ch;
        ch.klass = LDNS_RR_CLASS_CH;
        for (auto [name, value] : {std::pair{"version.bind.", "\"cfg-version-9\""},
                                   std::pair{"id.server.", "\"cfg-node\""}}) {
            INFO(name);
            auto r = ask(t, port, name, LDNS_RR_TYPE_TXT, ch);
            REQUIRE(r);
            INFO(to_text(r->wire));
            auto txt = records(r->pkt, LDNS_SECTION_ANSWER, LDNS_RR_TYPE_TXT);
            REQUIRE(txt.size() == 1);
            CHECK(rdata_text(txt[0]) == value);
        }
    });
}

TEST_CASE("listening on IPv6 and IPv4 at once", "[e2e][lifecycle]") {
    TempDir zones;
    zones.write("good.example.json", kGoodZone);
    ServerOptions o;
    o.zones_dir = zones.path();
    o.listen_v6 = true;
    on_both_transports(o, [&](Transport t, Server& srv) {
        check_www_good(t, srv.port(), false);
        check_www_good(t, srv.port(), true);
    });
}

TEST_CASE("any number of workers answers every query", "[e2e][lifecycle]") {
    TempDir zones;
    zones.write("good.example.json", kGoodZone);
    for (const char* workers : {"1", "4"}) {
        INFO("workers " << workers);
        ServerOptions o;
        o.zones_dir = zones.path();
        o.extra_args = {"--workers", workers};
        Server srv(o);
        E2E_START(srv);
        for (int i = 0; i < 20; ++i) {
            check_www_good(i % 2 == 0 ? Transport::kUdp : Transport::kTcp, srv.port());
        }
        E2E_STOP_CLEAN(srv);
    }
}
