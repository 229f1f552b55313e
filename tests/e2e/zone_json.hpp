// The zone files the end-to-end tests write: every test zone has TTL 300 and the same SOA
// (ns1, hostmaster, refresh 3600, retry 600, expire 1209600, minimum 60); only the origin, the
// serial and what follows differ.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace dnslb::e2e {

inline nlohmann::ordered_json zone_soa(uint32_t serial = 1) {
    return nlohmann::ordered_json{{"mname", "ns1"},  {"rname", "hostmaster"}, {"serial", serial},
                                  {"refresh", 3600}, {"retry", 600},          {"expire", 1209600},
                                  {"minimum", 60}};
}

// A zone object with the members in file order (origin, ttl, soa, records); a test adds
// "pools" and "monitors" after them.
inline nlohmann::ordered_json zone_object(const std::string& origin, nlohmann::ordered_json records,
                                          uint32_t serial = 1) {
    return nlohmann::ordered_json{{"origin", origin},
                                  {"ttl", 300},
                                  {"soa", zone_soa(serial)},
                                  {"records", std::move(records)}};
}

// The same zone as text: `records` is the body of the "records" object (its members, written
// as the test wants them), `more` further top-level members ("pools": {...}) or empty.
inline std::string zone_json(const std::string& origin, const std::string& records,
                             uint32_t serial = 1, const std::string& more = "") {
    std::string text = "{\n  \"origin\": \"" + origin +
                       "\",\n  \"ttl\": 300,\n"
                       "  \"soa\": { \"mname\": \"ns1\", \"rname\": \"hostmaster\", \"serial\": " +
                       std::to_string(serial) +
                       ",\n           \"refresh\": 3600, \"retry\": 600, \"expire\": 1209600, "
                       "\"minimum\": 60 },\n"
                       "  \"records\": {\n" +
                       records + "\n  }";
    if (!more.empty()) {
        text += ",\n" + more;
    }
    return text + "\n}\n";
}

}  // namespace dnslb::e2e
