// A monitor: how one origin address is checked, as written in a zone file's `monitors` object.
//
// Parsing is strict: an unknown key, a key that does not apply to the monitor type, or a value
// out of range throws std::invalid_argument whose message starts with the JSON pointer of the
// offending value relative to the monitor object ("/port: expected an integer 1..65535"), so a
// loader can prefix it with "/monitors/<name>" and the operator sees exactly where to look.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "probes/health_table.hpp"

namespace dnslb::probes {

enum class MonitorType : uint8_t { kTcp, kHttp, kHttps, kDns };

const char* monitor_type_name(MonitorType t) noexcept;

// An inclusive range of accepted HTTP status codes: "2xx" is 200..299, "204" is 204..204.
struct StatusRange {
    uint16_t low = 200;
    uint16_t high = 299;
    bool operator==(const StatusRange&) const = default;
};

struct MonitorSpec {
    MonitorType type = MonitorType::kTcp;
    uint16_t port = 0;
    uint32_t interval_ms = 5000;
    uint32_t timeout_ms = 2000;
    uint32_t rise = 2;           // consecutive successes to go down -> up
    uint32_t fall = 3;           // consecutive failures to go up -> down
    State initial = State::kUp;  // state until the first check finishes

    // http, https
    std::string method = "GET";  // GET or HEAD
    std::string path = "/";
    std::string host;  // Host header and TLS server name; empty: the checked address
    std::vector<std::pair<std::string, std::string>> headers;  // file order
    std::vector<StatusRange> expect{StatusRange{}};
    std::string body;  // required substring of the response body; empty: not checked
    bool verify_tls = true;
    bool follow_redirects = false;

    // dns
    std::string name;    // absolute, lower case, trailing dot
    uint16_t qtype = 1;  // A
    uint8_t rcode = 0;   // NOERROR; with NOERROR the answer section must not be empty

    // Throws std::invalid_argument("/<pointer>: <expectation>").
    static MonitorSpec from_json(const nlohmann::json& j);
    static MonitorSpec from_json(const nlohmann::ordered_json& j);

    // Canonical text of every parameter that affects a check or its state machine: the same
    // identity on the same address is one shared check with one health cell.
    std::string identity() const;
};

// "2.0s", "0.3s", "0.25s": the short form used in log lines and reasons.
std::string format_duration_ms(uint32_t ms);

}  // namespace dnslb::probes
