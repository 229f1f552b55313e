// The control thread: loads configuration and zones, publishes snapshots, reloads (on SIGHUP,
// on a change in the zone directory, on an API request), stops on SIGINT/SIGTERM, reclaims
// retired snapshots and prints the sampled query log. Never on the query path.
#pragma once

#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dnslb/config/config.hpp"
#include "dnslb/control/notify.hpp"
#include "dnslb/answer/query_log.hpp"
#include "dnslb/transport/server.hpp"
#include "dnslb/control/shield.hpp"
#include "dnslb/answer/snapshot.hpp"
#include "probes/health_table.hpp"
#include "probes/prober_pool.hpp"

namespace dnslb::api {
class HttpApi;
}

namespace dnslb::server {

enum class ReloadTrigger : uint8_t { kSignal = 0, kFileChange = 1, kApi = 2 };
inline constexpr size_t kReloadTriggers = 3;
const char* trigger_name(ReloadTrigger t) noexcept;

struct ReloadResult {
    bool ok = false;          // no zone failed; failed zones keep serving their previous version
    uint64_t generation = 0;  // of the snapshot published (0: none)
    size_t zones = 0;
    std::vector<std::string> errors;  // "file: /json/pointer: reason"
};

// What the control thread shares with the HTTP API thread. `mutex` guards every member and is
// also held while the control thread takes retired snapshots out of SnapshotHolder to free
// them, so a reader holding it may use the current snapshot (SnapshotHolder::load()) safely.
struct ControlState {
    struct ZoneFile {
        std::string origin;
        int64_t loaded_ms = 0;  // unix ms of the load that produced the serving version
        uint32_t serial = 0;
        std::string error;  // of the latest attempt; "" when it loaded
    };
    mutable std::mutex mutex;
    std::map<std::string, ZoneFile> files;  // by file path
    uint64_t reloads[kReloadTriggers] = {};
    uint64_t reloads_ok = 0;
    uint64_t reloads_failed = 0;  // reloads with at least one zone error
    uint64_t zone_errors = 0;     // over all reloads
    int64_t last_reload_ms = 0;
    bool last_reload_ok = true;
    std::vector<std::string> last_errors;
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

class Control {
public:
    explicit Control(config::Config cfg);
    ~Control();
    Control(const Control&) = delete;
    Control& operator=(const Control&) = delete;
    // Serves until SIGINT/SIGTERM. Returns the process exit status.
    int run();

    // Any thread: asks the control thread to reload and waits for the outcome.
    std::future<ReloadResult> request_reload();

    // Read-only views for the HTTP API (see ControlState for the locking rule).
    const config::Config& config() const noexcept { return cfg_; }
    const SnapshotHolder& snapshots() const noexcept { return snapshots_; }
    probes::HealthTable& health() noexcept { return *health_; }
    const probes::HealthTable& health() const noexcept { return *health_; }
    const probes::ProberPool& prober() const noexcept { return *prober_; }
    const Server& server() const noexcept { return *server_; }
    // Any thread: the operator's switch of the under-attack mode (the automatic trigger works
    // independently; the mode is on while either is). Health freezes within 100 ms.
    void set_under_attack(bool on);
    const ControlState& state() const noexcept { return state_; }
    uint64_t query_log_dropped() const noexcept {
        return query_log_ != nullptr ? query_log_->dropped() : 0;
    }

private:
    struct Loop;
    ReloadResult reload(ReloadTrigger why);
    void record_load(const Snapshot& snap, const std::vector<std::string>& errors, bool reloading);
    void start_loop();
    void close_loop();
    bool start_api();

    config::Config cfg_;
    ControlState state_;
    std::mutex reload_requests_mutex_;
    std::vector<std::promise<ReloadResult>> reload_requests_;  // guarded by the mutex above
    bool stopping_ = false;                                    // guarded by reload_requests_mutex_
    std::unique_ptr<QueryLog> query_log_;
    SnapshotHolder snapshots_;
    std::shared_ptr<const geo::Resolver> geo_;
    std::unique_ptr<probes::HealthTable> health_;
    std::unique_ptr<probes::ProberPool> prober_;
    std::unique_ptr<Server> server_;
    Shield shield_;
    Notifier notifier_;  // systemd readiness; does nothing without NOTIFY_SOCKET
    unsigned status_ticks_ = 0;
    OriginCounterIds counter_ids_;
    std::unique_ptr<Loop> loop_;
    std::unique_ptr<api::HttpApi> api_;  // last: stopped before everything it reads
};

}  // namespace dnslb::server
