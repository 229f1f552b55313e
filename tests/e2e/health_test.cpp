// Health checking end to end: the real dnslb binary checks real backends on loopback aliases
// (127.0.0.x) and its answers follow what the checks see. The asker (127.0.0.1) is placed near
// Frankfurt by a `nets` entry; origin 127.0.0.11 is nearest, then 127.0.0.12 (Paris), then
// 127.0.0.13 (New York). Timings measured here are printed on stdout.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/e2e/backends.hpp"
#include "tests/e2e/checks.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/e2e/zone_json.hpp"

using namespace dnslb::e2e;
using Json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kZone = "health.test.";
constexpr const char* kNear = "127.0.0.11";
constexpr const char* kMid = "127.0.0.12";
constexpr const char* kFar = "127.0.0.13";

// Monitor settings of the timing tests; the bounds below are derived from them.
constexpr int kIntervalMs = 200;
constexpr int kTimeoutMs = 150;
constexpr int kRise = 2;
constexpr int kFall = 2;

Json monitor(const std::string& type, uint16_t port) {
    return Json{{"type", type},       {"port", port},  {"interval", "200ms"},
                {"timeout", "150ms"}, {"rise", kRise}, {"fall", kFall}};
}

Json http_monitor(uint16_t port, const std::string& path = "/healthz") {
    Json m = monitor("http", port);
    m["path"] = path;
    return m;
}

Json origin(const std::string& ip, double lat, double lon) {
    return Json{{"addresses", Json::array({ip})}, {"lat", lat}, {"lon", lon}};
}

// The three origins of the proximity pools, nearest first as seen from the asker.
Json three_origins() {
    return Json{{"fra", origin(kNear, 50.0, 8.5)},
                {"par", origin(kMid, 48.85, 2.35)},
                {"nyc", origin(kFar, 40.7, -74.0)}};
}

// Pool "web": proximity over three_origins(), one answer, checked by monitor "web-http";
// `extra` adds settings.
Json proximity_web(const Json& extra = Json::object()) {
    Json web = {{"steering", "proximity"}, {"answers", 1}};
    web.update(extra);
    web["monitor"] = "web-http";
    web["origins"] = three_origins();
    return Json{{"web", web}};
}

// A zone whose every pool is also a name: "<pool>.health.test." answers from pool <pool>.
Json make_zone(const Json& pools, const Json& monitors) {
    Json records =
        Json{{"@", {{"NS", Json::array({"ns1"})}}}, {"ns1", {{"A", Json::array({"192.0.2.53"})}}}};
    for (const auto& [name, _] : pools.items()) {
        records[name] = Json{{"pool", name}};
    }
    Json z = zone_object(kZone, records);
    z["pools"] = pools;
    z["monitors"] = monitors;
    return z;
}

// One dnslb serving one zone, the asker placed near Frankfurt, CHAOS TXT explanations allowed
// from loopback.
class Lb {
public:
    explicit Lb(const Json& zone) {
        zones_.write("health.test.json", zone.dump(2));
        Json cfg = {{"nets", {{"127.0.0.0/8", {{"lat", 50.11}, {"lon", 8.68}}}}},
                    {"explain_from", Json::array({"127.0.0.0/8"})}};
        conf_.write("dnslb.json", cfg.dump(2));
        ServerOptions o;
        o.zones_dir = zones_.path();
        o.config_file = conf_.path() + "/dnslb.json";
        o.extra_args = {"--workers", "1", "--probers", "1"};
        server_ = std::make_unique<Server>(o);
    }
    Server& server() { return *server_; }
    uint16_t port() const { return server_->port(); }
    std::string log() const { return server_->stderr_text(); }

private:
    TempDir zones_;
    TempDir conf_;
    std::unique_ptr<Server> server_;
};

std::string fqdn(const std::string& pool) { return pool + "." + kZone; }

std::optional<Reply> ask_a(uint16_t port, const std::string& pool) {
    auto wire = udp_exchange(port, make_query(fqdn(pool), LDNS_RR_TYPE_A), 1000ms);
    if (!wire) {
        return std::nullopt;
    }
    return Reply{*wire, walk(*wire), parse(*wire)};
}

// Sorted A addresses of the answer; {"<no reply>"} when the server stayed silent.
std::vector<std::string> answer_of(uint16_t port, const std::string& pool) {
    auto r = ask_a(port, pool);
    if (!r) {
        return {"<no reply>"};
    }
    return rdatas(r->pkt, LDNS_SECTION_ANSWER, LDNS_RR_TYPE_A);
}

// The CHAOS TXT explanation of a pool name, one line per TXT record.
std::string explain(uint16_t port, const std::string& pool) {
    QueryOptions q;
    q.klass = LDNS_RR_CLASS_CH;
    auto r = ask(Transport::kTcp, port, fqdn(pool), LDNS_RR_TYPE_TXT, q);
    if (!r) {
        return "<no reply>";
    }
    std::string out;
    for (ldns_rr* rr : records(r->pkt, LDNS_SECTION_ANSWER, LDNS_RR_TYPE_TXT)) {
        out += rdata_text(rr) + "\n";
    }
    return out;
}

// The explanation line of the origin holding `ip`.
std::string origin_line(const std::string& text, const std::string& ip) {
    size_t at = text.find("; " + ip + " ");
    if (at == std::string::npos) {
        return {};
    }
    size_t begin = text.rfind('\n', at);
    begin = begin == std::string::npos ? 0 : begin + 1;
    return text.substr(begin, text.find('\n', at) - begin);
}

long ms_since(Clock::time_point t0) {
    return static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
}

// Polls every 50 ms until the answer of `pool` is exactly {ip}; the elapsed milliseconds, or
// nullopt after `limit`.
std::optional<long> time_until_answer(uint16_t port, const std::string& pool, const std::string& ip,
                                      std::chrono::milliseconds limit) {
    auto t0 = Clock::now();
    while (Clock::now() - t0 < limit) {
        if (answer_of(port, pool) == std::vector<std::string>{ip}) {
            return ms_since(t0);
        }
        std::this_thread::sleep_for(50ms);
    }
    return std::nullopt;
}

bool log_has(const Lb& lb, const std::string& text, std::chrono::milliseconds limit = 3000ms) {
    return wait_until([&] { return lb.log().find(text) != std::string::npos; }, limit, 20ms);
}

uint32_t first_ttl(const Reply& r) {
    auto rrs = records(r.pkt, LDNS_SECTION_ANSWER, LDNS_RR_TYPE_A);
    return rrs.empty() ? 0 : ldns_rr_ttl(rrs.front());
}

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
    return v[i];
}

}  // namespace

TEST_CASE("failover to the next nearest origin and recovery, timed", "[e2e][health]") {
    uint16_t port = common_port({kNear, kMid, kFar});
    HttpBackend near(kNear, port), mid(kMid, port), far(kFar, port);
    Lb lb(make_zone(proximity_web({{"ttl", 30}, {"ttl_degraded", 5}}),
                    {{"web-http", http_monitor(port)}}));
    E2E_START(lb.server());
    INFO("stderr:\n" << lb.log());
    REQUIRE(answer_of(lb.port(), "web") == std::vector<std::string>{kNear});
    auto healthy = ask_a(lb.port(), "web");
    REQUIRE(healthy);
    CHECK(first_ttl(*healthy) == 30);

    // Down: interval x fall to see `fall` failures, plus one timeout, plus slack for scheduling.
    const long down_bound = kIntervalMs * kFall + kTimeoutMs + 1000;
    // Up: `rise` successes, each a fast local request, so the same shape of bound.
    const long up_bound = kIntervalMs * kRise + kTimeoutMs + 1000;
    std::vector<long> downs, ups;
    for (int round = 0; round < 3; ++round) {
        INFO("round " << round);
        near.stop();
        auto down = time_until_answer(lb.port(), "web", kMid, 5000ms);
        REQUIRE(down);
        downs.push_back(*down);
        CHECK(*down <= down_bound);

        // While an origin is down the pool answers with ttl_degraded.
        auto degraded = ask_a(lb.port(), "web");
        REQUIRE(degraded);
        CHECK(first_ttl(*degraded) == 5);
        std::string text = explain(lb.port(), "web");
        INFO(text);
        std::string line = origin_line(text, kNear);
        CHECK(line.find("down") != std::string::npos);
        CHECK(line.find("connect refused") != std::string::npos);
        CHECK(origin_line(text, kMid).find(std::string(kMid) + " up") != std::string::npos);

        near.start();
        auto up = time_until_answer(lb.port(), "web", kNear, 5000ms);
        REQUIRE(up);
        ups.push_back(*up);
        CHECK(*up <= up_bound);
        // Wait for the next round until both answer TTLs are healthy again.
        REQUIRE(wait_until(
            [&] {
                auto r = ask_a(lb.port(), "web");
                return r && first_ttl(*r) == 30;
            },
            2000ms, 20ms));
    }
    std::printf(
        "health timing (http monitor: interval %d ms, timeout %d ms, rise %d, fall %d; "
        "answers polled every 50 ms):\n",
        kIntervalMs, kTimeoutMs, kRise, kFall);
    for (size_t i = 0; i < downs.size(); ++i) {
        std::printf("  round %zu: failover %ld ms (bound %ld), recovery %ld ms (bound %ld)\n", i,
                    downs[i], down_bound, ups[i], up_bound);
    }
    std::fflush(stdout);
    CHECK(log_has(lb, std::string("health: zone health.test. pool web origin fra ") + kNear + ":" +
                          std::to_string(port) + " (http) up -> down: connect refused"));
    CHECK(log_has(lb, std::string(kNear) + ":" + std::to_string(port) + " (http) down -> up"));
    E2E_STOP_CLEAN(lb.server());
}

TEST_CASE("monitor types: http status, timeout, https verification, tcp, dns", "[e2e][health]") {
    // One single-origin pool per case; all_down nodata makes "down" an empty answer.
    const std::string ok_ip = "127.0.0.21", bad_ip = "127.0.0.22", slow_ip = "127.0.0.23",
                      dead_ip = "127.0.0.24", tls_ip = "127.0.0.25", dns_ip = "127.0.0.26",
                      dns_bad_ip = "127.0.0.27";
    uint16_t http_port = common_port({ok_ip, bad_ip, slow_ip, dead_ip});
    uint16_t tls_port = common_port({tls_ip});
    uint16_t dns_port = common_port({dns_ip, dns_bad_ip}, SOCK_DGRAM);
    HttpBackend ok(ok_ip, http_port), bad(bad_ip, http_port), slow(slow_ip, http_port);
    bad.set_status(503);
    slow.set_delay_ms(1000);
    TlsBackend tls(tls_ip, tls_port);
    DnsBackend dns(dns_ip, dns_port), dns_bad(dns_bad_ip, dns_port);
    dns_bad.set_mode(DnsBackend::Mode::kServfail);

    auto single = [](const std::string& ip, const std::string& mon) {
        return Json{{"steering", "failover"},
                    {"all_down", "nodata"},
                    {"monitor", mon},
                    {"origins", {{"only", {{"addresses", Json::array({ip})}}}}}};
    };
    // `openssl s_server` handshakes one client at a time: give both https monitors room.
    Json https = monitor("https", tls_port);
    https["interval"] = "1s";
    https["timeout"] = "800ms";
    Json https_insecure = https;
    https_insecure["verify_tls"] = false;
    Json dns_mon = monitor("dns", dns_port);
    dns_mon["name"] = "check.example.";
    Json monitors = {{"http", http_monitor(http_port)},
                     {"https", https},
                     {"https-insecure", https_insecure},
                     {"tcp", monitor("tcp", http_port)},
                     {"dns", dns_mon}};
    Json pools = {{"http-ok", single(ok_ip, "http")},
                  {"http-503", single(bad_ip, "http")},
                  {"http-slow", single(slow_ip, "http")},
                  {"https-verify", single(tls_ip, "https")},
                  {"https-noverify", single(tls_ip, "https-insecure")},
                  {"tcp-ok", single(ok_ip, "tcp")},
                  {"tcp-dead", single(dead_ip, "tcp")},
                  {"dns-ok", single(dns_ip, "dns")},
                  {"dns-servfail", single(dns_bad_ip, "dns")}};
    Lb lb(make_zone(pools, monitors));
    E2E_START(lb.server());
    INFO("stderr:\n" << lb.log());

    struct Case {
        std::string pool, ip, reason;  // reason empty: expected up
    };
    const std::vector<Case> cases = {
        {"http-ok", ok_ip, ""},
        {"http-503", bad_ip, "HTTP 503"},
        {"http-slow", slow_ip, "timeout after 0.15s"},
        {"https-verify", tls_ip, "certificate verify failed"},
        {"https-noverify", tls_ip, ""},
        {"tcp-ok", ok_ip, ""},
        {"tcp-dead", dead_ip, "connect refused"},
        {"dns-ok", dns_ip, ""},
        {"dns-servfail", dns_bad_ip, "SERVFAIL"},
    };
    for (const Case& c : cases) {
        INFO("pool " << c.pool);
        std::vector<std::string> want =
            c.reason.empty() ? std::vector<std::string>{c.ip} : std::vector<std::string>{};
        auto line_ok = [&](const std::string& line) {
            return c.reason.empty() ? line.find(c.ip + " up") != std::string::npos
                                    : line.find(c.ip + " down") != std::string::npos &&
                                          line.find(c.reason) != std::string::npos;
        };
        // The start-up round has decided most states already; a check that timed out there
        // (a TLS handshake on a loaded machine) gets a few more periods.
        std::string text;
        bool settled = wait_until(
            [&] {
                text = explain(lb.port(), c.pool);
                return answer_of(lb.port(), c.pool) == want && line_ok(origin_line(text, c.ip));
            },
            4000ms, 50ms);
        INFO(text);
        CHECK(answer_of(lb.port(), c.pool) == want);
        CHECK(line_ok(origin_line(text, c.ip)));
        CHECK(settled);
    }
    // Every probe type really reached its backend.
    CHECK(ok.requests() > 0);
    CHECK(ok.connections() > ok.requests());  // tcp checks connect without a request
    CHECK(bad.requests() > 0);
    CHECK(dns.queries() > 0);
    CHECK(dns_bad.queries() > 0);
    E2E_STOP_CLEAN(lb.server());
}

TEST_CASE("fallback pools, min_healthy, all_down policies and ttl_degraded", "[e2e][health]") {
    // Only 127.0.0.11 answers on the monitor port; .12 and .13 refuse connections.
    uint16_t port = common_port({kNear, kMid, kFar});
    HttpBackend near(kNear, port);
    auto pool = [](Json origins) {
        return Json{{"steering", "failover"}, {"monitor", "web"}, {"origins", origins}};
    };
    Json dead2 = {{"a", {{"addresses", Json::array({kMid})}}},
                  {"b", {{"addresses", Json::array({kFar})}}}};
    Json live = {{"a", {{"addresses", Json::array({kNear})}}}};
    Json live_and_dead = {{"a", {{"addresses", Json::array({kNear})}}},
                          {"b", {{"addresses", Json::array({kMid})}}}};
    Json pools;
    pools["primary"] = pool(dead2);
    pools["primary"]["fallback"] = "backup";
    pools["backup"] = pool(live);
    pools["needs-two"] = pool(live_and_dead);
    pools["needs-two"]["min_healthy"] = 2;
    pools["needs-two"]["fallback"] = "static";
    pools["static"] = Json{{"steering", "failover"},
                           {"origins", {{"s", {{"addresses", Json::array({"192.0.2.80"})}}}}}};
    pools["open"] = pool(dead2);
    pools["open"]["answers"] = 2;
    pools["open"]["all_down"] = "return-all";
    pools["closed"] = pool(dead2);
    pools["closed"]["all_down"] = "nodata";
    pools["failing"] = pool(dead2);
    pools["failing"]["all_down"] = "servfail";
    pools["chain"] = pool(dead2);
    pools["chain"]["fallback"] = "closed";
    pools["chain"]["all_down"] = "servfail";
    pools["degraded"] = pool(live_and_dead);
    pools["degraded"]["ttl"] = 60;
    pools["degraded"]["ttl_degraded"] = 5;
    pools["healthy"] = pool(live);
    pools["healthy"]["ttl"] = 60;
    pools["healthy"]["ttl_degraded"] = 5;
    Lb lb(make_zone(pools, {{"web", http_monitor(port)}}));
    E2E_START(lb.server());
    INFO("stderr:\n" << lb.log());

    // The start-up round has run: the first answers already see .12 and .13 down.
    CHECK(answer_of(lb.port(), "primary") == std::vector<std::string>{kNear});
    CHECK(answer_of(lb.port(), "needs-two") == std::vector<std::string>{"192.0.2.80"});
    // return-all fails open with every address of the primary pool.
    CHECK(answer_of(lb.port(), "open") == std::vector<std::string>{kMid, kFar});

    auto closed = ask_a(lb.port(), "closed");
    REQUIRE(closed);
    check_negative(*closed, LDNS_RCODE_NOERROR, kZone, 60);

    for (const char* name : {"failing", "chain"}) {
        INFO(name);
        auto r = ask_a(lb.port(), name);
        REQUIRE(r);
        INFO(to_text(r->wire));
        CHECK(r->msg.hdr.rcode == LDNS_RCODE_SERVFAIL);
        CHECK(r->msg.hdr.ancount == 0);
    }

    auto degraded = ask_a(lb.port(), "degraded");
    REQUIRE(degraded);
    check_answer(*degraded, fqdn("degraded"), LDNS_RR_TYPE_A, {kNear});
    CHECK(first_ttl(*degraded) == 5);
    auto healthy = ask_a(lb.port(), "healthy");
    REQUIRE(healthy);
    check_answer(*healthy, fqdn("healthy"), LDNS_RR_TYPE_A, {kNear});
    CHECK(first_ttl(*healthy) == 60);

    // The chain recovers when the primary does: bring .12 up.
    HttpBackend mid(kMid, port);
    CHECK(time_until_answer(lb.port(), "primary", kMid, 3000ms).has_value());
    CHECK(time_until_answer(lb.port(), "needs-two", kNear, 3000ms).has_value());
    E2E_STOP_CLEAN(lb.server());
}

TEST_CASE("the start-up round: the first answer already skips a dead origin", "[e2e][health]") {
    uint16_t port = common_port({kNear, kMid, kFar});
    // Nothing listens on the nearest origin; a long interval leaves only the start-up round to
    // find that out before the first answer.
    HttpBackend mid(kMid, port), far(kFar, port);
    Json mon = http_monitor(port);
    mon["interval"] = 60;
    mon["timeout"] = "150ms";
    Json pools = {{"web",
                   {{"steering", "proximity"},
                    {"answers", 1},
                    {"monitor", "web-http"},
                    {"origins", three_origins()}}}};
    Lb lb(make_zone(pools, {{"web-http", mon}}));
    E2E_START(lb.server());
    INFO("stderr:\n" << lb.log());
    CHECK(answer_of(lb.port(), "web") == std::vector<std::string>{kMid});
    std::string log = lb.log();
    CHECK(log.find("start-up round of 3 checks") != std::string::npos);
    CHECK(log.find(std::string(kNear) + ":" + std::to_string(port) + " (http)") !=
          std::string::npos);
    CHECK(mid.requests() >= 1);
    E2E_STOP_CLEAN(lb.server());
}

TEST_CASE("one check per monitor and address, however many pools share it", "[e2e][health]") {
    uint16_t port = common_port({kNear, kMid});
    HttpBackend shared(kNear, port), separate(kMid, port);
    auto pool = [](const std::string& ip, const std::string& mon) {
        return Json{{"steering", "failover"},
                    {"monitor", mon},
                    {"origins", {{"o", {{"addresses", Json::array({ip})}}}}}};
    };
    // Two pools with the same monitor and address share one check; two different monitors on
    // the same address are two checks (the control that proves the count can tell).
    Json pools = {{"a", pool(kNear, "one")},
                  {"b", pool(kNear, "one")},
                  {"c", pool(kMid, "one")},
                  {"d", pool(kMid, "other")}};
    Json monitors = {{"one", http_monitor(port, "/one")}, {"other", http_monitor(port, "/other")}};
    Lb lb(make_zone(pools, monitors));
    E2E_START(lb.server());
    INFO("stderr:\n" << lb.log());
    CHECK(lb.log().find("start-up round of 3 checks") != std::string::npos);
    std::this_thread::sleep_for(500ms);  // past every first periodic offset
    int shared0 = shared.requests(), separate0 = separate.requests();
    auto t0 = Clock::now();
    std::this_thread::sleep_for(2000ms);
    double seconds = static_cast<double>(ms_since(t0)) / 1000.0;
    int shared_n = shared.requests() - shared0, separate_n = separate.requests() - separate0;
    double per_interval = seconds * 1000.0 / kIntervalMs;
    std::printf(
        "shared check: %d requests in %.2f s on the shared address (one check expected: "
        "%.0f), %d on the address with two monitors\n",
        shared_n, seconds, per_interval, separate_n);
    std::fflush(stdout);
    CHECK(shared_n >= per_interval - 3);
    CHECK(shared_n <= per_interval + 3);
    CHECK(separate_n >= 2 * per_interval - 4);
    E2E_STOP_CLEAN(lb.server());
}

TEST_CASE("answer latency does not change while every probe times out", "[e2e][health]") {
    constexpr int kOrigins = 20;
    std::vector<std::string> ips;
    for (int i = 0; i < kOrigins; ++i) {
        ips.push_back("127.0.0." + std::to_string(40 + i));
    }
    uint16_t port = common_port(ips);
    std::vector<std::unique_ptr<Blackhole>> holes;
    for (const auto& ip : ips) {
        holes.push_back(std::make_unique<Blackhole>(ip, port));
    }
    REQUIRE(holes.front()->swallows(200ms));

    auto zone_for = [&](bool monitored) {
        Json origins;
        for (int i = 0; i < kOrigins; ++i) {
            origins["o" + std::to_string(i)] = origin(ips[static_cast<size_t>(i)], 10.0 + i, 5.0);
        }
        Json pool = {{"steering", "proximity"}, {"answers", 1}, {"origins", origins}};
        Json monitors = Json::object();
        if (monitored) {
            pool["monitor"] = "hole";
            Json m = http_monitor(port);
            m["interval"] = "100ms";
            m["timeout"] = "80ms";
            monitors["hole"] = m;
        }
        return make_zone(Json{{"web", pool}}, monitors);
    };
    auto measure = [&](Lb& lb) {
        std::vector<double> ms;
        Bytes query = make_query(fqdn("web"), LDNS_RR_TYPE_A);
        for (int i = 0; i < 2000; ++i) {
            auto t0 = Clock::now();
            auto wire = udp_exchange(lb.port(), query, 1000ms);
            std::chrono::duration<double, std::milli> took = Clock::now() - t0;
            ms.push_back(wire ? took.count() : 1000.0);
        }
        return ms;
    };

    std::vector<double> quiet, busy;
    {
        Lb lb(zone_for(false));
        E2E_START(lb.server());
        quiet = measure(lb);
        E2E_STOP_CLEAN(lb.server());
    }
    {
        Lb lb(zone_for(true));
        E2E_START(lb.server());
        INFO("stderr:\n" << lb.log().substr(0, 4000));
        // Every check is timing out and the pool fails open (return-all) with its nearest.
        REQUIRE(log_has(lb, "(http) up -> down: timeout after 0.08s"));
        std::this_thread::sleep_for(300ms);
        busy = measure(lb);
        std::string text = explain(lb.port(), "web");
        INFO(text);
        CHECK(origin_line(text, ips.front()).find("timeout after") != std::string::npos);
        // The nearest origin (the last, 127.0.0.59 at 29N) is still the answer.
        CHECK(answer_of(lb.port(), "web") == std::vector<std::string>{ips.back()});
        E2E_STOP_CLEAN(lb.server());
    }
    double q50 = percentile(quiet, 0.5), q99 = percentile(quiet, 0.99);
    double b50 = percentile(busy, 0.5), b99 = percentile(busy, 0.99);
    std::printf(
        "UDP answer latency over %zu queries: without monitors p50 %.3f ms p99 %.3f ms; "
        "with %d origins timing out (interval 100 ms, timeout 80 ms) p50 %.3f ms "
        "p99 %.3f ms\n",
        quiet.size(), q50, q99, kOrigins, b50, b99);
    std::fflush(stdout);
    CHECK(b99 < 20.0);
    CHECK(b50 < 5.0);
}

TEST_CASE("transitions are logged with their reason", "[e2e][health]") {
    uint16_t port = common_port({kNear, kMid, kFar});
    HttpBackend near(kNear, port), mid(kMid, port), far(kFar, port);
    Lb lb(make_zone(proximity_web(), {{"web-http", http_monitor(port)}}));
    E2E_START(lb.server());
    INFO("stderr:\n" << lb.log());
    auto endpoint = [&](const char* ip) {
        return std::string(ip) + ":" + std::to_string(port) + " (http) ";
    };
    near.set_status(503);
    mid.stop();
    far.set_delay_ms(1000);
    CHECK(log_has(lb, "pool web origin fra " + endpoint(kNear) + "up -> down: HTTP 503"));
    CHECK(log_has(lb, "pool web origin par " + endpoint(kMid) + "up -> down: connect refused"));
    CHECK(log_has(lb, "pool web origin nyc " + endpoint(kFar) + "up -> down: timeout after 0.15s"));
    near.set_status(200);
    mid.start();
    far.set_delay_ms(0);
    for (const char* ip : {kNear, kMid, kFar}) {
        CHECK(log_has(lb, endpoint(ip) + "down -> up"));
    }
    E2E_STOP_CLEAN(lb.server());
}
