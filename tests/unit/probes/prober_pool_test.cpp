#include "probes/prober_pool.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "tests/unit/probes/test_servers.hpp"

using dnslb::probes::CheckRequest;
using dnslb::probes::CheckResult;
using dnslb::probes::HealthTable;
using dnslb::probes::MonitorSpec;
using dnslb::probes::ProberPool;
using dnslb::probes::ProbeStats;
using dnslb::probes::State;
using probes_test::DnsServer;
using probes_test::HttpServer;
using probes_test::TlsServer;
using probes_test::wait_until;
using namespace std::chrono_literals;

namespace {

struct Seen {
    int32_t cell;
    bool ok;
    State state_after;
    std::string error;
};

// A table, a pool with two prober threads, and everything the pool logs and reports.
struct Harness {
    HealthTable table{1024};
    mutable std::mutex mutex;
    std::vector<std::string> lines;
    std::vector<Seen> seen;
    ProberPool pool{table, 2, [this](const std::string& line) {
                        std::lock_guard lock(mutex);
                        lines.push_back(line);
                    }};

    Harness() {
        pool.set_result_hook([this](const CheckResult& r) {
            std::lock_guard lock(mutex);
            seen.push_back({r.cell, r.ok, table.state(r.cell), r.error});
        });
    }
    bool logged(const std::string& needle) const {
        std::lock_guard lock(mutex);
        for (const auto& l : lines) {
            if (l.find(needle) != std::string::npos) {
                return true;
            }
        }
        return false;
    }
    std::vector<Seen> results(int32_t cell) const {
        std::lock_guard lock(mutex);
        std::vector<Seen> out;
        for (const auto& s : seen) {
            if (s.cell == cell) {
                out.push_back(s);
            }
        }
        return out;
    }
    // One request, one initial round; returns the cell.
    int32_t check_once(const CheckRequest& r, std::chrono::milliseconds bound = 5s) {
        auto ids = pool.set_checks({r});
        REQUIRE(ids.size() == 1);
        REQUIRE(ids[0] >= 0);
        pool.run_initial_round(bound);
        return ids[0];
    }
};

CheckRequest request(const std::string& spec_json, uint16_t port, const char* ip = "127.0.0.1",
                     const std::string& label = "pool web origin fra") {
    auto j = nlohmann::json::parse(spec_json);
    j["port"] = port;
    CheckRequest r;
    r.spec = MonitorSpec::from_json(j);
    r.family = std::string(ip).find(':') != std::string::npos ? AF_INET6 : AF_INET;
    inet_pton(r.family, ip, r.addr.data());
    r.label = label;
    return r;
}

}  // namespace

TEST_CASE("tcp check: listening port is up, refused port is down", "[pool]") {
    HttpServer server;
    uint16_t refused = probes_test::closed_port();
    Harness h;
    auto ids = h.pool.set_checks(
        {request(R"({"type": "tcp"})", server.port()), request(R"({"type": "tcp"})", refused)});
    h.pool.run_initial_round(5s);
    CHECK(h.table.state(ids[0]) == State::kUp);
    CHECK(h.table.snapshot(ids[0]).checks == 1);
    CHECK(h.table.state(ids[1]) == State::kDown);
    CHECK(h.table.snapshot(ids[1]).last_error == "connect refused");
    CHECK(h.logged("health: pool web origin fra 127.0.0.1:" + std::to_string(refused) +
                   " (tcp) up -> down: connect refused"));
}

TEST_CASE("IPv6 addresses: http up, tcp refused, bracketed in logs", "[pool]") {
    HttpServer server("::1");
    uint16_t refused = probes_test::closed_port("::1");
    Harness h;
    auto ids = h.pool.set_checks(
        {request(R"({"type": "http", "host": "v6.example.com"})", server.port(), "::1"),
         request(R"({"type": "http"})", server.port(), "::1"),
         request(R"({"type": "tcp"})", refused, "::1")});
    h.pool.run_initial_round(5s);
    CHECK(h.table.state(ids[0]) == State::kUp);
    CHECK(h.table.state(ids[1]) == State::kUp);
    CHECK(server.requests() == 2);
    CHECK(h.table.state(ids[2]) == State::kDown);
    CHECK(h.logged("[::1]:" + std::to_string(refused) + " (tcp) up -> down: connect refused"));
}

TEST_CASE("http 200 is up, 503 is down with the status as reason", "[pool]") {
    HttpServer ok_server;
    HttpServer bad_server("127.0.0.2");
    bad_server.set_status(503);
    Harness h;
    auto ids = h.pool.set_checks(
        {request(R"({"type": "http", "path": "/healthz", "host": "app.example.com"})",
                 ok_server.port()),
         request(R"({"type": "http"})", bad_server.port(), "127.0.0.2")});
    h.pool.run_initial_round(5s);
    CHECK(h.table.state(ids[0]) == State::kUp);
    CHECK(ok_server.last_request().rfind("GET /healthz HTTP/1.1\r\n", 0) == 0);
    CHECK(ok_server.last_request().find("Host: app.example.com:") != std::string::npos);
    CHECK(h.table.state(ids[1]) == State::kDown);
    CHECK(h.table.snapshot(ids[1]).last_error == "HTTP 503");
    CHECK(h.logged("127.0.0.2:" + std::to_string(bad_server.port()) +
                   " (http) up -> down: HTTP 503"));
}

TEST_CASE("http expect list and custom headers", "[pool]") {
    HttpServer server;
    server.set_status(301);
    Harness h;
    auto accept_3xx = request(R"({"type": "http", "expect": ["2xx", "3xx"],
                                  "headers": {"X-Probe": "yes"}})",
                              server.port());
    int32_t cell = h.check_once(accept_3xx);
    CHECK(h.table.state(cell) == State::kUp);
    CHECK(server.last_request().find("X-Probe: yes\r\n") != std::string::npos);
}

TEST_CASE("http body substring must be present", "[pool]") {
    HttpServer server;
    server.set_body("status: degraded");
    Harness h;
    auto ids =
        h.pool.set_checks({request(R"({"type": "http", "body": "status: ok"})", server.port()),
                           request(R"({"type": "http", "body": "degraded"})", server.port())});
    h.pool.run_initial_round(5s);
    CHECK(h.table.state(ids[0]) == State::kDown);
    CHECK(h.table.snapshot(ids[0]).last_error == "body mismatch");
    CHECK(h.table.state(ids[1]) == State::kUp);
}

TEST_CASE("a slow server is cut at the timeout", "[pool]") {
    HttpServer server;
    server.set_delay_ms(3000);
    Harness h;
    auto started = std::chrono::steady_clock::now();
    int32_t cell = h.check_once(request(R"({"type": "http", "timeout": "300ms"})", server.port()));
    auto took = std::chrono::steady_clock::now() - started;
    CHECK(h.table.state(cell) == State::kDown);
    CHECK(h.table.snapshot(cell).last_error == "timeout after 0.3s");
    CHECK(took < 2s);
    CHECK(h.table.snapshot(cell).last_latency_us >= 250000);
}

TEST_CASE("https: self-signed certificate fails verification unless verify_tls is false",
          "[pool]") {
    TlsServer server;
    Harness h;
    // A generous timeout: the TLS handshake is slow under sanitizers on a busy machine, and a
    // timeout would be the wrong failure.
    auto ids = h.pool.set_checks(
        {request(R"({"type": "https", "timeout": "8s"})", server.port()),
         request(R"({"type": "https", "timeout": "8s", "verify_tls": false})", server.port())});
    h.pool.run_initial_round(10s);
    INFO("last error: " << h.table.snapshot(ids[0]).last_error);
    CHECK(h.table.state(ids[0]) == State::kDown);
    CHECK(h.table.snapshot(ids[0]).last_error.rfind("certificate verify failed", 0) == 0);
    CHECK(h.table.state(ids[1]) == State::kUp);
    CHECK(h.table.snapshot(ids[1]).checks == 1);
}

TEST_CASE("dns check: NOERROR with an answer, SERVFAIL, empty answer, silence", "[pool]") {
    DnsServer dns;
    Harness h;
    auto req =
        request(R"({"type": "dns", "name": "app.lb.example.com", "timeout": 0.3})", dns.port());
    int32_t cell = h.check_once(req);
    CHECK(h.table.state(cell) == State::kUp);
    CHECK(dns.queries() == 1);

    DnsServer failing;
    failing.set_mode(DnsServer::Mode::kServfail);
    DnsServer empty;
    empty.set_mode(DnsServer::Mode::kEmpty);
    DnsServer silent;
    silent.set_mode(DnsServer::Mode::kSilent);
    Harness h2;
    auto nx = request(R"({"type": "dns", "name": "gone.example.com", "rcode": "SERVFAIL"})",
                      failing.port());
    auto ids =
        h2.pool.set_checks({request(R"({"type": "dns", "name": "a.example"})", failing.port()),
                            request(R"({"type": "dns", "name": "a.example"})", empty.port()),
                            request(R"({"type": "dns", "name": "a.example",
                                               "timeout": 0.2})",
                                    silent.port()),
                            nx});
    h2.pool.run_initial_round(5s);
    CHECK(h2.table.snapshot(ids[0]).last_error == "rcode SERVFAIL");
    CHECK(h2.table.state(ids[0]) == State::kDown);
    CHECK(h2.table.snapshot(ids[1]).last_error == "no answer");
    CHECK(h2.table.state(ids[1]) == State::kDown);
    CHECK(h2.table.snapshot(ids[2]).last_error == "timeout after 0.2s");
    CHECK(h2.table.state(ids[3]) == State::kUp);  // the expected rcode needs no answer
}

TEST_CASE("rise and fall: down only after `fall` failures, up after `rise` successes", "[pool]") {
    HttpServer server;
    Harness h;
    auto req = request(R"({"type": "http", "interval": 0.1, "timeout": 1, "rise": 2,
                           "fall": 3})",
                       server.port());
    int32_t cell = h.check_once(req);
    REQUIRE(h.table.state(cell) == State::kUp);
    h.pool.start();
    server.set_status(500);
    REQUIRE(wait_until([&] { return h.table.state(cell) == State::kDown; }, 5s));
    server.set_status(200);
    REQUIRE(wait_until([&] { return h.table.state(cell) == State::kUp; }, 5s));
    h.pool.stop();

    // Walk the results: consecutive failures while up never flip before the third, and
    // consecutive successes while down never flip before the second.
    auto results = h.results(cell);
    int fails = 0;
    int oks = 0;
    State prev = State::kUp;
    bool saw_down = false;
    for (const auto& r : results) {
        fails = r.ok ? 0 : fails + 1;
        oks = r.ok ? oks + 1 : 0;
        if (prev == State::kUp && r.state_after == State::kDown) {
            CHECK(fails == 3);
            saw_down = true;
        }
        if (prev == State::kDown && r.state_after == State::kUp) {
            CHECK(oks == 2);
        }
        if (prev == State::kUp && !r.ok && fails < 3) {
            CHECK(r.state_after == State::kUp);
        }
        prev = r.state_after;
    }
    CHECK(saw_down);
    CHECK(h.logged("(http) up -> down: HTTP 500"));
    CHECK(h.logged("(http) down -> up"));
}

TEST_CASE("first result decides at once, even against the initial state", "[pool]") {
    HttpServer server;
    Harness h;
    auto req = request(R"({"type": "http", "initial": "down", "rise": 5})", server.port());
    int32_t cell = h.check_once(req);
    CHECK(h.table.state(cell) == State::kUp);
    CHECK(h.logged("(http) down -> up"));
}

TEST_CASE("identical requests share one check and one cell", "[pool]") {
    HttpServer server;
    Harness h;
    const char* spec = R"({"type": "http", "interval": 0.2})";
    auto ids = h.pool.set_checks({request(spec, server.port(), "127.0.0.1", "pool a origin x"),
                                  request(spec, server.port(), "127.0.0.1", "pool b origin y")});
    REQUIRE(ids.size() == 2);
    CHECK(ids[0] == ids[1]);
    CHECK(h.pool.check_count() == 1);
    h.pool.run_initial_round(5s);
    CHECK(server.requests() == 1);
    h.pool.start();
    std::this_thread::sleep_for(1000ms);
    h.pool.stop();
    // One check every 200ms for a second, plus the initial round: about 6, never 12.
    CHECK(server.requests() >= 4);
    CHECK(server.requests() <= 8);
}

TEST_CASE("state and cell survive set_checks with the same set", "[pool]") {
    HttpServer server;
    server.set_status(503);
    Harness h;
    auto req = request(R"({"type": "http", "interval": 60})", server.port());
    int32_t cell = h.check_once(req);
    REQUIRE(h.table.state(cell) == State::kDown);
    h.pool.start();
    auto again = h.pool.set_checks({req});
    CHECK(again[0] == cell);
    CHECK(h.table.state(cell) == State::kDown);
    CHECK(h.table.snapshot(cell).checks == 1);
    // A different check on another address gets its own cell; the old one is kept.
    HttpServer other("127.0.0.3");
    auto both = h.pool.set_checks(
        {req, request(R"({"type": "http", "interval": 60})", other.port(), "127.0.0.3")});
    CHECK(both[0] == cell);
    CHECK(both[1] != cell);
    CHECK(h.pool.check_count() == 2);
    CHECK(h.table.state(cell) == State::kDown);
}

TEST_CASE("checks no longer requested stop", "[pool]") {
    HttpServer server;
    Harness h;
    auto req = request(R"({"type": "http", "interval": 0.1})", server.port());
    h.check_once(req);
    h.pool.start();
    REQUIRE(wait_until([&] { return server.requests() >= 3; }, 5s));
    h.pool.set_checks({});
    CHECK(h.pool.check_count() == 0);
    std::this_thread::sleep_for(200ms);  // let an in-flight check land
    int before = server.requests();
    std::this_thread::sleep_for(500ms);
    CHECK(server.requests() == before);
}

TEST_CASE("the initial round returns when all checks finished, well before its bound", "[pool]") {
    std::vector<std::unique_ptr<HttpServer>> servers;
    std::vector<CheckRequest> reqs;
    for (int i = 0; i < 8; ++i) {
        std::string ip = "127.0.0." + std::to_string(10 + i);
        servers.push_back(std::make_unique<HttpServer>(ip.c_str()));
        for (const char* path : {"/a", "/b", "/c"}) {
            reqs.push_back(request(std::string(R"({"type": "http", "path": ")") + path + "\"}",
                                   servers.back()->port(), ip.c_str()));
        }
    }
    Harness h;
    auto ids = h.pool.set_checks(reqs);
    auto started = std::chrono::steady_clock::now();
    h.pool.run_initial_round(10s);
    auto took = std::chrono::steady_clock::now() - started;
    CHECK(took < 3s);
    for (int32_t id : ids) {
        CHECK(h.table.snapshot(id).checks == 1);
        CHECK(h.table.state(id) == State::kUp);
    }
    ProbeStats st = h.pool.stats();
    CHECK(st.checks == reqs.size());
    CHECK(st.failures == 0);
    CHECK(st.configured == reqs.size());
    uint64_t in_buckets = 0;
    for (uint64_t b : st.latency_buckets) {
        in_buckets += b;
    }
    CHECK(in_buckets == st.checks);
}

TEST_CASE("an unfinished initial round leaves the initial state", "[pool]") {
    HttpServer server;
    server.set_delay_ms(2000);
    Harness h;
    auto ids = h.pool.set_checks(
        {request(R"({"type": "http", "timeout": 5, "initial": "down"})", server.port()),
         request(R"({"type": "http", "timeout": 5, "initial": "up", "path": "/x"})",
                 server.port())});
    auto started = std::chrono::steady_clock::now();
    h.pool.run_initial_round(300ms);
    auto took = std::chrono::steady_clock::now() - started;
    CHECK(took < 1s);
    CHECK(h.table.state(ids[0]) == State::kDown);
    CHECK(h.table.state(ids[1]) == State::kUp);
    CHECK(h.table.snapshot(ids[0]).checks == 0);
    server.stop();
}

TEST_CASE("stopping a server moves its cell to down", "[pool]") {
    HttpServer server("127.0.0.4");
    Harness h;
    auto req =
        request(R"({"type": "http", "interval": 0.1, "fall": 2})", server.port(), "127.0.0.4");
    int32_t cell = h.check_once(req);
    REQUIRE(h.table.state(cell) == State::kUp);
    h.pool.start();
    server.stop();
    CHECK(wait_until([&] { return h.table.state(cell) == State::kDown; }, 5s));
    CHECK(h.table.snapshot(cell).last_error == "connect refused");
    CHECK(h.logged("127.0.0.4:" + std::to_string(server.port()) +
                   " (http) up -> down: connect refused"));
}

TEST_CASE("stop is idempotent and start after set_checks spreads first runs", "[pool]") {
    HttpServer server;
    Harness h;
    std::vector<CheckRequest> reqs;
    for (int i = 0; i < 20; ++i) {
        reqs.push_back(
            request(R"({"type": "http", "interval": 1, "path": "/p)" + std::to_string(i) + "\"}",
                    server.port()));
    }
    h.pool.set_checks(reqs);
    h.pool.start();
    // With a 1s interval and random first offsets, not all 20 have run after 300ms, but some
    // have.
    std::this_thread::sleep_for(300ms);
    int early = server.requests();
    CHECK(early < 20);
    CHECK(wait_until([&] { return server.requests() >= 20; }, 3s));
    h.pool.stop();
    h.pool.stop();
}
