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

#include "dnslb/answer/query_log.hpp"
#include "dnslb/answer/snapshot.hpp"
#include "dnslb/api/instance.hpp"
#include "dnslb/cluster/cluster.hpp"
#include "dnslb/config/config.hpp"
#include "dnslb/control/build.hpp"
#include "dnslb/control/demand_feed.hpp"
#include "dnslb/control/notify.hpp"
#include "dnslb/control/shield.hpp"
#include "dnslb/transport/server.hpp"
#include "probes/health_table.hpp"
#include "probes/prober_pool.hpp"

namespace dnslb::api {
class HttpApi;
}

namespace dnslb::server {

using api::ControlState;
using api::ReloadResult;
using api::ReloadTrigger;

class Control final : public api::Instance {
public:
    explicit Control(config::Config cfg);
    ~Control();
    Control(const Control&) = delete;
    Control& operator=(const Control&) = delete;
    // Serves until SIGINT/SIGTERM. Returns the process exit status.
    int run();

    // api::Instance (see there for the thread contract).
    std::future<ReloadResult> request_reload() override;
    const config::Config& config() const noexcept override { return cfg_; }
    const SnapshotHolder& snapshots() const noexcept override { return snapshots_; }
    probes::HealthTable& health() noexcept override { return *health_; }
    const probes::HealthTable& health() const noexcept override { return *health_; }
    const probes::ProberPool& prober() const noexcept override { return *prober_; }
    std::vector<const Stats*> stats() const override { return server_->stats(); }
    std::vector<const ThreadGuard*> guards() const override {
        return static_cast<const Server&>(*server_).guards();
    }
    const AttackState& attack() const noexcept override { return server_->attack(); }
    size_t worker_count() const noexcept override { return server_->worker_count(); }
    void set_under_attack(bool on) override;
    api::ClusterView cluster_view() const override;
    int cluster_override(const std::string& zone, const std::string& pool,
                         const std::string& origin, const std::string& state,
                         std::string& message) override;
    int cluster_attack(bool on, std::string& message) override;
    const ControlState& state() const noexcept override { return state_; }
    uint64_t query_log_dropped() const noexcept override {
        return query_log_ != nullptr ? query_log_->dropped() : 0;
    }
    const plan::DemandBook* demand() const noexcept override {
        return demand_ != nullptr ? &demand_->book() : nullptr;
    }

private:
    struct Loop;
    ReloadResult reload(ReloadTrigger why);
    void record_load(const Snapshot& snap, const std::vector<std::string>& errors, bool reloading);
    void start_loop();
    void close_loop();
    bool start_api();
    cluster::Inventory inventory() const;
    void apply_attack(bool on, const char* how);
    bool start_demand();
    void stop_demand();

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
    std::unique_ptr<cluster::Cluster> cluster_;  // cluster mode only; stopped before server_
    Shield shield_;
    Notifier notifier_;  // systemd readiness; does nothing without NOTIFY_SOCKET
    unsigned status_ticks_ = 0;
    unsigned demand_ticks_ = 0;
    std::unique_ptr<DemandFeed> demand_;  // null: demand recording off
    unsigned resign_ticks_ = 0;
    OriginCounterIds counter_ids_;
    std::unique_ptr<Loop> loop_;
    std::unique_ptr<api::HttpApi> api_;  // last: stopped before everything it reads
};

}  // namespace dnslb::server
