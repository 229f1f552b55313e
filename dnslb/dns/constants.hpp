// Protocol numbers: RR types, classes, rcodes, header flags and EDNS option codes. The one
// place they are spelled; nothing else writes them as literals.
#pragma once

#include <cstdint>

namespace dnslb::dns {

// RR types (RFC 1035, 3596, 4034, 5155, 6891, 7344, 8482).
inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeNS = 2;
inline constexpr uint16_t kTypeCNAME = 5;
inline constexpr uint16_t kTypeSOA = 6;
inline constexpr uint16_t kTypeHINFO = 13;
inline constexpr uint16_t kTypeMX = 15;
inline constexpr uint16_t kTypeTXT = 16;
inline constexpr uint16_t kTypeAAAA = 28;
inline constexpr uint16_t kTypeSRV = 33;
inline constexpr uint16_t kTypeOPT = 41;
inline constexpr uint16_t kTypeDS = 43;
inline constexpr uint16_t kTypeRRSIG = 46;
inline constexpr uint16_t kTypeNSEC = 47;
inline constexpr uint16_t kTypeDNSKEY = 48;
inline constexpr uint16_t kTypeNSEC3 = 50;
inline constexpr uint16_t kTypeNSEC3PARAM = 51;
inline constexpr uint16_t kTypeCDS = 59;
inline constexpr uint16_t kTypeCDNSKEY = 60;
inline constexpr uint16_t kTypeIXFR = 251;
inline constexpr uint16_t kTypeAXFR = 252;
inline constexpr uint16_t kTypeANY = 255;

// Classes.
inline constexpr uint16_t kClassIN = 1;
inline constexpr uint16_t kClassCH = 3;

// Response codes; above 15 they are extended (the upper bits travel in the OPT TTL).
inline constexpr uint8_t kRcodeNoError = 0;
inline constexpr uint8_t kRcodeFormErr = 1;
inline constexpr uint8_t kRcodeServFail = 2;
inline constexpr uint8_t kRcodeNxDomain = 3;
inline constexpr uint8_t kRcodeNotImp = 4;
inline constexpr uint8_t kRcodeRefused = 5;
inline constexpr uint16_t kRcodeBadVers = 16;    // RFC 6891 section 6.1.3
inline constexpr uint16_t kRcodeBadCookie = 23;  // RFC 7873 section 8

// EDNS option codes.
inline constexpr uint16_t kOptionEcs = 8;      // RFC 7871
inline constexpr uint16_t kOptionCookie = 10;  // RFC 7873

// Header flag bits (RFC 1035 section 4.1.1, RFC 4035 for AD/CD).
inline constexpr uint16_t kFlagQR = 0x8000;
inline constexpr uint16_t kFlagAA = 0x0400;
inline constexpr uint16_t kFlagTC = 0x0200;
inline constexpr uint16_t kFlagRD = 0x0100;
// EDNS flag (in the OPT TTL): DNSSEC OK (RFC 3225).
inline constexpr uint16_t kEdnsFlagDO = 0x8000;

}  // namespace dnslb::dns
