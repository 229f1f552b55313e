// What one query thread hands the responder with every packet: who asked and how, and the
// thread's own state (counters, defences, decision cache, query-log ring, clocks).
//
// Thread contract: a QueryContext belongs to exactly one query thread, which alone writes it
// and everything it points to, except `attack`, which the control thread writes and the query
// thread reads relaxed. Nothing in it is allocated or locked per query.
#pragma once

#include <cstdint>

#include "dnslb/answer/guard.hpp"
#include "dnslb/answer/stats.hpp"

namespace dnslb::steering {
class DecisionCache;
}

namespace dnslb::zone {
struct Zone;
}

namespace dnslb::server {

class QueryLogRing;
class DemandTable;

enum class Transport : uint8_t { kUdp = 0, kTcp = 1 };

struct ClientAddress {
    int family = 4;  // 4 or 6
    uint8_t bytes[16] = {};
};

// What the responder decided, for the query log and explain (filled only when asked for).
struct AnswerNote {
    int32_t pool = -1;
    const zone::Zone* zone = nullptr;
    uint16_t origins[16] = {};
    uint8_t origin_count = 0;
    uint8_t scope = 0;
    uint8_t rcode = 0;
};

struct QueryContext {
    explicit QueryContext(Stats& s) noexcept : stats(s) {}

    Stats& stats;
    // The defences. Without a guard (tests, tools) no rate limiting, cookies or under-attack
    // behaviour applies; over TCP only cookies do.
    ThreadGuard* guard = nullptr;
    const AttackState* attack = nullptr;
    // The steering decision cache (steering/cache.hpp); null: every pool answer is steered
    // afresh.
    steering::DecisionCache* cache = nullptr;
    // The sampled query log; null: off.
    QueryLogRing* log = nullptr;
    // Demand recording (answer/demand.hpp); null: off.
    DemandTable* demand = nullptr;
    // Read once per batch by the thread, never per query.
    uint64_t now_ms = 0;  // monotonic, for RRL buckets
    uint32_t now_s = 0;   // wall clock, for cookie timestamps
};

}  // namespace dnslb::server
