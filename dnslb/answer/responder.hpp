// The query path: one packet in, one response out, in a caller-owned buffer.
//
// Budget: no allocation, no lock, no exception, no syscall, no log line. Everything the answer
// needs was prepared at load time (pre-rendered RRsets, indexed names); steering and geo
// lookups are pure reads of shared immutable data and of the health table's atomics.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "dnslb/answer/guard.hpp"
#include "dnslb/answer/stats.hpp"
#include "dnslb/answer/snapshot.hpp"

namespace dnslb::server {

enum class Transport : uint8_t { kUdp = 0, kTcp = 1 };

struct ClientAddress {
    int family = 4;  // 4 or 6
    uint8_t bytes[16] = {};
};


// What the responder decided, for the query log and explain (filled only when non-null).
struct AnswerNote {
    int32_t pool = -1;
    const zone::Zone* zone = nullptr;
    uint16_t origins[16] = {};
    uint8_t origin_count = 0;
    uint8_t scope = 0;
    uint8_t rcode = 0;
};

// The worker's side of the defences, passed with every packet. Without it (tests, tools) no
// rate limiting, cookies or under-attack behaviour applies.
struct QueryEnv {
    WorkerGuard* guard = nullptr;
    const AttackState* attack = nullptr;
    uint64_t now_ms = 0;  // monotonic, for RRL buckets
    uint32_t now_s = 0;   // wall clock, for cookie timestamps
};

// Returns the response length, or 0 when the packet gets no answer at all.
size_t respond(const Snapshot& snap, const uint8_t* pkt, size_t len, const ClientAddress& client,
               Transport transport, uint8_t* out, size_t out_cap, Stats& stats,
               AnswerNote* note = nullptr, const QueryEnv* env = nullptr) noexcept;

}  // namespace dnslb::server
