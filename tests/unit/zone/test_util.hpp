// Helpers for the zone tests: a small valid zone to mutate, changes that break it, and loading
// it from JSON.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dnslb/zone/loader.hpp"

namespace dnslb::zone::test {

using Json = nlohmann::ordered_json;

// The smallest zone the loader accepts without errors.
inline Json base_zone() {
    return Json::parse(R"({
      "origin": "z.test.",
      "soa": { "mname": "ns1", "rname": "hostmaster", "serial": 1 },
      "records": {
        "@": { "NS": ["ns1"] },
        "ns1": { "A": ["192.0.2.1"] }
      }
    })");
}

// base_zone() plus a pool "p" with two origins.
inline Json pool_zone() {
    Json j = base_zone();
    j["pools"] = Json::parse(R"({
      "p": {
        "origins": {
          "a": { "addresses": ["192.0.2.10"], "lat": 50, "lon": 8 },
          "b": { "addresses": ["192.0.2.20", "2001:db8::20"], "lat": 1, "lon": 103 }
        }
      }
    })");
    j["records"]["app"] = Json{{"pool", "p"}};
    return j;
}

inline std::unique_ptr<Zone> load(const Json& j, std::vector<Diagnostic>* warnings = nullptr) {
    return load_zone_text(j.dump(), "t.json", warnings);
}

inline std::string load_error(const Json& j) {
    try {
        load(j);
    } catch (const LoadError& e) {
        return e.what();
    }
    return "(loaded without error)";
}

// A change that makes a valid zone invalid: the value at JSON Pointer `at` replaced by the JSON
// text `value` (nullptr: the member removed), and how the loader's error message goes on after
// the file name ("t.json: ").
struct BadChange {
    const char* at;
    const char* value;
    const char* expect;
};

inline Json changed(const Json& base, const BadChange& c) {
    Json j = base;
    const Json::json_pointer at(c.at);
    if (c.value == nullptr) {
        j[at.parent_pointer()].erase(at.back());
    } else {
        j[at] = Json::parse(c.value);
    }
    return j;
}

inline std::string wire(std::string_view text) { return name_to_wire(text); }

// Whether `w` holds a warning at `pointer` whose message contains `text`.
inline bool has_warning(const std::vector<Diagnostic>& w, std::string_view pointer,
                        std::string_view text) {
    for (const auto& d : w) {
        if (d.pointer == pointer && d.message.find(text) != std::string::npos) {
            return true;
        }
    }
    return false;
}

}  // namespace dnslb::zone::test
