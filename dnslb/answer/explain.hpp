// "Why this answer?": how a name is answered for a given asker, as text lines. Used by
// `dnslb explain`, by the CHAOS TXT form of a load-balanced name and by the HTTP API.
// Off the query path: it allocates freely.
#pragma once

#include <string>
#include <vector>

#include "dnslb/answer/snapshot.hpp"
#include "dnslb/steering/cache.hpp"

namespace dnslb::server {

using steering::Asker;

// Parses "1.2.3.4", "2001:db8::1" (as a client address) or "1.2.3.0/24" (as a subnet).
// Throws std::invalid_argument.
Asker parse_asker(const std::string& text, bool subnet);

// Lines describing the answer of `snap` to `name` (presentation format) of type A (and AAAA
// when the pool has IPv6 origins) for the asker.
std::vector<std::string> explain(const Snapshot& snap, const std::string& name, const Asker& asker);
// The same for a wire-format lower-cased name.
std::vector<std::string> explain_wire(const Snapshot& snap, const uint8_t* lower_name, size_t len,
                                      const Asker& asker);

}  // namespace dnslb::server
