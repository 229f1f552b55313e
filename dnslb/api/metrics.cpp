// GET /metrics: Prometheus text exposition format 0.0.4. Counters end in _total, durations are
// in seconds (https://prometheus.io/docs/practices/naming/); `promtool check metrics` is the
// referee and the end-to-end tests run it.
#include <algorithm>
#include <array>
#include <cstdio>
#include <iterator>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "dnslb/api/http_api.hpp"
#include "dnslb/base/prom_label.hpp"
#include "dnslb/steering/geomap.hpp"

namespace dnslb::api {

namespace {

std::string escape(const std::string& v) { return base::prom_label(v); }

std::string seconds(double s) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.6f", s);
    return buf;
}

class Writer {
public:
    void family(const char* name, const char* type, const char* help) {
        out_ += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    }
    void sample(const std::string& name, const std::string& labels, const std::string& value) {
        out_ += name;
        if (!labels.empty()) {
            out_ += "{" + labels + "}";
        }
        out_ += " " + value + "\n";
    }
    void sample(const std::string& name, const std::string& labels, uint64_t value) {
        sample(name, labels, std::to_string(value));
    }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

std::string label(const char* key, const std::string& value) {
    return std::string(key) + "=\"" + escape(value) + "\"";
}

std::string rcode_name(size_t r) {
    static constexpr const char* kNames[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                             "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                             "NXRRSET", "NOTAUTH", "NOTZONE"};
    if (r < std::size(kNames)) {
        return kNames[r];
    }
    if (r == 16) {
        return "BADVERS";
    }
    if (r == 23) {
        return "BADCOOKIE";
    }
    return "RCODE" + std::to_string(r);
}

// One counter summed over the workers' copies (their Stats or ThreadGuard): `get` picks it.
template <typename Part, typename Get>
uint64_t total(const std::vector<const Part*>& parts, Get get) {
    uint64_t n = 0;
    for (const Part* p : parts) {
        n += get(*p).load(std::memory_order_relaxed);
    }
    return n;
}

void query_metrics(Writer& w, const Instance& srv) {
    std::vector<const server::Stats*> stats = srv.stats();
    auto sum = [&](auto get) { return total(stats, get); };
    w.family("dnslb_queries_total", "counter", "DNS queries received, by transport.");
    for (size_t t = 0; t < 2; ++t) {
        w.sample("dnslb_queries_total", label("transport", t == 0 ? "udp" : "tcp"),
                 sum([t](const server::Stats& s) -> const auto& { return s.queries[t]; }));
    }
    w.family("dnslb_queries_by_type_total", "counter",
             "DNS queries that parsed, by question type.");
    constexpr const char* kTypes[] = {"A", "AAAA", "MX", "TXT", "other"};
    for (size_t i = 0; i < 5; ++i) {
        w.sample("dnslb_queries_by_type_total", label("qtype", kTypes[i]),
                 sum([i](const server::Stats& s) -> const auto& { return s.qtypes[i]; }));
    }
    w.family("dnslb_responses_total", "counter", "DNS responses sent, by response code.");
    constexpr size_t kRcodes = std::size(server::Stats{}.rcodes);
    for (size_t r = 0; r < kRcodes; ++r) {
        uint64_t n = sum([r](const server::Stats& s) -> const auto& { return s.rcodes[r]; });
        if (r <= 5 || n != 0) {
            w.sample("dnslb_responses_total", label("rcode", rcode_name(r)), n);
        }
    }
    struct Plain {
        const char* name;
        const char* help;
        const std::atomic<uint64_t>& (*get)(const server::Stats&);
    };
    const Plain plain[] = {
        {"dnslb_queries_ecs_total", "Queries carrying an EDNS Client Subnet option (RFC 7871).",
         [](const server::Stats& s) -> const std::atomic<uint64_t>& { return s.ecs; }},
        {"dnslb_truncated_total", "UDP responses sent truncated (TC=1).",
         [](const server::Stats& s) -> const std::atomic<uint64_t>& { return s.truncated; }},
        {"dnslb_dropped_total", "Packets that got no response.",
         [](const server::Stats& s) -> const std::atomic<uint64_t>& { return s.dropped; }},
        {"dnslb_referrals_total", "Referrals to a delegated child zone.",
         [](const server::Stats& s) -> const std::atomic<uint64_t>& { return s.referrals; }},
        {"dnslb_pool_answers_total", "A and AAAA queries answered by steering a pool.",
         [](const server::Stats& s) -> const std::atomic<uint64_t>& { return s.pool_answers; }},
    };
    for (const auto& p : plain) {
        w.family(p.name, "counter", p.help);
        w.sample(p.name, "", sum(p.get));
    }
    w.family("dnslb_workers", "gauge", "DNS worker threads.");
    w.sample("dnslb_workers", "", srv.worker_count());

    // TCP (RFC 7766): connections, and why the server closed or refused them.
    w.family("dnslb_tcp_connections_accepted_total", "counter", "TCP connections accepted.");
    w.sample("dnslb_tcp_connections_accepted_total", "",
             sum([](const server::Stats& s) -> const auto& { return s.tcp_accepted; }));
    w.family("dnslb_tcp_connections_open", "gauge", "TCP connections open now.");
    w.sample("dnslb_tcp_connections_open", "",
             sum([](const server::Stats& s) -> const auto& { return s.tcp_open; }));
    w.family("dnslb_tcp_connections_closed_total", "counter",
             "TCP connections closed by the server, by reason: idle timeout, a query not "
             "received within query_timeout_ms, the max_queries cap, or evicted at the "
             "connection cap to admit a new one.");
    const std::pair<const char*, const std::atomic<uint64_t>& (*)(const server::Stats&)> closed[] =
        {{"idle", [](const server::Stats& s) -> const auto& {return s.tcp_closed_idle;
}
}  // namespace
, {"slow", [](const server::Stats& s) -> const auto& {return s.tcp_closed_slow;
}  // namespace dnslb::api
}
, {"query_cap", [](const server::Stats& s) -> const auto& {return s.tcp_closed_query_cap;
}
}
, {"evicted", [](const server::Stats& s) -> const auto& {return s.tcp_closed_evicted;
}
}
,
}
;
for (const auto& [reason, get] : closed) {
    w.sample("dnslb_tcp_connections_closed_total", label("reason", reason), sum(get));
}
w.family("dnslb_tcp_connections_refused_total", "counter",
         "TCP connections refused because their source had max_per_source open.");
w.sample("dnslb_tcp_connections_refused_total", label("reason", "per_source"),
         sum([](const server::Stats& s) -> const auto& { return s.tcp_refused_per_source; }));
}

void defence_metrics(Writer& w, const Instance& srv) {
    std::vector<const server::ThreadGuard*> guards = srv.guards();
    auto sum = [&](auto get) { return total(guards, get); };
    w.family("dnslb_rrl_limited_total", "counter",
             "UDP responses over the rate limit (then slipped or dropped), by response class.");
    constexpr const char* kClasses[] = {"positive", "nxdomain", "error", "referral"};
    for (size_t c = 0; c < std::size(kClasses); ++c) {
        w.sample("dnslb_rrl_limited_total", label("class", kClasses[c]),
                 sum([c](const server::ThreadGuard& g) -> const auto& {
                     return g.rrl_counters.limited[c];
                 }));
    }
    w.family("dnslb_rrl_slipped_total", "counter",
             "Rate-limited responses sent truncated (TC=1) so a real resolver retries over TCP.");
    w.sample("dnslb_rrl_slipped_total", "", sum([](const server::ThreadGuard& g) -> const auto& {
                 return g.rrl_counters.slipped;
             }));
    w.family("dnslb_rrl_dropped_total", "counter", "Rate-limited responses not sent at all.");
    w.sample("dnslb_rrl_dropped_total", "", sum([](const server::ThreadGuard& g) -> const auto& {
                 return g.rrl_counters.dropped;
             }));
    w.family("dnslb_rrl_cookie_exempt_total", "counter",
             "UDP responses not rate-limited because the client had a valid server cookie.");
    w.sample("dnslb_rrl_cookie_exempt_total", "",
             sum([](const server::ThreadGuard& g) -> const auto& {
                 return g.rrl_counters.exempt_cookie;
             }));
    w.family("dnslb_cookies_total", "counter",
             "Queries with a DNS COOKIE option (RFC 7873), by what it held: a client cookie "
             "only, a valid server cookie, an invalid one; badcookie counts BADCOOKIE answers.");
    const std::pair<const char*, const std::atomic<uint64_t>& (*)(const server::ThreadGuard&)>
        cookies[] = {
            {"client_only",
             [](const server::ThreadGuard& g) -> const auto& {return g.cookie_counters.client_only;
}
}
, {"valid", [](const server::ThreadGuard& g) -> const auto& {return g.cookie_counters.valid;
}
}
, {"invalid", [](const server::ThreadGuard& g) -> const auto& {return g.cookie_counters.invalid;
}
}
, {"badcookie", [](const server::ThreadGuard& g) -> const auto& {return g.cookie_counters.badcookie;
}
}
,
}
;
for (const auto& [result, get] : cookies) {
    w.sample("dnslb_cookies_total", label("result", result), sum(get));
}
const server::AttackState& a = srv.attack();
w.family("dnslb_under_attack", "gauge",
         "1 while the under-attack mode is on, by who switched it: the API (manual) or the "
         "query-rate trigger (automatic).");
w.sample("dnslb_under_attack", label("trigger", "manual"),
         a.manual.load(std::memory_order_relaxed) ? 1 : 0);
w.sample("dnslb_under_attack", label("trigger", "automatic"),
         a.automatic.load(std::memory_order_relaxed) ? 1 : 0);
}

void cluster_metrics(Writer& w, const Instance& srv) {
    ClusterView c = srv.cluster_view();
    if (!c.enabled) {
        return;
    }
    auto gauge = [&w](const char* name, const char* help, uint64_t v) {
        w.family(name, "gauge", help);
        w.sample(name, "", v);
    };
    gauge("dnslb_cluster_members", "Live members of the cluster (nodes whose lease holds).",
          c.members);
    gauge("dnslb_cluster_etcd_reachable", "1 while the lease is kept alive and the watch runs.",
          c.reachable ? 1 : 0);
    gauge("dnslb_cluster_fallback",
          "1 while etcd has been unreachable for longer than the grace period and this node "
          "answers from its own probes.",
          c.fallback ? 1 : 0);
    gauge("dnslb_cluster_checks", "Checks of this node's zones.", c.checks);
    gauge("dnslb_cluster_checks_here", "Checks this node runs.", c.checks_here);
    gauge("dnslb_cluster_disagreements",
          "Checks where this node's own verdict differs from the cluster's.", c.disagreements);
    gauge("dnslb_cluster_drift",
          "Live members whose checks or zone serials differ from this node's.", c.drift);
    gauge("dnslb_cluster_revision", "etcd revision this node has applied.",
          static_cast<uint64_t>(std::max<int64_t>(0, c.revision)));
    w.family("dnslb_cluster_ignored_total", "counter",
             "Values under the cluster prefix that were logged and ignored.");
    w.sample("dnslb_cluster_ignored_total", "", c.ignored);
}

// A histogram of microsecond observations in the probes' buckets (per bucket, not cumulative).
void histogram(Writer& w, const std::string& name, const char* help,
               const std::array<uint64_t, probes::ProbeStats::kBuckets>& buckets, uint64_t sum_us) {
    w.family(name.c_str(), "histogram", help);
    uint64_t cumulative = 0;
    for (size_t b = 0; b < probes::ProbeStats::kBuckets; ++b) {
        cumulative += buckets[b];
        std::string le = b < probes::ProbeStats::kBucketUpperUs.size()
                             ? seconds(probes::ProbeStats::kBucketUpperUs[b] / 1e6)
                             : std::string("+Inf");
        w.sample(name + "_bucket", label("le", le), cumulative);
    }
    w.sample(name + "_sum", "", seconds(static_cast<double>(sum_us) / 1e6));
    w.sample(name + "_count", "", cumulative);
}

void probe_metrics(Writer& w, const probes::ProberPool& prober) {
    probes::ProbeStats ps = prober.stats();
    histogram(w, "dnslb_probe_duration_seconds", "Duration of finished health checks.",
              ps.latency_buckets, ps.latency_sum_us);
    histogram(w, "dnslb_probe_lateness_seconds",
              "How late periodic health checks started after their scheduled time.",
              ps.lateness_buckets, ps.lateness_sum_us);
    w.family("dnslb_probe_checks_total", "counter", "Health checks finished.");
    w.sample("dnslb_probe_checks_total", "", ps.checks);
    w.family("dnslb_probe_failures_total", "counter", "Health checks that failed.");
    w.sample("dnslb_probe_failures_total", "", ps.failures);
    w.family("dnslb_probe_transitions_total", "counter",
             "Health state changes seen by the probes.");
    w.sample("dnslb_probe_transitions_total", "", ps.transitions);
    w.family("dnslb_probes_configured", "gauge", "Distinct health checks configured.");
    w.sample("dnslb_probes_configured", "", ps.configured);
}

void reload_metrics(Writer& w, const ControlState& st, uint64_t qlog_dropped) {
    w.family("dnslb_reloads_total", "counter", "Zone reloads, by what triggered them.");
    for (size_t t = 0; t < kReloadTriggers; ++t) {
        std::string name = trigger_name(static_cast<ReloadTrigger>(t));
        name = name == "SIGHUP" ? "signal" : name == "file change" ? "file" : "api";
        w.sample("dnslb_reloads_total", label("trigger", name), st.reloads[t]);
    }
    w.family("dnslb_reload_results_total", "counter",
             "Reload outcomes: ok, or error when a zone failed and kept its previous version.");
    w.sample("dnslb_reload_results_total", label("result", "ok"), st.reloads_ok);
    w.sample("dnslb_reload_results_total", label("result", "error"), st.reloads_failed);
    w.family("dnslb_reload_zone_errors_total", "counter", "Zone files that failed to reload.");
    w.sample("dnslb_reload_zone_errors_total", "", st.zone_errors);
    w.family("dnslb_last_reload_success", "gauge", "1 when the last reload had no zone error.");
    w.sample("dnslb_last_reload_success", "", st.last_reload_ok ? 1 : 0);
    w.family("dnslb_last_reload_timestamp_seconds", "gauge", "Unix time of the last reload.");
    w.sample("dnslb_last_reload_timestamp_seconds", "", seconds(st.last_reload_ms / 1e3));
    w.family("dnslb_query_log_dropped_total", "counter",
             "Sampled query log records dropped because a ring was full.");
    w.sample("dnslb_query_log_dropped_total", "", qlog_dropped);
}

// Pools as steering sees them: an origin is up while one of its addresses is answered (up,
// unknown or unmonitored). A pool with fewer than min_healthy origins up hands its answers to
// its fallback; when no pool of the chain has enough, the pool's all_down policy answers.
void pool_metrics(Writer& w, const server::Snapshot& snap, const probes::HealthTable& health) {
    struct Row {
        std::string labels;
        size_t origins = 0;
        size_t up = 0;
        uint32_t min_healthy = 1;
        bool all_down = false;
        const steering::PoolGeoMap* map = nullptr;
    };
    std::vector<Row> rows;
    for (size_t zi = 0; zi < snap.zones.size(); ++zi) {
        const auto& z = snap.zones[zi];
        const steering::ZoneGeoMap* maps =
            zi < snap.geo_maps.size() ? snap.geo_maps[zi].get() : nullptr;
        std::vector<size_t> up(z->pools.size(), 0);
        for (size_t i = 0; i < z->pools.size(); ++i) {
            for (const auto& o : z->pools[i].origins) {
                bool any = std::any_of(o.addresses.begin(), o.addresses.end(), [&](const auto& a) {
                    return a.health < 0 || health.snapshot(a.health).state != probes::State::kDown;
                });
                up[i] += any ? 1 : 0;
            }
        }
        const auto pools = static_cast<int32_t>(z->pools.size());
        for (int32_t i = 0; i < pools; ++i) {
            const zone::Pool& p = z->pools[static_cast<size_t>(i)];
            bool serving = false;  // the fallback chain as steering follows it, cycles cut
            int32_t current = i;
            for (int32_t step = 0; step < pools && current >= 0 && current < pools && !serving;
                 ++step) {
                const zone::Pool& c = z->pools[static_cast<size_t>(current)];
                const size_t n = up[static_cast<size_t>(current)];
                serving = n > 0 && n >= c.min_healthy;
                current = c.fallback;
            }
            rows.push_back({label("zone", z->origin_text) + "," + label("pool", p.name),
                            p.origins.size(), up[static_cast<size_t>(i)], p.min_healthy, !serving,
                            maps != nullptr ? maps->pool(i) : nullptr});
        }
    }
    w.family("dnslb_pool_origins", "gauge", "Origins of each pool.");
    for (const auto& r : rows) {
        w.sample("dnslb_pool_origins", r.labels, r.origins);
    }
    w.family("dnslb_pool_origins_up", "gauge",
             "Origins of each pool with at least one address answered.");
    for (const auto& r : rows) {
        w.sample("dnslb_pool_origins_up", r.labels, r.up);
    }
    w.family("dnslb_pool_min_healthy", "gauge",
             "Origins a pool needs up to answer itself (min_healthy), else its fallback does.");
    for (const auto& r : rows) {
        w.sample("dnslb_pool_min_healthy", r.labels, r.min_healthy);
    }
    w.family("dnslb_pool_all_down", "gauge",
             "1 when neither the pool nor any pool of its fallback chain has min_healthy origins "
             "up, so its all_down policy answers.");
    for (const auto& r : rows) {
        w.sample("dnslb_pool_all_down", r.labels, r.all_down ? 1 : 0);
    }
    w.family("dnslb_geo_map_bytes", "gauge",
             "Memory of a pool's precomputed geo map (pools whose answer depends on the "
             "asker's location).");
    for (const auto& r : rows) {
        if (r.map != nullptr) {
            w.sample("dnslb_geo_map_bytes", r.labels, r.map->bytes());
        }
    }
    w.family("dnslb_geo_map_ranges", "gauge",
             "Ranges of a pool's precomputed geo map after merging, by address family.");
    for (const auto& r : rows) {
        if (r.map != nullptr) {
            for (int f : {4, 6}) {
                w.sample("dnslb_geo_map_ranges",
                         r.labels + "," + label("family", f == 4 ? "ipv4" : "ipv6"),
                         r.map->ranges(f));
            }
        }
    }
}

void zone_metrics(Writer& w, const server::Snapshot& snap, const probes::HealthTable& health,
                  const Instance& srv) {
    w.family("dnslb_snapshot_generation", "gauge", "Generation of the serving snapshot.");
    w.sample("dnslb_snapshot_generation", "", snap.generation);
    w.family("dnslb_zone_serial", "gauge", "SOA serial of each served zone.");
    for (const auto& z : snap.zones) {
        w.sample("dnslb_zone_serial", label("zone", z->origin_text), z->serial);
    }
    w.family("dnslb_zone_records", "gauge", "Records of each served zone.");
    for (const auto& z : snap.zones) {
        w.sample("dnslb_zone_records", label("zone", z->origin_text), z->record_count);
    }
    w.family("dnslb_dnssec_signature_expiry_seconds", "gauge",
             "Unix time when the earliest signature of each signed zone expires.");
    for (const auto& z : snap.zones) {
        if (z->is_signed) {
            w.sample("dnslb_dnssec_signature_expiry_seconds", label("zone", z->origin_text),
                     z->signing.expires);
        }
    }
    w.family("dnslb_dnssec_signatures", "gauge",
             "Signatures made by the control plane for each signed zone (every answer presigned).");
    for (const auto& z : snap.zones) {
        if (z->is_signed) {
            w.sample("dnslb_dnssec_signatures", label("zone", z->origin_text),
                     z->signing.signatures);
        }
    }
    w.family("dnslb_dnssec_signature_bytes", "gauge",
             "Bytes of stored RRSIG wire of each signed zone.");
    for (const auto& z : snap.zones) {
        if (z->is_signed) {
            w.sample("dnslb_dnssec_signature_bytes", label("zone", z->origin_text),
                     z->signing.signature_bytes);
        }
    }
    w.family("dnslb_dnssec_signing_seconds", "gauge",
             "How long signing each signed zone took at its last load.");
    for (const auto& z : snap.zones) {
        if (z->is_signed) {
            w.sample("dnslb_dnssec_signing_seconds", label("zone", z->origin_text),
                     std::to_string(z->signing.signing_ms / 1000.0));
        }
    }
    w.family("dnslb_dnssec_keys", "gauge", "DNSSEC keys of each signed zone, by tag and state.");
    for (const auto& z : snap.zones) {
        for (const auto& k : z->signing.keys) {
            // "tag alg flags state"
            const size_t a = k.find(' ');
            const size_t b = k.find(' ', a + 1);
            const size_t c = k.find(' ', b + 1);
            w.sample("dnslb_dnssec_keys",
                     label("zone", z->origin_text) + "," + label("tag", k.substr(0, a)) + "," +
                         label("flags", k.substr(b + 1, c - b - 1)) + "," +
                         label("state", k.substr(c + 1)),
                     1);
        }
    }
    // Answers by origin: the slot of a zone/pool/origin survives reloads, so the counter does.
    std::vector<const server::Stats*> stats = srv.stats();
    w.family("dnslb_answers_total", "counter",
             "Answers that carried an address of the origin, by zone, pool and origin.");
    for (const auto& z : snap.zones) {
        for (const auto& p : z->pools) {
            for (const auto& o : p.origins) {
                if (o.counter < 0) {
                    continue;
                }
                auto slot = static_cast<size_t>(o.counter);
                uint64_t n = total(
                    stats, [slot](const server::Stats& s) -> const auto& {
                        return s.origin_answers[slot];
                    });
                w.sample("dnslb_answers_total",
                         label("zone", z->origin_text) + "," + label("pool", p.name) + "," +
                             label("origin", o.name),
                         n);
            }
        }
    }
    struct Row {
        std::string labels;
        probes::CellSnapshot cell;
        bool monitored;
    };
    std::vector<Row> rows;
    for (const auto& z : snap.zones) {
        for (const auto& p : z->pools) {
            for (const auto& o : p.origins) {
                for (const auto& a : o.addresses) {
                    Row r;
                    r.labels = label("zone", z->origin_text) + "," + label("pool", p.name) + "," +
                               label("origin", o.name) + "," + label("address", a.text);
                    r.monitored = a.health >= 0;
                    if (r.monitored) {
                        r.cell = health.snapshot(a.health);
                    } else {
                        r.cell.state = probes::State::kUp;
                    }
                    rows.push_back(std::move(r));
                }
            }
        }
    }
    w.family("dnslb_origin_up", "gauge",
             "1 when the origin address is answered (up, unknown or unmonitored), else 0.");
    for (const auto& r : rows) {
        w.sample("dnslb_origin_up", r.labels, r.cell.state != probes::State::kDown ? 1 : 0);
    }
    w.family("dnslb_origin_state", "gauge",
             "Effective health state of each origin address (one series per state).");
    for (const auto& r : rows) {
        for (auto s : {probes::State::kUnknown, probes::State::kUp, probes::State::kDown}) {
            w.sample("dnslb_origin_state", r.labels + "," + label("state", probes::state_name(s)),
                     r.cell.state == s ? 1 : 0);
        }
    }
    w.family("dnslb_origin_override", "gauge",
             "Operator override of an origin address: 0 auto, 1 forced up, 2 forced down.");
    for (const auto& r : rows) {
        w.sample("dnslb_origin_override", r.labels, static_cast<uint64_t>(r.cell.override_state));
    }
    w.family("dnslb_origin_transitions_total", "counter",
             "Health state changes of each monitored origin address.");
    for (const auto& r : rows) {
        if (r.monitored) {
            w.sample("dnslb_origin_transitions_total", r.labels, r.cell.transitions);
        }
    }
    w.family("dnslb_origin_checks_total", "counter",
             "Health checks run against each monitored origin address.");
    for (const auto& r : rows) {
        if (r.monitored) {
            w.sample("dnslb_origin_checks_total", r.labels, r.cell.checks);
        }
    }
    w.family("dnslb_origin_last_check_duration_seconds", "gauge",
             "Duration of the last health check of each monitored origin address.");
    for (const auto& r : rows) {
        if (r.monitored) {
            w.sample("dnslb_origin_last_check_duration_seconds", r.labels,
                     seconds(r.cell.last_latency_us / 1e6));
        }
    }
}

}  // namespace

std::string render_metrics(const Instance& control) {
    Writer w;
    w.family("dnslb_build_info", "gauge", "Version of the running server.");
    w.sample("dnslb_build_info", label("version", DNSLB_VERSION), 1);
    query_metrics(w, control);
    defence_metrics(w, control);
    probe_metrics(w, control.prober());
    cluster_metrics(w, control);
    std::lock_guard lock(control.state().mutex);
    reload_metrics(w, control.state(), control.query_log_dropped());
    if (const server::Snapshot* snap = control.snapshots().load(); snap != nullptr) {
        zone_metrics(w, *snap, control.health(), control);
        pool_metrics(w, *snap, control.health());
    }
    std::string out = w.take();
    if (const plan::DemandBook* demand = control.demand(); demand != nullptr) {
        out += demand->metrics();
    }
    return out;
}

}  // namespace dnslb::api
