// Packets and clients for the tests that call the responder directly (unit and fuzz): a query
// built with ldns, and client addresses. Header-only; nothing here is on a counted path (build
// packets before an AllocationWindow opens).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <vector>

#include "dnslb/answer/context.hpp"
#include "dnslb/base/ldns.hpp"

namespace dnslb::test {

struct QuerySpec {
    uint16_t id = 4242;
    int edns_udp_size = 0;     // 0: no OPT
    uint8_t edns_version = 0;  // with an OPT
    std::string options_hex;   // EDNS options as hex (ECS, COOKIE), with an OPT
    bool dnssec_ok = false;    // the DO bit, with an OPT
};

// The wire form of a query for `name`/`type` (class IN, RD); empty if ldns cannot build it.
inline std::vector<uint8_t> make_query(const char* name, ldns_rr_type type,
                                       const QuerySpec& spec = {}) {
    ldns_pkt* pkt =
        ldns_pkt_query_new(ldns_dname_new_frm_str(name), type, LDNS_RR_CLASS_IN, LDNS_RD);
    ldns_pkt_set_id(pkt, spec.id);
    if (spec.edns_udp_size > 0) {
        ldns_pkt_set_edns_udp_size(pkt, static_cast<uint16_t>(spec.edns_udp_size));
        ldns_pkt_set_edns_version(pkt, spec.edns_version);
        ldns_pkt_set_edns_do(pkt, spec.dnssec_ok);
        if (!spec.options_hex.empty()) {
            ldns_pkt_set_edns_data(
                pkt, ldns_rdf_new_frm_str(LDNS_RDF_TYPE_HEX, spec.options_hex.c_str()));
        }
    }
    uint8_t* wire = nullptr;
    size_t len = 0;
    std::vector<uint8_t> out;
    if (ldns_pkt2wire(&wire, pkt, &len) == LDNS_STATUS_OK) {
        out.assign(wire, wire + len);
    }
    std::free(wire);  // NOLINT(cppcoreguidelines-no-malloc): ldns allocates with malloc
    ldns_pkt_free(pkt);
    return out;
}

inline server::ClientAddress v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    server::ClientAddress ca;
    ca.family = 4;
    ca.bytes[0] = a;
    ca.bytes[1] = b;
    ca.bytes[2] = c;
    ca.bytes[3] = d;
    return ca;
}

// An IPv6 client: the given leading bytes, then zeros, then ::1 as the last byte.
inline server::ClientAddress v6(std::initializer_list<uint8_t> prefix) {
    server::ClientAddress ca;
    ca.family = 6;
    size_t i = 0;
    for (uint8_t b : prefix) {
        ca.bytes[i++] = b;
    }
    ca.bytes[15] = 1;
    return ca;
}

}  // namespace dnslb::test
