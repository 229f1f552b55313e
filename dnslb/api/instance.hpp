// What the HTTP API needs of a running server, as an interface: the control plane implements
// it (server::Control), the API depends on it alone, so the API never includes the control
// plane that owns it.
#pragma once

#include <cstdint>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "dnslb/answer/guard.hpp"
#include "dnslb/answer/snapshot.hpp"
#include "dnslb/answer/stats.hpp"
#include "dnslb/config/config.hpp"
#include "dnslb/plan/demand_book.hpp"
#include "probes/health_table.hpp"
#include "probes/prober_pool.hpp"

namespace dnslb::api {

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

// Cluster mode as the API shows it (enabled false outside cluster mode).
struct ClusterView {
    bool enabled = false;
    size_t members = 0;
    bool reachable = false;
    bool fallback = false;
    size_t checks = 0;
    size_t checks_here = 0;
    size_t disagreements = 0;
    size_t drift = 0;
    int64_t revision = 0;
    uint64_t ignored = 0;
    std::string status_json;  // the "cluster" object of /status
};

// Thread contract: every member may be called from the API thread. The snapshot may be used
// only while holding state().mutex (see ControlState); the health table, prober, counters and
// guards are read through their thread-safe readers.
class Instance {
public:
    virtual ~Instance() = default;
    virtual const config::Config& config() const noexcept = 0;
    virtual const server::SnapshotHolder& snapshots() const noexcept = 0;
    virtual probes::HealthTable& health() noexcept = 0;
    virtual const probes::HealthTable& health() const noexcept = 0;
    virtual const probes::ProberPool& prober() const noexcept = 0;
    // One entry per query thread.
    virtual std::vector<const server::Stats*> stats() const = 0;
    virtual std::vector<const server::ThreadGuard*> guards() const = 0;
    virtual const server::AttackState& attack() const noexcept = 0;
    // Workers as configured (each is one TCP thread plus one UDP thread per listen address).
    virtual size_t worker_count() const noexcept = 0;
    virtual const ControlState& state() const noexcept = 0;
    virtual uint64_t query_log_dropped() const noexcept = 0;
    // The recorded demand; null when demand recording is off. Thread-safe on its own.
    virtual const plan::DemandBook* demand() const noexcept { return nullptr; }
    // Asks the control thread to reload and waits for the outcome.
    virtual std::future<ReloadResult> request_reload() = 0;
    // The operator's switch of the under-attack mode (the automatic trigger works
    // independently; the mode is on while either is). Health freezes within 100 ms.
    virtual void set_under_attack(bool on) = 0;
    virtual ClusterView cluster_view() const { return {}; }
    // Cluster mode: writes the operator's action to etcd and waits until this node applied it.
    // Returns an HTTP status and fills `message`; 0 outside cluster mode (act locally).
    virtual int cluster_override(const std::string& /*zone*/, const std::string& /*pool*/,
                                 const std::string& /*origin*/, const std::string& /*state*/,
                                 std::string& /*message*/) {
        return 0;
    }
    virtual int cluster_attack(bool /*on*/, std::string& /*message*/) { return 0; }
};

}  // namespace dnslb::api
