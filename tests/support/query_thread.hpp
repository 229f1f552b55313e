// A query thread for the tests that call the responder directly (unit and fuzz): its defences,
// decision cache and context wired as a UDP thread wires them, the settings that make those
// defences bite within a few queries, the test geo databases, and health cells for a zone's
// pools. Header-only; build everything here before an AllocationWindow opens.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "dnslb/answer/context.hpp"
#include "dnslb/answer/guard.hpp"
#include "dnslb/geo/geo.hpp"
#include "dnslb/steering/cache.hpp"
#include "dnslb/zone/zone.hpp"
#include "probes/health_table.hpp"

namespace dnslb::test {

// The wall clock of every test query thread, for cookie timestamps.
constexpr uint32_t kNowS = 1800000000;

// The state of one query thread that outlives a packet. The caller sets ctx.now_ms (the RRL
// clock) and, for a query log, ctx.log.
struct QueryThread {
    explicit QueryThread(size_t cache_entries) : cache(cache_entries) {
        ctx.guard = &guard;
        ctx.attack = &attack;
        ctx.cache = &cache;
        ctx.now_s = kNowS;
    }
    QueryThread(const QueryThread&) = delete;
    QueryThread& operator=(const QueryThread&) = delete;

    server::Stats stats;
    server::ThreadGuard guard{1024};
    server::AttackState attack;
    steering::DecisionCache cache;
    server::QueryContext ctx{stats};
};

// RRL at `responses_per_second` for answers and 2 per second for NXDOMAIN, errors and
// referrals, every second limited response slipped (TC=1); cookies on or off, with a fixed
// master secret; under attack, TC=1 above `tc_above_bytes` for clients without a cookie.
inline void enable_defences(server::GuardSettings& g, uint32_t responses_per_second, bool cookies,
                            uint32_t tc_above_bytes) {
    g.rrl.enabled = true;
    g.rrl.responses_per_second = responses_per_second;
    g.rrl.nxdomains_per_second = 2;
    g.rrl.errors_per_second = 2;
    g.rrl.referrals_per_second = 2;
    g.rrl.slip = 2;
    g.cookies.enabled = cookies;
    g.cookies.master = server::parse_secret("000102030405060708090a0b0c0d0e0f");
    g.attack.tc_above_bytes = tc_above_bytes;
}

// The city-schema test databases (tools/make-test-geodb) in `dir`, IPv4 and IPv6. Throws when
// one is missing: that is a broken build.
inline std::shared_ptr<geo::Resolver> city_resolver(const std::string& dir) {
    auto resolver = std::make_shared<geo::Resolver>();
    resolver->open_database(dir + "/test-city-v4.mmdb");
    resolver->open_database(dir + "/test-city-v6.mmdb");
    return resolver;
}

// A health cell for every address of the zone's pools, down where `down(pool, origin)` says so
// (called once per address, in order).
template <typename Down>
void attach_health(zone::Zone& z, probes::HealthTable& health, Down&& down) {
    for (auto& pool : z.pools) {
        for (auto& origin : pool.origins) {
            for (auto& addr : origin.addresses) {
                const bool is_down = down(pool, origin);
                addr.health = health.acquire(pool.name + "/" + origin.name + "/" + addr.text,
                                             is_down ? probes::State::kDown : probes::State::kUp);
            }
        }
    }
}

}  // namespace dnslb::test
