// The counters of one query thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace dnslb::server {

// Per-worker counters: plain integers written only by their worker; the metrics endpoint reads
// them relaxed (a torn read of a 64-bit counter cannot happen on the targets we build for).
struct Stats {
    std::atomic<uint64_t> queries[2] = {};  // by transport
    std::atomic<uint64_t> rcodes[24] = {};  // by response rcode (extended included)
    std::atomic<uint64_t> qtypes[5] = {};   // A, AAAA, MX, TXT, other: see qtype_slot
    std::atomic<uint64_t> ecs = {};         // queries carrying Client Subnet
    std::atomic<uint64_t> truncated = {};
    std::atomic<uint64_t> dropped = {};  // no answer sent (QR=1, too short)
    std::atomic<uint64_t> pool_answers = {};
    std::atomic<uint64_t> referrals = {};
    // TCP (RFC 7766 section 6.2): connections and why they were closed by us.
    std::atomic<uint64_t> tcp_accepted = {};
    std::atomic<uint64_t> tcp_open = {};
    std::atomic<uint64_t> tcp_closed_idle = {};
    std::atomic<uint64_t> tcp_closed_slow = {};       // a query not received in time
    std::atomic<uint64_t> tcp_closed_query_cap = {};  // queries-per-connection cap
    std::atomic<uint64_t> tcp_closed_evicted = {};    // oldest idle, to admit a new one
    std::atomic<uint64_t> tcp_refused_per_source = {};
    // Answers that carried an origin, by the origin's counter slot (zone::Origin::counter).
    static constexpr size_t kOriginCounters = 4096;
    std::atomic<uint64_t> origin_answers[kOriginCounters] = {};

    void bump(std::atomic<uint64_t>& c) noexcept {
        c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
};
size_t qtype_slot(uint16_t qtype) noexcept;

}  // namespace dnslb::server
