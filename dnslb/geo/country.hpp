// Country and continent codes, as the geo databases, nets and zone files spell them.
#pragma once

#include <cstdint>

namespace dnslb::geo {

// Two-letter ISO 3166 country code packed as (c0 << 8) | c1, upper case. 0 = unknown.
using CountryCode = uint16_t;
constexpr CountryCode country_code(char c0, char c1) {
    return static_cast<CountryCode>((static_cast<uint8_t>(c0) << 8) | static_cast<uint8_t>(c1));
}

}  // namespace dnslb::geo
