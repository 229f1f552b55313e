// The query path: one packet in, one response out, in a caller-owned buffer.
//
// Budget: no allocation, no lock, no exception, no syscall, no log line. Everything the answer
// needs was prepared at load time (pre-rendered RRsets, indexed names); steering and geo
// lookups are pure reads of shared immutable data and of the health table's atomics. The one
// exception is the CHAOS TXT explain diagnostic (answer/chaos.cpp), gated by explain_from.
//
// The files of this folder follow the answer: respond.cpp (triage, header, OPT, the one error
// path), in_zone.cpp (RFC 1034 section 4.3.2 inside a zone), referral.cpp, pools.cpp (pools
// and ANY), chaos.cpp (CHAOS class and explain), defences.cpp (cookies, RRL, slip, the
// under-attack truncation).
#pragma once

#include <cstddef>
#include <cstdint>

#include "dnslb/answer/context.hpp"
#include "dnslb/answer/snapshot.hpp"

namespace dnslb::server {

// Returns the response length, or 0 when the packet gets no answer at all. When the context
// has a query log that samples this query, the decision is recorded there; `note`, when
// non-null, receives it too.
size_t respond(const Snapshot& snap, const uint8_t* pkt, size_t len, const ClientAddress& client,
               Transport transport, uint8_t* out, size_t out_cap, QueryContext& ctx,
               AnswerNote* note = nullptr) noexcept;

}  // namespace dnslb::server
