// Control-thread side of the defences: logs newly rate-limited networks (itself rate-limited)
// and switches the under-attack mode on above the configured query rate, off again once the
// rate has stayed below half of it for a while.
#pragma once

#include <cstdint>

#include "dnslb/transport/server.hpp"
#include "probes/health_table.hpp"

namespace dnslb::server {

class Shield {
public:
    // Call about every 100 ms from the control loop.
    void tick(Server& server, probes::HealthTable& health, const Snapshot* snap, uint64_t now_ms);

private:
    void sync_freeze(Server& server, probes::HealthTable& health);
    uint64_t last_ms_ = 0;
    uint64_t last_queries_ = 0;
    uint64_t calm_since_ms_ = 0;
    uint64_t log_window_ms_ = 0;
    uint32_t logged_in_window_ = 0;
    uint64_t suppressed_ = 0;
};

}  // namespace dnslb::server
