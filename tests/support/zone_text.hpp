// Zone files as JSON text for the tests that load zones in-process (unit and fuzz): the head
// every zone repeats (origin, default TTL, SOA) and large TXT record sets are written here
// once. Header-only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace dnslb::test {

// The "soa" object; names relative to the origin unless they end in a dot.
struct Soa {
    std::string_view mname = "ns1";
    std::string_view rname = "hostmaster";
    uint32_t serial = 1;
    uint32_t refresh = 3600;
    uint32_t retry = 600;
    uint32_t expire = 1209600;
    uint32_t minimum = 300;  // the negative-caching TTL (RFC 2308 section 4)
};

// A zone file. `records` holds the members of the "records" object and `more` further top-level
// members ("pools", "monitors"), each written without the enclosing braces.
inline std::string zone_text(std::string_view origin, uint32_t ttl, const Soa& soa,
                             std::string_view records, std::string_view more = {}) {
    std::string out = R"({ "origin": ")";
    out.append(origin).append(R"(", "ttl": )").append(std::to_string(ttl));
    out.append(R"(, "soa": { "mname": ")").append(soa.mname);
    out.append(R"(", "rname": ")").append(soa.rname);
    out.append(R"(", "serial": )").append(std::to_string(soa.serial));
    out.append(R"(, "refresh": )").append(std::to_string(soa.refresh));
    out.append(R"(, "retry": )").append(std::to_string(soa.retry));
    out.append(R"(, "expire": )").append(std::to_string(soa.expire));
    out.append(R"(, "minimum": )").append(std::to_string(soa.minimum));
    out.append(R"( }, "records": { )").append(records).append(" }");
    if (!more.empty()) {
        out.append(", ").append(more);
    }
    out.append(" }");
    return out;
}

// A member of "records": `owner` with a TXT record set of one character-string per length,
// the first of lengths[0] 'a's, the next of 'b's and so on.
inline std::string txt_record(std::string_view owner, std::initializer_list<size_t> lengths) {
    std::string out = "\"";
    out.append(owner).append(R"(": { "TXT": [)");
    char letter = 'a';
    for (size_t n : lengths) {
        out.append(letter > 'a' ? ", " : "").append(R"("\")");
        out.append(n, letter++).append(R"(\"")");
    }
    return out + "] }";
}

}  // namespace dnslb::test
