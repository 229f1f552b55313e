// The control thread: loads configuration and zones, publishes snapshots, reloads on SIGHUP,
// stops on SIGINT/SIGTERM, and reclaims retired snapshots. Never on the query path.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dnslb/config/config.hpp"
#include "dnslb/server/server.hpp"
#include "dnslb/server/snapshot.hpp"
#include "probes/health_table.hpp"
#include "probes/prober_pool.hpp"

namespace dnslb::server {

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
                                         const probes::HealthTable* health = nullptr);

// The longest monitor timeout in a snapshot (bounds the start-up round), 0 if none.
uint32_t longest_timeout_ms(const Snapshot& snap);

class Control {
public:
    explicit Control(config::Config cfg);
    ~Control();
    // Serves until SIGINT/SIGTERM. Returns the process exit status.
    int run();

private:
    struct Loop;
    void reload(const char* why);

    config::Config cfg_;
    SnapshotHolder snapshots_;
    std::shared_ptr<const geo::Resolver> geo_;
    std::unique_ptr<probes::HealthTable> health_;
    std::unique_ptr<probes::ProberPool> prober_;
    std::unique_ptr<Server> server_;
    std::unique_ptr<Loop> loop_;
};

}  // namespace dnslb::server
