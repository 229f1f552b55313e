#include "dnslb/server/control.hpp"

#include <uv.h>

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

std::unique_ptr<Snapshot> build_snapshot(const config::Config& cfg, const Snapshot* previous,
                                         std::shared_ptr<const geo::Resolver> geo,
                                         std::vector<std::string>& errors) {
    auto snap = std::make_unique<Snapshot>();
    zone::DirResult loaded = zone::load_zone_dir(cfg.zones_dir);
    errors.insert(errors.end(), loaded.errors.begin(), loaded.errors.end());
    for (auto& z : loaded.zones) {
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
    snap->geo = std::move(geo);
    snap->options = make_options(cfg);
    snap->index();
    return snap;
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
    auto next = build_snapshot(cfg_, snapshots_.load(), geo_, errors);
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
    std::vector<std::string> errors;
    auto first = build_snapshot(cfg_, nullptr, geo_, errors);
    for (const auto& e : errors) {
        log::error(e + " (zone not loaded)");
    }
    size_t zone_count = first->zones.size();
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
    uv_walk(&l.loop, [](uv_handle_t* h, void*) { uv_close(h, nullptr); }, nullptr);
    uv_run(&l.loop, UV_RUN_DEFAULT);
    uv_loop_close(&l.loop);
    log::info("stopped");
    return 0;
}

}  // namespace dnslb::server
