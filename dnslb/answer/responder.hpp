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
#include "dnslb/answer/snapshot.hpp"

namespace dnslb::server {

enum class Transport : uint8_t { kUdp = 0, kTcp = 1 };

struct ClientAddress {
    int family = 4;  // 4 or 6
    uint8_t bytes[16] = {};
};

// Per-worker counters: plain integers written only by their worker; the metrics endpoint reads
// them relaxed (a torn read of a 64-bit counter cannot happen on the targets we build for).
struct Stats {
    std::atomic<uint64_t> queries[2] = {};           // by transport
    std::atomic<uint64_t> rcodes[24] = {};           // by response rcode (extended included)
    std::atomic<uint64_t> qtypes[5] = {};            // A, AAAA, MX, TXT, other: see qtype_slot
    std::atomic<uint64_t> ecs = {};                  // queries carrying Client Subnet
    std::atomic<uint64_t> truncated = {};
    std::atomic<uint64_t> dropped = {};              // no answer sent (QR=1, too short)
    std::atomic<uint64_t> pool_answers = {};
    std::atomic<uint64_t> referrals = {};
    // TCP (RFC 7766 section 6.2): connections and why they were closed by us.
    std::atomic<uint64_t> tcp_accepted = {};
    std::atomic<uint64_t> tcp_open = {};
    std::atomic<uint64_t> tcp_closed_idle = {};
    std::atomic<uint64_t> tcp_closed_slow = {};         // a query not received in time
    std::atomic<uint64_t> tcp_closed_query_cap = {};    // queries-per-connection cap
    std::atomic<uint64_t> tcp_closed_evicted = {};      // oldest idle, to admit a new one
    std::atomic<uint64_t> tcp_refused_per_source = {};
    // Answers that carried an origin, by the origin's counter slot (zone::Origin::counter).
    static constexpr size_t kOriginCounters = 4096;
    std::atomic<uint64_t> origin_answers[kOriginCounters] = {};

    void bump(std::atomic<uint64_t>& c) noexcept {
        c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
};
size_t qtype_slot(uint16_t qtype) noexcept;

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
