#include "probes/monitor.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>

using dnslb::probes::MonitorSpec;
using dnslb::probes::MonitorType;
using dnslb::probes::State;
using dnslb::probes::StatusRange;
using nlohmann::json;

namespace {

MonitorSpec parse(const char* text) { return MonitorSpec::from_json(json::parse(text)); }

// The message of the std::invalid_argument thrown for `text`, or "" when it parses.
std::string error_of(const char* text) {
    try {
        parse(text);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "";
}

// What an HTTP(S) monitor does, field by field.
struct HttpExpect {
    uint16_t port;
    uint32_t interval_ms;
    uint32_t timeout_ms;
    uint32_t rise;
    uint32_t fall;
    State initial;
    const char* method;
    const char* path;
    const char* host;  // "": none given
};

void check_http(const MonitorSpec& m, const HttpExpect& e) {
    CHECK(m.port == e.port);
    CHECK(m.interval_ms == e.interval_ms);
    CHECK(m.timeout_ms == e.timeout_ms);
    CHECK(m.rise == e.rise);
    CHECK(m.fall == e.fall);
    CHECK(m.initial == e.initial);
    CHECK(m.method == e.method);
    CHECK(m.path == e.path);
    CHECK(m.host == e.host);
}

}  // namespace

TEST_CASE("http monitor defaults", "[monitor]") {
    MonitorSpec m = parse(R"({"type": "http"})");
    CHECK(m.type == MonitorType::kHttp);
    check_http(m, {80, 5000, 2000, 2, 3, State::kUp, "GET", "/", ""});
    REQUIRE(m.expect.size() == 1);
    CHECK(m.expect[0] == StatusRange{200, 299});
    CHECK(m.verify_tls);
    CHECK_FALSE(m.follow_redirects);
    CHECK(parse(R"({"type": "https"})").port == 443);
    CHECK(parse(R"({"type": "dns", "name": "example.com"})").port == 53);
}

TEST_CASE("http monitor with every parameter", "[monitor]") {
    MonitorSpec m = parse(R"({"type": "https", "port": 8443, "interval": "500ms",
        "timeout": 0.25, "rise": 1, "fall": 5, "initial": "down", "method": "head",
        "path": "/healthz?full=1", "host": "app.example.com",
        "headers": {"X-Check": "1", "Accept": "text/plain"}, "expect": ["200", "3xx"],
        "verify_tls": false, "follow_redirects": true})");
    check_http(m,
               {8443, 500, 250, 1, 5, State::kDown, "HEAD", "/healthz?full=1", "app.example.com"});
    REQUIRE(m.headers.size() == 2);
    CHECK(m.headers[0] == std::pair<std::string, std::string>("Accept", "text/plain"));
    REQUIRE(m.expect.size() == 2);
    CHECK(m.expect[0] == StatusRange{200, 200});
    CHECK(m.expect[1] == StatusRange{300, 399});
    CHECK_FALSE(m.verify_tls);
    CHECK(m.follow_redirects);
}

TEST_CASE("durations accept numbers and unit strings", "[monitor]") {
    CHECK(parse(R"({"type": "tcp", "port": 1, "interval": "2s"})").interval_ms == 2000);
    CHECK(parse(R"({"type": "tcp", "port": 1, "interval": "1m"})").interval_ms == 60000);
    CHECK(parse(R"({"type": "tcp", "port": 1, "interval": "1.5s"})").interval_ms == 1500);
    CHECK(parse(R"({"type": "tcp", "port": 1, "interval": 0.1})").interval_ms == 100);
    CHECK(parse(R"({"type": "tcp", "port": 1, "timeout": 3})").timeout_ms == 3000);
}

TEST_CASE("dns monitor", "[monitor]") {
    MonitorSpec m = parse(R"({"type": "dns", "name": "Example.COM", "qtype": "aaaa",
                              "rcode": "NXDOMAIN"})");
    CHECK(m.name == "example.com.");
    CHECK(m.qtype == 28);
    CHECK(m.rcode == 3);
    CHECK(parse(R"({"type": "dns", "name": "a.", "qtype": 65})").qtype == 65);
    CHECK(parse(R"({"type": "dns", "name": "a."})").rcode == 0);
}

TEST_CASE("monitor errors name the JSON pointer and the expectation", "[monitor]") {
    CHECK(error_of(R"({"type": "tcp"})") == "/port: missing; tcp monitors need a port");
    CHECK(error_of(R"({"type": "tcp", "port": 0})") == "/port: expected an integer 1..65535");
    CHECK(error_of(R"({"type": "tcp", "port": "80"})") == "/port: expected an integer 1..65535");
    CHECK(error_of(R"({"type": "smtp"})") == "/type: expected one of tcp, http, https, dns");
    CHECK(error_of(R"({"port": 80})").rfind("/type: missing", 0) == 0);
    CHECK(error_of(R"({"type": "http", "interval": "5 s"})").rfind("/interval: expected", 0) == 0);
    CHECK(error_of(R"({"type": "http", "timeout": -1})").rfind("/timeout: expected", 0) == 0);
    CHECK(error_of(R"({"type": "http", "rise": 0})") == "/rise: expected an integer 1..1000");
    CHECK(error_of(R"({"type": "http", "initial": "maybe"})") ==
          "/initial: expected \"up\" or \"down\"");
    CHECK(error_of(R"({"type": "http", "method": "POST"})") == "/method: expected GET or HEAD");
    CHECK(error_of(R"({"type": "http", "path": "healthz"})").rfind("/path: expected", 0) == 0);
    CHECK(error_of(R"({"type": "http", "expect": ["2xx", "99"]})").rfind("/expect/1: ", 0) == 0);
    CHECK(error_of(R"({"type": "http", "expect": []})").rfind("/expect: ", 0) == 0);
    CHECK(error_of(R"({"type": "http", "headers": {"X-A": "a\r\nX-B: b"}})")
              .rfind("/headers/X-A: ", 0) == 0);
    CHECK(error_of(R"({"type": "http", "verify_tls": "no"})") ==
          "/verify_tls: expected true or false");
    CHECK(error_of(R"({"type": "http", "method": "HEAD", "body": "ok"})").rfind("/body: ", 0) == 0);
    CHECK(error_of(R"({"type": "http", "intervall": 5})") ==
          "/intervall: unknown monitor parameter");
    CHECK(error_of(R"({"type": "tcp", "port": 1, "path": "/"})") ==
          "/path: does not apply to tcp monitors");
    CHECK(error_of(R"({"type": "dns"})").rfind("/name: missing", 0) == 0);
    CHECK(error_of(R"({"type": "dns", "name": "a..b"})").rfind("/name: expected", 0) == 0);
    CHECK(error_of(R"({"type": "dns", "name": "a", "qtype": "BOGUS"})").rfind("/qtype: ", 0) == 0);
    CHECK(error_of(R"({"type": "dns", "name": "a", "rcode": 16})").rfind("/rcode: ", 0) == 0);
    CHECK(error_of(R"([1, 2])") == ": expected a monitor object");
}

TEST_CASE("a monitor may carry a $comment, as the zone schema allows", "[monitor]") {
    MonitorSpec m = MonitorSpec::from_json(
        nlohmann::json::parse(R"({"type": "tcp", "port": 80, "$comment": "the web tier"})"));
    CHECK(m.port == 80);
    CHECK(
        m.identity() ==
        MonitorSpec::from_json(nlohmann::json::parse(R"({"type": "tcp", "port": 80})")).identity());
}

TEST_CASE("ordered_json input parses the same", "[monitor]") {
    auto j = nlohmann::ordered_json::parse(
        R"({"type": "http", "path": "/x", "port": 81, "headers": {"X-B": "1", "X-A": "2"}})");
    MonitorSpec m = MonitorSpec::from_json(j);
    CHECK(m.port == 81);
    CHECK(m.path == "/x");
    REQUIRE(m.headers.size() == 2);
    CHECK(m.headers[0].first == "X-B");  // file order kept
}

TEST_CASE("identity covers every check parameter and nothing else", "[monitor]") {
    auto a = parse(R"({"type": "http", "path": "/h", "interval": 5})");
    auto b = parse(R"({"interval": "5s", "path": "/h", "type": "http", "port": 80})");
    CHECK(a.identity() == b.identity());
    CHECK(a.identity() != parse(R"({"type": "http", "path": "/i"})").identity());
    CHECK(a.identity() != parse(R"({"type": "http", "path": "/h", "fall": 1})").identity());
    CHECK(a.identity() != parse(R"({"type": "https", "path": "/h", "port": 80})").identity());
    CHECK(a.identity() != parse(R"({"type": "http", "path": "/h", "expect": ["200"]})").identity());
    CHECK(parse(R"({"type": "dns", "name": "a"})").identity() !=
          parse(R"({"type": "dns", "name": "b"})").identity());
}

TEST_CASE("durations in reasons", "[monitor]") {
    CHECK(dnslb::probes::format_duration_ms(2000) == "2.0s");
    CHECK(dnslb::probes::format_duration_ms(300) == "0.3s");
    CHECK(dnslb::probes::format_duration_ms(250) == "0.25s");
}
