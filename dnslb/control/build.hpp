// Building a snapshot from a configuration: the geo resolver, the server options, the zones of
// the zone directory and their health checks. Used by the control thread and by the offline
// commands (check, explain), which need nothing else of the server.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "dnslb/answer/snapshot.hpp"
#include "dnslb/config/config.hpp"
#include "probes/health_table.hpp"
#include "probes/prober_pool.hpp"

namespace dnslb::server {

// Control thread: a stable answer-counter slot (Stats::origin_answers) per zone, pool and origin
// name, so that a reload keeps an origin's counter and Prometheus sees no reset. Slots are not
// reused; once all are taken, new origins go uncounted (and acquire() returns -1).
class OriginCounterIds {
public:
    int32_t acquire(const std::string& zone, const std::string& pool, const std::string& origin);
    size_t size() const noexcept { return ids_.size(); }

private:
    std::unordered_map<std::string, int32_t> ids_;
};

// Opens the geo databases and nets of a configuration. Throws std::runtime_error.
std::shared_ptr<const geo::Resolver> make_resolver(const config::Config& cfg);
Options make_options(const config::Config& cfg);

// Loads every zone of cfg.zones_dir into a new snapshot. A zone file that fails keeps the zone
// it held in `previous` (if any); each failure is appended to `errors`. With a prober, the
// monitored addresses of every zone become its check set and get their health cells (an
// unchanged check keeps its cell, so its state survives the reload).
std::unique_ptr<Snapshot> build_snapshot(const config::Config& cfg, const Snapshot* previous,
                                         std::shared_ptr<const geo::Resolver> geo,
                                         std::vector<std::string>& errors,
                                         probes::ProberPool* prober = nullptr,
                                         const probes::HealthTable* health = nullptr,
                                         OriginCounterIds* counters = nullptr);

// The longest monitor timeout in a snapshot (bounds the start-up round), 0 if none.
uint32_t longest_timeout_ms(const Snapshot& snap);

}  // namespace dnslb::server
