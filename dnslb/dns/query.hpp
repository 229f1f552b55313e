// Parsing of an incoming query: header, the one question, and the OPT record with the EDNS
// options we act on (Client Subnet, RFC 7871; Cookie, RFC 7873). Bounded, allocation-free.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dnslb/dns/constants.hpp"
#include "dnslb/dns/wire.hpp"

namespace dnslb::dns {

struct ClientSubnet {
    uint16_t family = 0;  // 1 IPv4, 2 IPv6 (IANA address family numbers)
    uint8_t source_prefix = 0;
    uint8_t scope_prefix = 0;
    uint8_t address[16] = {};  // zero beyond the source prefix
};

struct Query {
    uint16_t id = 0;
    uint16_t flags = 0;
    uint8_t opcode = 0;
    // The question as received (original case) and lower-cased; both uncompressed wire.
    const uint8_t* qname = nullptr;
    size_t qname_len = 0;
    // Valid up to qname_len (not cleared: the parser writes what it reports).
    uint8_t qname_lower[kMaxNameWire];
    // Where each label of the question starts, then the root's offset (qname_labels + 1 valid).
    size_t qname_labels = 0;
    uint8_t qname_label_at[kMaxLabels + 1];
    uint16_t qtype = 0;
    uint16_t qclass = 0;
    size_t question_end = 0;  // offset just past the question

    bool edns = false;
    uint16_t udp_size = 512;
    uint8_t edns_version = 0;
    bool dnssec_ok = false;
    bool has_ecs = false;
    ClientSubnet ecs;
    bool has_cookie = false;
    uint8_t cookie_len = 0;  // 8 (client only) or 16..40 (client + server)
    uint8_t cookie[40];      // valid up to cookie_len
};

enum class ParseStatus : uint8_t {
    kOk,
    kDrop,     // not worth an answer: too short for a header, or a response (QR=1)
    kFormErr,  // answer FORMERR (header echoed, question when it parsed)
    kNotImp,   // opcode other than QUERY
    kBadVers,  // EDNS version > 0
};

// Parses `len` bytes. On kFormErr/kNotImp/kBadVers the fields parsed so far (id, flags, and the
// question when question_end != 0) are valid for building the error response.
ParseStatus parse_query(const uint8_t* pkt, size_t len, Query& q) noexcept;

}  // namespace dnslb::dns
