// Signing a loaded zone (control plane): keys from the key directory, an RRSIG over every RRset
// dnslb can serve (static data, DNSKEY, CDS/CDNSKEY, DS at cuts, the denial chain, and every
// answer each pool can produce), stored in the zone for the workers to append when DO=1.
#pragma once

#include <cstdint>
#include <string>

#include "dnslb/zone/zone.hpp"

namespace dnslb::server {

// The most distinct answers per pool name and family that are presigned; a pool that can
// produce more fails the zone's load.
inline constexpr size_t kMaxSignedVariants = 4096;

// Signs `z` (its `dnssec` policy says how) with the keys of `key_dir`, making them when the
// directory holds none for the zone and `create` is set. `now_s` is the wall clock (Unix
// seconds). Throws zone::LoadError naming the zone file and /dnssec on any failure; the zone is
// then unusable.
void sign_zone(zone::Zone& z, const std::string& key_dir, int64_t now_s, bool create = true);

}  // namespace dnslb::server
