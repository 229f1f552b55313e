#include "probes/monitor.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <stdexcept>
#include <string_view>

namespace dnslb::probes {

namespace {

constexpr double kMaxDurationS = 86400.0;

[[noreturn]] void fail(std::string_view pointer, std::string_view what) {
    throw std::invalid_argument(std::string(pointer) + ": " + std::string(what));
}

// RFC 6901: '~' and '/' inside a reference token are escaped.
std::string pointer_token(std::string_view key) {
    std::string out;
    for (char c : key) {
        if (c == '~') {
            out += "~0";
        } else if (c == '/') {
            out += "~1";
        } else {
            out += c;
        }
    }
    return out;
}

std::string upper(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return out;
}

struct NamedCode {
    const char* name;
    uint16_t code;
};

constexpr NamedCode kQtypes[] = {
    {"A", 1},     {"NS", 2},     {"CNAME", 5}, {"SOA", 6},    {"PTR", 12}, {"MX", 15},
    {"TXT", 16},  {"AAAA", 28},  {"SRV", 33},  {"NAPTR", 35}, {"DS", 43},  {"DNSKEY", 48},
    {"SVCB", 64}, {"HTTPS", 65}, {"ANY", 255}, {"CAA", 257},
};

// RFC 1035 section 4.1.1 and RFC 2136 section 2.2 (header RCODE values, 4 bits).
constexpr NamedCode kRcodes[] = {
    {"NOERROR", 0}, {"FORMERR", 1}, {"SERVFAIL", 2}, {"NXDOMAIN", 3},
    {"NOTIMP", 4},  {"REFUSED", 5}, {"YXDOMAIN", 6}, {"YXRRSET", 7},
    {"NXRRSET", 8}, {"NOTAUTH", 9}, {"NOTZONE", 10},
};

template <typename J>
uint32_t parse_count(const J& v, std::string_view pointer) {
    if (!v.is_number_integer() || v.template get<int64_t>() < 1 ||
        v.template get<int64_t>() > 1000) {
        fail(pointer, "expected an integer 1..1000");
    }
    return static_cast<uint32_t>(v.template get<int64_t>());
}

template <typename J>
uint32_t parse_duration_ms(const J& v, std::string_view pointer) {
    constexpr std::string_view kExpect =
        "expected a duration: seconds as a number, or a string like \"500ms\", \"2s\", \"1m\"";
    double seconds = -1;
    if (v.is_number()) {
        seconds = v.template get<double>();
    } else if (v.is_string()) {
        const auto& s = v.template get_ref<const std::string&>();
        const char* begin = s.c_str();
        char* end = nullptr;
        double n = std::strtod(begin, &end);
        std::string_view unit(end);
        if (end == begin || !std::isdigit(static_cast<unsigned char>(*begin))) {
            fail(pointer, kExpect);
        }
        if (unit == "ms") {
            seconds = n / 1000.0;
        } else if (unit == "s") {
            seconds = n;
        } else if (unit == "m") {
            seconds = n * 60.0;
        } else {
            fail(pointer, kExpect);
        }
    } else {
        fail(pointer, kExpect);
    }
    if (!std::isfinite(seconds) || seconds < 0.001 || seconds > kMaxDurationS) {
        fail(pointer, "expected a duration between 1ms and 24h");
    }
    return static_cast<uint32_t>(std::lround(seconds * 1000.0));
}

template <typename J>
const std::string& parse_string(const J& v, std::string_view pointer) {
    if (!v.is_string()) {
        fail(pointer, "expected a string");
    }
    return v.template get_ref<const std::string&>();
}

template <typename J>
bool parse_bool(const J& v, std::string_view pointer) {
    if (!v.is_boolean()) {
        fail(pointer, "expected true or false");
    }
    return v.template get<bool>();
}

bool has_ctl_or_space(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](unsigned char c) { return c <= 0x20 || c == 0x7f; });
}

StatusRange parse_status(std::string_view s, std::string_view pointer) {
    constexpr std::string_view kExpect =
        "expected a status code like \"200\" or a class like \"2xx\" (100..599)";
    if (s.size() != 3 || s[0] < '1' || s[0] > '5') {
        fail(pointer, kExpect);
    }
    auto hundreds = static_cast<uint16_t>((s[0] - '0') * 100);
    if ((s[1] == 'x' || s[1] == 'X') && (s[2] == 'x' || s[2] == 'X')) {
        return StatusRange{hundreds, static_cast<uint16_t>(hundreds + 99)};
    }
    if (!std::isdigit(static_cast<unsigned char>(s[1])) ||
        !std::isdigit(static_cast<unsigned char>(s[2]))) {
        fail(pointer, kExpect);
    }
    auto code = static_cast<uint16_t>(hundreds + (s[1] - '0') * 10 + (s[2] - '0'));
    return StatusRange{code, code};
}

template <typename J>
std::vector<StatusRange> parse_expect(const J& v, std::string_view pointer) {
    std::vector<StatusRange> out;
    if (!v.is_array() || v.empty()) {
        fail(pointer, "expected a non-empty list of status codes like [\"2xx\", \"301\"]");
    }
    for (size_t i = 0; i < v.size(); ++i) {
        std::string item_pointer = std::string(pointer) + "/" + std::to_string(i);
        if (v[i].is_number_integer()) {
            fail(item_pointer, "expected a string like \"200\" or \"2xx\"");
        }
        out.push_back(parse_status(parse_string(v[i], item_pointer), item_pointer));
    }
    return out;
}

template <typename J>
std::vector<std::pair<std::string, std::string>> parse_headers(const J& v,
                                                               std::string_view pointer) {
    if (!v.is_object()) {
        fail(pointer, "expected an object of header names to values");
    }
    std::vector<std::pair<std::string, std::string>> out;
    for (auto it = v.begin(); it != v.end(); ++it) {
        std::string item_pointer = std::string(pointer) + "/" + pointer_token(it.key());
        const std::string& value = parse_string(it.value(), item_pointer);
        // RFC 9110 section 5.1: a field name is a token; CR/LF in either part would let a
        // zone file inject extra header lines.
        if (it.key().empty() || has_ctl_or_space(it.key()) ||
            it.key().find(':') != std::string::npos) {
            fail(item_pointer, "expected a header name without spaces, colons or controls");
        }
        if (value.find_first_of("\r\n") != std::string::npos) {
            fail(item_pointer, "expected a header value without line breaks");
        }
        out.emplace_back(it.key(), value);
    }
    return out;
}

template <typename J>
uint16_t parse_code(const J& v, std::string_view pointer, const NamedCode* table, size_t count,
                    uint16_t max, std::string_view what) {
    if (v.is_number_integer()) {
        auto n = v.template get<int64_t>();
        if (n >= 0 && n <= max) {
            return static_cast<uint16_t>(n);
        }
    } else if (v.is_string()) {
        std::string s = upper(v.template get_ref<const std::string&>());
        for (size_t i = 0; i < count; ++i) {
            if (s == table[i].name) {
                return table[i].code;
            }
        }
    }
    fail(pointer, what);
}

// Validates and normalises a DNS name to lower case with a trailing dot (RFC 1035 2.3.4).
std::string parse_dns_name(const std::string& s, std::string_view pointer) {
    constexpr std::string_view kExpect =
        "expected a domain name (labels of 1..63 characters, at most 255 octets)";
    std::string name = s;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (name == ".") {
        return name;
    }
    if (name.empty() || name.front() == '.') {
        fail(pointer, kExpect);
    }
    if (name.back() != '.') {
        name += '.';
    }
    if (name.size() + 1 > 255 || has_ctl_or_space(name)) {
        fail(pointer, kExpect);
    }
    size_t label_start = 0;
    for (size_t i = 0; i < name.size(); ++i) {
        if (name[i] == '.') {
            size_t len = i - label_start;
            if (len == 0 || len > 63) {
                fail(pointer, kExpect);
            }
            label_start = i + 1;
        }
    }
    return name;
}

// "$comment" as everywhere in a zone file (zone.schema.json allows it in a monitor too).
const std::set<std::string_view> kCommonKeys = {"$comment", "type", "port", "interval",
                                                "timeout",  "rise", "fall", "initial"};
const std::set<std::string_view> kHttpKeys = {"method", "path", "host",       "headers",
                                              "expect", "body", "verify_tls", "follow_redirects"};
const std::set<std::string_view> kDnsKeys = {"name", "qtype", "rcode"};

template <typename J>
MonitorType parse_type(const J& j) {
    if (!j.contains("type")) {
        fail("/type", "missing; expected one of tcp, http, https, dns");
    }
    const auto& v = j["type"];
    const std::string t = v.is_string() ? v.template get<std::string>() : std::string();
    for (auto type :
         {MonitorType::kTcp, MonitorType::kHttp, MonitorType::kHttps, MonitorType::kDns}) {
        if (t == monitor_type_name(type)) {
            return type;
        }
    }
    fail("/type", "expected one of tcp, http, https, dns");
}

template <typename J>
void check_keys(const J& j, MonitorType type) {
    bool http = type == MonitorType::kHttp || type == MonitorType::kHttps;
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string& key = it.key();
        if (kCommonKeys.count(key) != 0 || (http && kHttpKeys.count(key) != 0) ||
            (type == MonitorType::kDns && kDnsKeys.count(key) != 0)) {
            continue;
        }
        if (kHttpKeys.count(key) != 0 || kDnsKeys.count(key) != 0) {
            fail("/" + pointer_token(key),
                 std::string("does not apply to ") + monitor_type_name(type) + " monitors");
        }
        fail("/" + pointer_token(key), "unknown monitor parameter");
    }
}

template <typename J>
void parse_http(const J& j, MonitorSpec& m) {
    if (j.contains("method")) {
        m.method = upper(parse_string(j["method"], "/method"));
        if (m.method != "GET" && m.method != "HEAD") {
            fail("/method", "expected GET or HEAD");
        }
    }
    if (j.contains("path")) {
        m.path = parse_string(j["path"], "/path");
        if (m.path.empty() || m.path.front() != '/' || has_ctl_or_space(m.path)) {
            fail("/path", "expected an absolute path starting with '/', without spaces");
        }
    }
    if (j.contains("host")) {
        m.host = parse_string(j["host"], "/host");
        if (m.host.empty() || has_ctl_or_space(m.host) ||
            m.host.find_first_of("/?#@") != std::string::npos) {
            fail("/host", "expected a host name");
        }
    }
    if (j.contains("headers")) {
        m.headers = parse_headers(j["headers"], "/headers");
    }
    if (j.contains("expect")) {
        m.expect = parse_expect(j["expect"], "/expect");
    }
    if (j.contains("body")) {
        m.body = parse_string(j["body"], "/body");
    }
    if (!m.body.empty() && m.method == "HEAD") {
        fail("/body", "a HEAD response has no body to match; use GET");
    }
    if (j.contains("verify_tls")) {
        m.verify_tls = parse_bool(j["verify_tls"], "/verify_tls");
    }
    if (j.contains("follow_redirects")) {
        m.follow_redirects = parse_bool(j["follow_redirects"], "/follow_redirects");
    }
}

template <typename J>
void parse_dns(const J& j, MonitorSpec& m) {
    if (!j.contains("name")) {
        fail("/name", "missing; dns monitors need the name to query");
    }
    m.name = parse_dns_name(parse_string(j["name"], "/name"), "/name");
    if (j.contains("qtype")) {
        m.qtype = parse_code(j["qtype"], "/qtype", kQtypes, std::size(kQtypes), 65535,
                             "expected a record type like \"A\", \"AAAA\" or a number 0..65535");
    }
    if (j.contains("rcode")) {
        m.rcode = static_cast<uint8_t>(
            parse_code(j["rcode"], "/rcode", kRcodes, std::size(kRcodes), 15,
                       "expected an rcode like \"NOERROR\", \"NXDOMAIN\" or a number 0..15"));
    }
}

template <typename J>
MonitorSpec parse(const J& j) {
    if (!j.is_object()) {
        fail("", "expected a monitor object");
    }
    MonitorSpec m;
    m.type = parse_type(j);
    check_keys(j, m.type);
    switch (m.type) {
        case MonitorType::kHttp:
            m.port = 80;
            break;
        case MonitorType::kHttps:
            m.port = 443;
            break;
        case MonitorType::kDns:
            m.port = 53;
            break;
        case MonitorType::kTcp:
            if (!j.contains("port")) {
                fail("/port", "missing; tcp monitors need a port");
            }
            break;
    }
    if (j.contains("port")) {
        const auto& v = j["port"];
        if (!v.is_number_integer() || v.template get<int64_t>() < 1 ||
            v.template get<int64_t>() > 65535) {
            fail("/port", "expected an integer 1..65535");
        }
        m.port = static_cast<uint16_t>(v.template get<int64_t>());
    }
    if (j.contains("interval")) {
        m.interval_ms = parse_duration_ms(j["interval"], "/interval");
    }
    if (j.contains("timeout")) {
        m.timeout_ms = parse_duration_ms(j["timeout"], "/timeout");
    }
    if (j.contains("rise")) {
        m.rise = parse_count(j["rise"], "/rise");
    }
    if (j.contains("fall")) {
        m.fall = parse_count(j["fall"], "/fall");
    }
    if (j.contains("initial")) {
        const auto& v = j["initial"];
        std::string s = v.is_string() ? v.template get<std::string>() : std::string();
        if (s != "up" && s != "down") {
            fail("/initial", "expected \"up\" or \"down\"");
        }
        m.initial = s == "up" ? State::kUp : State::kDown;
    }
    if (m.type == MonitorType::kHttp || m.type == MonitorType::kHttps) {
        parse_http(j, m);
    } else if (m.type == MonitorType::kDns) {
        parse_dns(j, m);
    }
    return m;
}

}  // namespace

const char* monitor_type_name(MonitorType t) noexcept {
    switch (t) {
        case MonitorType::kTcp:
            return "tcp";
        case MonitorType::kHttp:
            return "http";
        case MonitorType::kHttps:
            return "https";
        case MonitorType::kDns:
            return "dns";
    }
    return "unknown";
}

MonitorSpec MonitorSpec::from_json(const nlohmann::json& j) { return parse(j); }

MonitorSpec MonitorSpec::from_json(const nlohmann::ordered_json& j) { return parse(j); }

std::string MonitorSpec::identity() const {
    // nlohmann::json keeps object keys sorted, so dump() is canonical.
    nlohmann::json j;
    j["type"] = monitor_type_name(type);
    j["port"] = port;
    j["interval_ms"] = interval_ms;
    j["timeout_ms"] = timeout_ms;
    j["rise"] = rise;
    j["fall"] = fall;
    j["initial"] = state_name(initial);
    if (type == MonitorType::kHttp || type == MonitorType::kHttps) {
        j["method"] = method;
        j["path"] = path;
        j["host"] = host;
        // Header order is kept: some servers care, and the request differs.
        auto hs = nlohmann::json::array();
        for (const auto& [k, v] : headers) {
            hs.push_back({k, v});
        }
        j["headers"] = hs;
        auto ex = nlohmann::json::array();
        for (const auto& r : expect) {
            ex.push_back({r.low, r.high});
        }
        j["expect"] = ex;
        j["body"] = body;
        j["verify_tls"] = verify_tls;
        j["follow_redirects"] = follow_redirects;
    } else if (type == MonitorType::kDns) {
        j["name"] = name;
        j["qtype"] = qtype;
        j["rcode"] = rcode;
    }
    return j.dump();
}

std::string format_duration_ms(uint32_t ms) {
    char buf[32];
    if (ms % 100 == 0) {
        std::snprintf(buf, sizeof buf, "%.1fs", ms / 1000.0);
    } else if (ms % 10 == 0) {
        std::snprintf(buf, sizeof buf, "%.2fs", ms / 1000.0);
    } else {
        std::snprintf(buf, sizeof buf, "%.3fs", ms / 1000.0);
    }
    return buf;
}

}  // namespace dnslb::probes
