// Records read from a master file or a zone transfer to the dnslb zone format
// (zones/zone.schema.json), keeping every record the format can express and noting the rest.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dnslb/import/master_file.hpp"

namespace dnslb::import {

using Json = nlohmann::ordered_json;

struct ZoneJson {  // NOLINT(bugprone-exception-escape): nlohmann::json moves do not throw
    Json zone;     // origin, ttl, soa, records (canonical name order, types by number)
    std::vector<const ldns_rr*> kept;  // the records written, for verify()
};

// Builds the zone from `records` (every one with an RR). The zone is the owner of the first
// SOA. What cannot be kept (another class, outside the zone, occluded below a cut, DNSSEC
// signatures, ...) is appended to `notes`. Throws ImportError when there is no SOA.
ZoneJson build_zone(const std::vector<SourceRecord>& records, std::vector<std::string>& notes);

// The zone file text: the keys in the order of the format's documentation, one line per name.
std::string zone_text(const Json& zone);

// Loads `text` with dnslb's own loader and checks that every record of `kept` is there with
// the same TTL and RDATA (wire format). Throws ImportError naming the first difference.
void verify(const std::string& text, const std::string& label,
            const std::vector<const ldns_rr*>& kept);

// "www.example.org." relative to "example.org." is "www"; the origin itself is "@".
std::string relative_name(const ldns_rdf* name, const ldns_rdf* origin);

}  // namespace dnslb::import
