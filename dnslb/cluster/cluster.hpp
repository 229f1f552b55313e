// Cluster mode: the dnslb servers of one NS set share health verdicts, probe work and operator
// actions through etcd (see docs/operators.md, "Running a cluster").
//
// Thread contract: the cluster runs two threads of its own, never a DNS worker. The watch
// thread lists the prefix and follows it with one watch stream, keeping a copy of every key.
// The cluster thread (10 ticks a second) keeps the lease alive, publishes this node's member
// record and its own verdicts, chooses which checks this node runs (HealthTable::
// set_probing), computes the cluster's verdict of every check (HealthTable::set_cluster),
// applies overrides and the under-attack switch, and falls back to the local probes when etcd
// stays unreachable. It is the only writer of those health-table fields. set_inventory() is
// called by the control thread; put_*() by the API thread; numbers() and status() by anyone.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "dnslb/cluster/etcd.hpp"
#include "dnslb/cluster/verdict.hpp"
#include "dnslb/config/config.hpp"
#include "probes/health_table.hpp"

namespace dnslb::cluster {

// What this node serves, as the control thread sees it after a load.
struct Inventory {
    struct Check {
        int32_t cell = -1;
        std::string key;  // the health table's identity of the check (monitor + address)
    };
    struct Origin {
        std::string zone;
        std::string pool;
        std::string origin;
        std::vector<int32_t> cells;
    };
    std::vector<Check> checks;
    std::vector<Origin> origins;
    std::map<std::string, uint32_t> zones;  // zone -> serial
};

struct Numbers {
    size_t members = 0;
    bool reachable = false;
    bool fallback = false;
    size_t checks = 0;
    size_t checks_here = 0;
    size_t disagreements = 0;
    size_t drift = 0;  // live members whose checks or zone serials differ from this node's
    int64_t revision = 0;
    uint64_t ignored = 0;  // values under the prefix that were logged and ignored
};

class Cluster {
public:
    using AttackFn = std::function<void(bool on)>;

    Cluster(const config::Config& cfg, probes::HealthTable& table, AttackFn attack);
    ~Cluster();
    Cluster(const Cluster&) = delete;
    Cluster& operator=(const Cluster&) = delete;

    void start();
    // Joins both threads and revokes the lease, so that the other nodes take over at once.
    void stop();
    void set_inventory(Inventory inv);

    Numbers numbers() const;
    nlohmann::ordered_json status() const;

    // The operator's actions, written to etcd with who and when; each returns once this node
    // has applied the write (at most 2 s), with an HTTP status and a message.
    int put_override(const std::string& zone, const std::string& pool, const std::string& origin,
                     const std::string& state, const std::string& who, std::string& message);
    int put_attack(bool on, const std::string& who, std::string& message);

private:
    struct Check {
        int32_t cell = -1;
        std::string id;  // hash of the key: the etcd key part
        std::string key;
    };
    struct VoteRec {
        std::string node;
        bool up = true;
        int64_t time_ms = 0;
        std::string reason;
        int64_t rtt_us = 0;
    };
    struct MemberRec {
        std::string region;
        std::string digest;
        std::map<std::string, uint32_t> zones;
    };
    struct OverrideRec {
        std::string zone;  // "*" = every zone
        std::string pool;
        std::string origin;
        probes::Override state = probes::Override::kAuto;
    };

    void run();
    void watch_loop();
    void tick();
    void keep_lease(int64_t now);
    void take_view();
    void parse_view(const std::map<std::string, std::string>& kv);
    void assign(bool probe_all);
    void publish_verdicts();
    void compute_verdicts();
    void apply_overrides();
    void build_status(int64_t now);
    void ignore(const std::string& key, const std::string& value, const std::string& why);
    bool reachable() const;
    std::string member_value() const;
    bool wait_applied(int64_t revision);

    // Immutable after construction.
    config::ClusterConfig cfg_;
    Rule rule_;
    probes::HealthTable& table_;
    AttackFn attack_;
    EtcdClient etcd_;
    std::string root_;  // prefix + "/"

    std::atomic<bool> stop_{false};
    std::atomic<bool> watch_abort_{false};
    std::thread thread_;
    std::thread watch_thread_;
    std::mutex wake_mutex_;
    std::condition_variable wake_;

    // Shared with the control thread.
    std::mutex inv_mutex_;
    std::optional<Inventory> pending_inventory_;

    // Shared between the watch thread and the cluster thread.
    mutable std::mutex view_mutex_;
    std::map<std::string, std::string> view_;
    int64_t view_revision_ = 0;
    uint64_t view_version_ = 0;
    bool watch_connected_ = false;
    std::string watch_error_;

    // Applied state for the API thread's wait.
    std::mutex applied_mutex_;
    std::condition_variable applied_cv_;
    int64_t applied_revision_ = 0;

    // Cluster thread only.
    Inventory inventory_;
    std::vector<Check> checks_;
    std::string digest_;
    int64_t lease_ = 0;
    int64_t last_keepalive_ms_ = 0;
    int64_t next_lease_try_ms_ = 0;
    bool lease_ok_ = false;
    bool member_dirty_ = true;
    uint64_t seen_version_ = 0;
    int64_t seen_revision_ = 0;
    int64_t unreachable_since_ms_ = 0;
    bool probe_all_ = false;
    bool fallback_ = false;
    std::map<std::string, MemberRec> members_;
    std::map<std::string, std::vector<VoteRec>> votes_;  // by check id
    std::vector<OverrideRec> overrides_;
    std::optional<bool> attack_on_;
    std::optional<bool> attack_applied_;
    std::map<int32_t, bool> mine_;                    // cell -> this node runs it
    std::map<int32_t, uint64_t> assigned_checks_;     // cell -> result count at assignment
    std::map<int32_t, probes::State> published_;      // cell -> own verdict in etcd
    std::map<int32_t, probes::State> cluster_state_;  // cell -> cluster verdict applied
    std::set<int32_t> overridden_;
    std::set<std::string> logged_;
    size_t disagreements_ = 0;
    uint64_t ignored_ = 0;

    mutable std::mutex status_mutex_;
    Numbers numbers_;
    nlohmann::ordered_json status_;
};

}  // namespace dnslb::cluster
