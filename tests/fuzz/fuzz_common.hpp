// Shared by the fuzz targets: the oracle checks and a well-formedness check of responses.
//
// A failed check aborts, so libFuzzer records the input as a crash and the corpus driver
// (corpus_main.cpp) exits non-zero.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "dnslb/base/ldns.hpp"

namespace dnslb::fuzz {

[[noreturn]] inline void fail(const char* what, const char* detail = "") {
    std::fprintf(stderr, "fuzz check failed: %s %s\n", what, detail);
    std::fflush(stderr);
    std::abort();
}

inline void check(bool ok, const char* what, const char* detail = "") {
    if (!ok) {
        fail(what, detail);
    }
}

// Every response the server sends must itself be a DNS message a client can parse, carrying the
// query's ID with QR set (RFC 1035 section 4.1.1).
inline void check_response(const uint8_t* resp, size_t n, uint16_t query_id) {
    ldns_pkt* parsed = nullptr;
    ldns_status st = ldns_wire2pkt(&parsed, resp, n);
    if (st != LDNS_STATUS_OK) {
        fail("response does not parse:", ldns_get_errorstr_by_id(st));
    }
    bool qr = ldns_pkt_qr(parsed);
    uint16_t id = ldns_pkt_id(parsed);
    ldns_pkt_free(parsed);
    check(qr, "response without QR");
    check(id == query_id, "response ID differs from the query ID");
}

}  // namespace dnslb::fuzz
