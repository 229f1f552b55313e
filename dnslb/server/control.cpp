#include "dnslb/server/control.hpp"

#include <sys/socket.h>
#include <uv.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "dnslb/log.hpp"
#include "dnslb/zone/loader.hpp"

namespace dnslb::server {

std::shared_ptr<const geo::Resolver> make_resolver(const config::Config& cfg) {
    auto r = std::make_shared<geo::Resolver>();
    for (const auto& path : cfg.geoip) {
        r->open_database(path);
    }
    for (const auto& net : cfg.nets) {
        r->add_net(net.cidr, net.where);
    }
    return r;
}

Options make_options(const config::Config& cfg) {
    Options o;
    o.chaos_version = cfg.chaos_version;
    o.chaos_id = cfg.chaos_id;
    for (const auto& cidr : cfg.explain_from) {
        Network n;
        config::parse_cidr(cidr, n.family, n.bytes, n.prefix);
        o.explain_from.push_back(n);
    }
    return o;
}

namespace {

std::string origin_label(const zone::Zone& z, const zone::Pool& p, const zone::Origin& o) {
    return "zone " + z.origin_text + " pool " + p.name + " origin " + o.name;
}

// Registers every monitored address of `zones` with the prober; writes the health cell ids into
// the zones that are still being built (`mutable_zones`; kept zones already hold theirs).
void attach_health(const std::vector<std::shared_ptr<const zone::Zone>>& all,
                   const std::vector<zone::Zone*>& mutable_zones, probes::ProberPool& prober) {
    std::vector<probes::CheckRequest> requests;
    std::vector<zone::Address*> targets;
    for (const auto& zp : all) {
        zone::Zone* writable = nullptr;
        for (zone::Zone* m : mutable_zones) {
            writable = m == zp.get() ? m : writable;
        }
        std::vector<probes::MonitorSpec> specs;
        for (const auto& m : zp->monitors) {
            specs.push_back(probes::MonitorSpec::from_json(nlohmann::json::parse(m.json)));
        }
        for (size_t pi = 0; pi < zp->pools.size(); ++pi) {
            const zone::Pool& pool = zp->pools[pi];
            for (size_t oi = 0; oi < pool.origins.size(); ++oi) {
                const zone::Origin& o = pool.origins[oi];
                int32_t mon = o.monitor >= 0 ? o.monitor : pool.monitor;
                if (mon < 0) {
                    continue;
                }
                for (size_t ai = 0; ai < o.addresses.size(); ++ai) {
                    const zone::Address& a = o.addresses[ai];
                    probes::CheckRequest req;
                    req.spec = specs[static_cast<size_t>(mon)];
                    req.family = a.family == 4 ? AF_INET : AF_INET6;
                    std::copy(a.bytes.begin(), a.bytes.end(), req.addr.begin());
                    req.addr_text = a.text;
                    req.label = origin_label(*zp, pool, o);
                    requests.push_back(std::move(req));
                    targets.push_back(writable != nullptr
                                          ? &writable->pools[pi].origins[oi].addresses[ai]
                                          : nullptr);
                }
            }
        }
    }
    std::vector<int32_t> cells = prober.set_checks(requests);
    for (size_t i = 0; i < targets.size(); ++i) {
        if (targets[i] != nullptr) {
            targets[i]->health = cells[i];
        }
    }
}

}  // namespace

std::unique_ptr<Snapshot> build_snapshot(const config::Config& cfg, const Snapshot* previous,
                                         std::shared_ptr<const geo::Resolver> geo,
                                         std::vector<std::string>& errors,
                                         probes::ProberPool* prober,
                                         const probes::HealthTable* health) {
    auto snap = std::make_unique<Snapshot>();
    zone::DirResult loaded = zone::load_zone_dir(cfg.zones_dir);
    errors.insert(errors.end(), loaded.errors.begin(), loaded.errors.end());
    std::vector<zone::Zone*> fresh;
    for (auto& z : loaded.zones) {
        fresh.push_back(z.get());
        snap->zones.emplace_back(std::move(z));
    }
    // A file that failed keeps serving what it served before: the old zone is shared, not
    // copied, with the new snapshot.
    if (previous != nullptr) {
        for (const auto& file : loaded.failed_files) {
            for (const auto& old : previous->zones) {
                if (old->file == file) {
                    bool clash = false;
                    for (const auto& z : snap->zones) {
                        clash = clash || z->origin == old->origin;
                    }
                    if (!clash) {
                        snap->zones.push_back(old);
                    }
                }
            }
        }
    }
    if (prober != nullptr) {
        attach_health(snap->zones, fresh, *prober);
    }
    snap->health = health;
    snap->geo = std::move(geo);
    snap->options = make_options(cfg);
    snap->index();
    return snap;
}

uint32_t longest_timeout_ms(const Snapshot& snap) {
    uint32_t longest = 0;
    for (const auto& z : snap.zones) {
        for (const auto& m : z->monitors) {
            auto spec = probes::MonitorSpec::from_json(nlohmann::json::parse(m.json));
            longest = std::max(longest, spec.timeout_ms);
        }
    }
    return longest;
}

struct Control::Loop {
    uv_loop_t loop{};
    uv_signal_t sigint{};
    uv_signal_t sigterm{};
    uv_signal_t sighup{};
    uv_timer_t reclaim{};
    Control* owner = nullptr;
};

Control::Control(config::Config cfg) : cfg_(std::move(cfg)) {}
Control::~Control() = default;

void Control::reload(const char* why) {
    log::info(std::string("reloading zones (") + why + ")");
    std::vector<std::string> errors;
    auto next = build_snapshot(cfg_, snapshots_.load(), geo_, errors, prober_.get(),
                               health_.get());
    for (const auto& e : errors) {
        log::error(e + " (previous version, if any, keeps serving)");
    }
    size_t zones = next->zones.size();
    snapshots_.publish(std::move(next));
    server_->wake();
    log::info("reload done: " + std::to_string(zones) + " zones served, " +
              std::to_string(errors.size()) + " errors");
}

int Control::run() {
    try {
        geo_ = make_resolver(cfg_);
    } catch (const std::exception& e) {
        log::error(e.what());
        return 1;
    }
    if (!geo_->has_database()) {
        log::warn("no geo database configured (--geoip): pools answer in their default order "
                  "unless nets place the asker");
    }
    health_ = std::make_unique<probes::HealthTable>();
    prober_ = std::make_unique<probes::ProberPool>(*health_, cfg_.probers,
                                                   [](const std::string& m) { log::info(m); });
    std::vector<std::string> errors;
    auto first = build_snapshot(cfg_, nullptr, geo_, errors, prober_.get(), health_.get());
    for (const auto& e : errors) {
        log::error(e + " (zone not loaded)");
    }
    size_t zone_count = first->zones.size();
    // One round of every check before the listeners open, so the first answers already skip
    // dead origins; checks that do not finish in time keep their configured initial state.
    if (prober_->check_count() > 0) {
        uint32_t bound = longest_timeout_ms(*first) + 200;
        auto t0 = std::chrono::steady_clock::now();
        prober_->run_initial_round(std::chrono::milliseconds(bound));
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - t0)
                      .count();
        log::info("health: start-up round of " + std::to_string(prober_->check_count()) +
                  " checks done in " + std::to_string(ms) + " ms");
    }
    prober_->start();
    snapshots_.publish(std::move(first));

    unsigned workers = cfg_.workers != 0 ? cfg_.workers : std::thread::hardware_concurrency();
    workers = workers == 0 ? 1 : workers;
    server_ = std::make_unique<Server>(snapshots_, cfg_.listen, workers,
                                       TcpLimits{cfg_.tcp_idle_timeout_ms,
                                                 cfg_.tcp_max_connections});
    try {
        server_->open();
    } catch (const std::exception& e) {
        log::error(e.what());
        return 1;
    }
    // Signal handlers first: a SIGTERM that arrives as soon as we answer must stop us cleanly.
    loop_ = std::make_unique<Loop>();
    Loop& l = *loop_;
    l.owner = this;
    uv_loop_init(&l.loop);
    auto on_stop = [](uv_signal_t* s, int signum) {
        auto* lp = static_cast<Loop*>(s->data);
        log::info(std::string("received ") + (signum == SIGINT ? "SIGINT" : "SIGTERM") +
                  ", shutting down");
        uv_stop(&lp->loop);
    };
    for (auto [sig, num] : {std::pair{&l.sigint, SIGINT}, std::pair{&l.sigterm, SIGTERM}}) {
        uv_signal_init(&l.loop, sig);
        sig->data = &l;
        uv_signal_start(sig, on_stop, num);
    }
    uv_signal_init(&l.loop, &l.sighup);
    l.sighup.data = &l;
    uv_signal_start(
        &l.sighup, [](uv_signal_t* s, int) { static_cast<Loop*>(s->data)->owner->reload("SIGHUP"); },
        SIGHUP);
    uv_timer_init(&l.loop, &l.reclaim);
    l.reclaim.data = &l;
    uv_timer_start(
        &l.reclaim,
        [](uv_timer_t* t) {
            Control* c = static_cast<Loop*>(t->data)->owner;
            if (c->snapshots_.retired() > 0) {
                c->snapshots_.reclaim(c->server_->epochs());
                c->server_->wake();
            }
        },
        100, 100);
    server_->start();
    std::string where;
    for (const auto& addr : cfg_.listen) {
        where += (where.empty() ? "" : ", ") + addr.text();
    }
    log::info("serving " + std::to_string(zone_count) + " zones on " + where + " (udp, tcp), " +
              std::to_string(workers) + " workers");

    uv_run(&l.loop, UV_RUN_DEFAULT);

    server_->stop();
    prober_->stop();
    uv_walk(&l.loop, [](uv_handle_t* h, void*) { uv_close(h, nullptr); }, nullptr);
    uv_run(&l.loop, UV_RUN_DEFAULT);
    uv_loop_close(&l.loop);
    log::info("stopped");
    return 0;
}

}  // namespace dnslb::server
