#include "dnslb/control/control.hpp"

#include <malloc.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <ctime>
#include <set>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "dnslb/api/http_api.hpp"
#include "dnslb/base/log.hpp"
#include "dnslb/zone/loader.hpp"

namespace dnslb::server {

namespace {

constexpr unsigned kSigIntBit = 1U;
constexpr unsigned kSigTermBit = 2U;
constexpr unsigned kSigHupBit = 4U;
constexpr unsigned kSigStop = kSigIntBit | kSigTermBit;

// Written by the signal handler, read by the control loop.
std::atomic<unsigned> g_pending_signals{0};
std::atomic<uv_async_t*> g_signal_async{nullptr};
static_assert(std::atomic<unsigned>::is_always_lock_free);
static_assert(std::atomic<uv_async_t*>::is_always_lock_free);

extern "C" void on_signal(int signum) {
    int saved_errno = errno;
    unsigned bit = signum == SIGINT ? kSigIntBit : signum == SIGTERM ? kSigTermBit : kSigHupBit;
    g_pending_signals.fetch_or(bit);
    if (uv_async_t* a = g_signal_async.load(); a != nullptr) {
        uv_async_send(a);
    }
    errno = saved_errno;
}

void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
        sigaction(sig, &sa, nullptr);
    }
}

// From here on the process can no longer be stopped or reloaded by a signal; no default
// (fatal) action ever comes back.
void ignore_signals() {
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
        std::signal(sig, SIG_IGN);
    }
    g_signal_async.store(nullptr);
}

constexpr uint64_t kDebounceMs = 200;      // quiet time after the last zone file event
constexpr int64_t kDebounceMaxMs = 1000;   // reload anyway when changes keep coming
constexpr uint64_t kHousekeepingMs = 100;  // snapshot reclamation and query log drain
constexpr unsigned kDemandTicks = 10;      // demand tables drained once a second
constexpr unsigned kStatusTicks = 10;      // systemd STATUS= refreshed once a second
constexpr unsigned kResignTicks = 600;     // signature refresh checked once a minute

int64_t unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// Runs `work` on a thread of its own, ten nice levels below the server (at most nice 19), and
// waits for it. Reload work (building a snapshot, freeing an old one) then gets about a tenth
// of the CPU weight of a DNS worker that shares its core: answers keep their latency while a
// big zone reloads, and the reload still finishes under sustained load. (At nice 19 under a
// server at nice -20 the weight ratio is 1:5,900; a worker at half load on the same core,
// waking for every few datagrams, then left it almost nothing: a 1M-record reload took until
// the load stopped.) The control loop waits, as it would for work done on its own thread; its
// own priority never changes.
template <typename F>
void at_low_priority(F&& work) {
    std::thread t([&work] {
        errno = 0;
        int nice = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
        if (errno == 0) {
            setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), std::min(nice + 10, 19));
        }
        work();
    });
    t.join();
}

bool is_zone_file_name(const char* name) {
    if (name == nullptr) {
        return true;  // the platform did not say which file: assume it matters
    }
    std::string_view n(name);
    return n.size() > 5 && n.substr(n.size() - 5) == ".json" &&
           !(n.size() > 12 && n.substr(n.size() - 12) == ".schema.json");
}

}  // namespace

struct Control::Loop {
    uv_loop_t loop{};
    uv_async_t signal_async{};
    uv_timer_t housekeeping{};
    uv_fs_event_t watch{};
    uv_timer_t debounce{};
    uv_async_t reload_async{};
    bool watching = false;
    bool change_pending = false;
    int64_t first_change_ms = 0;
    Control* owner = nullptr;
};

Control::Control(config::Config cfg) : cfg_(std::move(cfg)) {}

Control::~Control() {
    if (api_ != nullptr) {
        api_->stop();
    }
}

std::future<ReloadResult> Control::request_reload() {
    std::promise<ReloadResult> p;
    std::future<ReloadResult> f = p.get_future();
    {
        std::lock_guard lock(reload_requests_mutex_);
        if (stopping_) {
            p.set_value(ReloadResult{});
            return f;
        }
        reload_requests_.push_back(std::move(p));
    }
    if (loop_ != nullptr) {
        uv_async_send(&loop_->reload_async);
    }
    return f;
}

void Control::record_load(const Snapshot& snap, const std::vector<std::string>& errors,
                          bool reloading) {
    const Snapshot* previous = reloading ? snapshots_.load() : nullptr;
    std::set<const zone::Zone*> kept;
    if (previous != nullptr) {
        for (const auto& z : previous->zones) {
            kept.insert(z.get());
        }
    }
    int64_t now = unix_ms();
    std::lock_guard lock(state_.mutex);
    std::map<std::string, ControlState::ZoneFile> files;
    for (const auto& z : snap.zones) {
        auto old = state_.files.find(z->file);
        ControlState::ZoneFile f;
        if (kept.count(z.get()) != 0 && old != state_.files.end()) {
            f = old->second;
        } else {
            f.loaded_ms = now;
        }
        f.origin = z->origin_text;
        f.serial = z->serial;
        f.error.clear();
        files[z->file] = f;
    }
    for (const auto& e : errors) {
        std::string file = e.substr(0, e.find(": "));
        files[file].error = e;
    }
    state_.files = std::move(files);
}

ReloadResult Control::reload(ReloadTrigger why) {
    const char* name = trigger_name(why);
    log::info(std::string("reloading zones (") + name + ")");
    notifier_.reloading();
    ReloadResult result;
    std::unique_ptr<Snapshot> next;
    at_low_priority([&] {
        try {
            next = build_snapshot(cfg_, snapshots_.load(), geo_, result.errors, prober_.get(),
                                  health_.get(), &counter_ids_);
        } catch (const std::exception& e) {
            // Nothing was published: every zone keeps serving as it did.
            result.errors.push_back(cfg_.zones_dir + ": " + e.what());
        }
    });
    for (const auto& e : result.errors) {
        log::error(e + " (previous version, if any, keeps serving)");
    }
    result.ok = result.errors.empty();
    if (next != nullptr) {
        result.zones = next->zones.size();
        record_load(*next, result.errors, true);
        if (demand_ != nullptr) {
            demand_->name(*next);
        }
        snapshots_.publish(std::move(next));
        result.generation = snapshots_.load()->generation;
        server_->wake();
        if (cluster_ != nullptr) {
            cluster_->set_inventory(inventory());
        }
    }
    {
        std::lock_guard lock(state_.mutex);
        state_.reloads[static_cast<size_t>(why)]++;
        (result.ok ? state_.reloads_ok : state_.reloads_failed)++;
        state_.zone_errors += result.errors.size();
        state_.last_reload_ms = unix_ms();
        state_.last_reload_ok = result.ok;
        state_.last_errors = result.errors;
    }
    log::info(std::string("reload (") + name + ") done: generation " +
              std::to_string(result.generation) + ", " + std::to_string(result.zones) +
              " zones served, " + std::to_string(result.errors.size()) + " errors");
    notifier_.ready(status_line(*snapshots_.load(), *health_) +
                    (result.ok
                         ? std::string()
                         : "; last reload: " + std::to_string(result.errors.size()) + " errors"));
    return result;
}

void Control::start_loop() {
    loop_ = std::make_unique<Loop>();
    Loop& l = *loop_;
    l.owner = this;
    uv_loop_init(&l.loop);
    // Signal handlers first: a SIGTERM that arrives as soon as we answer must stop us cleanly.
    // A plain sigaction handler records the signal and wakes the loop (uv_async_send is
    // async-signal-safe). libuv's own signal handles are not used: closing them puts back
    // the default, fatal action, which a second SIGTERM during shutdown would then meet.
    uv_async_init(&l.loop, &l.signal_async, [](uv_async_t* a) {
        auto* lp = static_cast<Loop*>(a->data);
        unsigned pending = g_pending_signals.exchange(0);
        if ((pending & kSigStop) != 0) {
            log::info(std::string("received ") +
                      ((pending & kSigIntBit) != 0 ? "SIGINT" : "SIGTERM") + ", shutting down");
            uv_stop(&lp->loop);
            return;
        }
        if ((pending & kSigHupBit) != 0) {
            lp->owner->reload(ReloadTrigger::kSignal);
        }
    });
    l.signal_async.data = &l;
    g_signal_async.store(&l.signal_async);
    install_signal_handlers();
    uv_async_init(&l.loop, &l.reload_async, [](uv_async_t* a) {
        Control* c = static_cast<Loop*>(a->data)->owner;
        std::vector<std::promise<ReloadResult>> waiting;
        {
            std::lock_guard lock(c->reload_requests_mutex_);
            waiting.swap(c->reload_requests_);
        }
        if (waiting.empty()) {
            return;
        }
        // Requests that arrived together share one reload: they all see a state at least as
        // new as the files were when they asked.
        ReloadResult r = c->reload(ReloadTrigger::kApi);
        for (auto& p : waiting) {
            p.set_value(r);
        }
    });
    l.reload_async.data = &l;
    uv_timer_init(&l.loop, &l.housekeeping);
    l.housekeeping.data = &l;
    uv_timer_start(
        &l.housekeeping,
        [](uv_timer_t* t) {
            Control* c = static_cast<Loop*>(t->data)->owner;
            c->shield_.tick(*c->server_, *c->health_, c->snapshots_.load(), uv_now(t->loop));
            if (c->snapshots_.retired() > 0) {
                std::vector<std::unique_ptr<const Snapshot>> unused;
                {
                    std::lock_guard lock(c->state_.mutex);
                    unused = c->snapshots_.reclaim(c->server_->epochs());
                }
                if (!unused.empty()) {
                    // Freeing a big snapshot takes a while: at low priority too. It can be
                    // hundreds of MiB: give them back to the system rather than keep them in
                    // the heap until the next reload reuses them.
                    at_low_priority([&unused] {
                        unused.clear();
                        malloc_trim(0);
                    });
                }
            }
            if (c->snapshots_.retired() > 0) {
                c->server_->wake();
            }
            if (c->query_log_ != nullptr) {
                c->query_log_->drain([](const std::string& line) { log::info(line); });
            }
            if (c->demand_ != nullptr && ++c->demand_ticks_ >= kDemandTicks) {
                c->demand_ticks_ = 0;
                c->demand_->collect(c->snapshots_.load()->geo.get(), unix_ms());
                c->server_->wake();  // TCP threads switch halves when woken
            }
            // Signed zones are signed again (reloaded) once their refresh time has come, well
            // before their signatures expire; checked once a minute.
            if (++c->resign_ticks_ >= kResignTicks) {
                c->resign_ticks_ = 0;
                const int64_t now = static_cast<int64_t>(::time(nullptr));
                bool due = false;
                for (const auto& z : c->snapshots_.load()->zones) {
                    due = due || (z->is_signed && z->signing.refresh_at <= now);
                }
                if (due) {
                    c->reload(ReloadTrigger::kFileChange);
                }
            }
            if (c->notifier_.enabled() && ++c->status_ticks_ >= kStatusTicks) {
                c->status_ticks_ = 0;  // origins going down or up show in systemctl status
                c->notifier_.status(status_line(*c->snapshots_.load(), *c->health_));
            }
        },
        kHousekeepingMs, kHousekeepingMs);
    // Zone directory watch (inotify): a burst of writes (an editor, a git pull) becomes one
    // reload once the directory has been quiet for kDebounceMs.
    uv_timer_init(&l.loop, &l.debounce);
    l.debounce.data = &l;
    uv_fs_event_init(&l.loop, &l.watch);
    l.watch.data = &l;
    int rc = uv_fs_event_start(
        &l.watch,
        [](uv_fs_event_t* h, const char* file, int, int status) {
            auto* lp = static_cast<Loop*>(h->data);
            if (status < 0 || !is_zone_file_name(file)) {
                return;
            }
            int64_t now = steady_ms();
            if (!lp->change_pending) {
                lp->change_pending = true;
                lp->first_change_ms = now;
            }
            if (now - lp->first_change_ms < kDebounceMaxMs ||
                uv_is_active(reinterpret_cast<uv_handle_t*>(&lp->debounce)) == 0) {
                uv_timer_start(
                    &lp->debounce,
                    [](uv_timer_t* t) {
                        auto* tl = static_cast<Loop*>(t->data);
                        tl->change_pending = false;
                        tl->owner->reload(ReloadTrigger::kFileChange);
                    },
                    kDebounceMs, 0);
            }
        },
        cfg_.zones_dir.c_str(), 0);
    if (rc != 0) {
        log::warn("not watching " + cfg_.zones_dir + " for changes (" + uv_strerror(rc) +
                  "); reload with SIGHUP");
    }
    l.watching = rc == 0;
}

bool Control::start_api() {
    if (cfg_.http.empty()) {
        return true;
    }
    api_ = std::make_unique<api::HttpApi>(*this);
    try {
        config::ListenAddress where = config::parse_http_listen(cfg_.http);
        api_->start(where);
        if (!config::is_loopback(where) && cfg_.api_token.empty()) {
            log::warn("HTTP API on " + where.text() +
                      " without api_token: status and metrics are readable by anyone who can "
                      "reach it; changes are refused");
        }
        log::info("HTTP API on http://" + where.text() + "/");
    } catch (const std::exception& e) {
        log::error(e.what());
        return false;
    }
    return true;
}

int Control::run() {
    // Until the loop handles SIGHUP, a reload request (say, systemd's ExecReload during a slow
    // start) must not kill the process: the default action of SIGHUP is to terminate.
    std::signal(SIGHUP, SIG_IGN);
    // A write to a TCP peer that has reset the connection fails with EPIPE; the default
    // action of the SIGPIPE that comes with it would end the process.
    std::signal(SIGPIPE, SIG_IGN);
    try {
        geo_ = make_resolver(cfg_);
    } catch (const std::exception& e) {
        log::error(e.what());
        return 1;
    }
    if (!geo_->has_database()) {
        log::warn(
            "no geo database configured (--geoip): pools answer in their default order "
            "unless nets place the asker");
    }
    if (!cfg_.guard.cookie_secret_set) {
        // No shared secret configured: a random one for this process, made once, so cookies
        // stay valid across reloads (not across restarts, nor between servers).
        cfg_.guard.cookies.master = random_secret();
        cfg_.guard.cookie_secret_set = true;
    }
    health_ = std::make_unique<probes::HealthTable>();
    prober_ = std::make_unique<probes::ProberPool>(*health_, cfg_.probers,
                                                   [](const std::string& m) { log::info(m); });
    if (!cfg_.probe_source.empty()) {
        prober_->set_source(cfg_.probe_source);  // validated by the config loader
    }
    std::vector<std::string> errors;
    auto first =
        build_snapshot(cfg_, nullptr, geo_, errors, prober_.get(), health_.get(), &counter_ids_);
    for (const auto& e : errors) {
        log::error(e + " (zone not loaded)");
    }
    record_load(*first, errors, false);
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

    const unsigned workers = config::worker_count(cfg_);
    server_ = std::make_unique<Server>(snapshots_, cfg_.listen, workers, cfg_.tcp, cfg_.xdp);
    try {
        server_->open();
    } catch (const std::exception& e) {
        log::error(e.what());
        return 1;
    }
    if (cfg_.cluster.enabled) {
        cluster_ = std::make_unique<cluster::Cluster>(
            cfg_, *health_, [this](bool on) { apply_attack(on, "by the cluster"); });
        cluster_->set_inventory(inventory());
        cluster_->start();
    }
    if (cfg_.query_log_sample > 0) {
        query_log_ = std::make_unique<QueryLog>(server_->thread_count(), cfg_.query_log_sample);
        server_->set_query_log(query_log_.get());
    }
    if (!start_demand()) {
        prober_->stop();
        return 1;
    }
    start_loop();
    if (!start_api()) {
        if (cluster_ != nullptr) {
            cluster_->stop();
        }
        prober_->stop();
        close_loop();
        return 1;
    }
    server_->start();
    std::string where;
    for (const auto& addr : cfg_.listen) {
        where += (where.empty() ? "" : ", ") + addr.text();
    }
    log::info(
        "serving " + std::to_string(zone_count) + " zones on " + where +
        (cfg_.xdp.empty() ? " (udp, tcp), " : " (udp, tcp; udp on " + cfg_.xdp + " via AF_XDP), ") +
        std::to_string(workers) + " workers" +
        (loop_->watching ? ", watching " + cfg_.zones_dir : std::string()));
    // Zones loaded, start-up health round done, every listener bound (the kernel queues what
    // arrives before a thread reads it): a query sent from now on is answered.
    notifier_.ready(status_line(*snapshots_.load(), *health_));

    Loop& l = *loop_;
    uv_run(&l.loop, UV_RUN_DEFAULT);
    // Shutdown has begun: a repeated SIGTERM/SIGINT (or a late SIGHUP) is ignored from here on.
    ignore_signals();
    notifier_.stopping();

    {
        // Whoever still waits for a reload gets an answer, not a hang.
        std::lock_guard lock(reload_requests_mutex_);
        stopping_ = true;
        for (auto& p : reload_requests_) {
            p.set_value(ReloadResult{});
        }
        reload_requests_.clear();
    }
    if (api_ != nullptr) {
        api_->stop();
    }
    if (cluster_ != nullptr) {
        cluster_->stop();
    }
    server_->stop();
    prober_->stop();
    stop_demand();
    if (query_log_ != nullptr) {
        query_log_->drain([](const std::string& line) { log::info(line); });
    }
    close_loop();
    log::info("stopped");
    return 0;
}

bool Control::start_demand() {
    if (cfg_.demand_networks == 0) {
        return true;
    }
    demand_ = std::make_unique<DemandFeed>(server_->thread_count(), cfg_.demand_networks);
    demand_->name(*snapshots_.load());
    if (!cfg_.demand_file.empty()) {
        try {
            demand_->book().load(cfg_.demand_file, snapshots_.load()->geo.get());
            log::info("demand: " + std::to_string(demand_->book().entries()) +
                      " networks loaded from " + cfg_.demand_file);
        } catch (const std::exception& e) {
            log::error(std::string("demand: ") + e.what());
            return false;
        }
    }
    server_->set_demand(demand_->tables());
    return true;
}

void Control::stop_demand() {
    if (demand_ == nullptr) {
        return;
    }
    demand_->collect_stopped(snapshots_.load()->geo.get());
    if (!cfg_.demand_file.empty()) {
        try {
            demand_->book().save(cfg_.demand_file);
            log::info("demand: " + std::to_string(demand_->book().entries()) +
                      " networks saved to " + cfg_.demand_file);
        } catch (const std::exception& e) {
            log::error(std::string("demand: ") + e.what());
        }
    }
}

void Control::set_under_attack(bool on) { apply_attack(on, "through the API"); }

void Control::apply_attack(bool on, const char* how) {
    bool was = server_->attack().manual.exchange(on, std::memory_order_relaxed);
    if (was != on) {
        log::warn(std::string("under-attack mode ") + (on ? "switched on" : "switched off") + " " +
                  how +
                  (!on && server_->attack().automatic.load(std::memory_order_relaxed)
                       ? " (still on: the query rate is above auto_qps)"
                       : ""));
    }
}

cluster::Inventory Control::inventory() const {
    cluster::Inventory inv;
    const Snapshot* snap = snapshots_.load();
    if (snap == nullptr) {
        return inv;
    }
    std::set<int32_t> seen;
    for (const auto& z : snap->zones) {
        inv.zones[z->origin_text] = z->serial;
        for (const auto& p : z->pools) {
            for (const auto& o : p.origins) {
                cluster::Inventory::Origin entry{z->origin_text, p.name, o.name, {}};
                for (const auto& a : o.addresses) {
                    if (a.health < 0) {
                        continue;
                    }
                    entry.cells.push_back(a.health);
                    if (seen.insert(a.health).second) {
                        inv.checks.push_back({a.health, health_->snapshot(a.health).key});
                    }
                }
                if (!entry.cells.empty()) {
                    inv.origins.push_back(std::move(entry));
                }
            }
        }
    }
    return inv;
}

api::ClusterView Control::cluster_view() const {
    api::ClusterView v;
    if (cluster_ == nullptr) {
        return v;
    }
    cluster::Numbers n = cluster_->numbers();
    v.enabled = true;
    v.members = n.members;
    v.reachable = n.reachable;
    v.fallback = n.fallback;
    v.checks = n.checks;
    v.checks_here = n.checks_here;
    v.disagreements = n.disagreements;
    v.drift = n.drift;
    v.revision = n.revision;
    v.ignored = n.ignored;
    v.status_json = cluster_->status().dump();
    return v;
}

int Control::cluster_override(const std::string& zone, const std::string& pool,
                              const std::string& origin, const std::string& state,
                              std::string& message) {
    if (cluster_ == nullptr) {
        return 0;
    }
    return cluster_->put_override(zone, pool, origin, state, "api@" + cfg_.cluster.node, message);
}

int Control::cluster_attack(bool on, std::string& message) {
    if (cluster_ == nullptr) {
        return 0;
    }
    return cluster_->put_attack(on, "api@" + cfg_.cluster.node, message);
}

void Control::close_loop() {
    ignore_signals();
    Loop& l = *loop_;
    uv_walk(
        &l.loop, [](uv_handle_t* h, void*) { uv_close(h, nullptr); }, nullptr);
    uv_run(&l.loop, UV_RUN_DEFAULT);
    uv_loop_close(&l.loop);
}

}  // namespace dnslb::server
