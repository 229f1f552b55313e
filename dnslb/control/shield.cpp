#include "dnslb/control/shield.hpp"

#include <arpa/inet.h>

#include "dnslb/base/log.hpp"

namespace dnslb::server {

namespace {

constexpr uint32_t kLinesPerSecond = 10;  // RRL log lines, so the log cannot be flooded
constexpr uint64_t kCalmBeforeOffMs = 10000;

const char* class_name(RrlClass k) {
    switch (k) {
        case RrlClass::kPositive:
            return "responses";
        case RrlClass::kNxDomain:
            return "nxdomains";
        case RrlClass::kError:
            return "errors";
        case RrlClass::kReferral:
            return "referrals";
    }
    return "?";
}

}  // namespace

void Shield::tick(Server& server, probes::HealthTable& health, const Snapshot* snap,
                  uint64_t now_ms) {
    if (now_ms - log_window_ms_ >= 1000) {
        if (suppressed_ > 0) {
            log::warn("rrl: " + std::to_string(suppressed_) +
                      " more networks limited (log lines suppressed)");
        }
        log_window_ms_ = now_ms;
        logged_in_window_ = 0;
        suppressed_ = 0;
    }
    for (ThreadGuard* g : server.guards()) {
        LimitedEvent e;
        while (g->pop_event(e)) {
            if (logged_in_window_ >= kLinesPerSecond) {
                ++suppressed_;
                continue;
            }
            ++logged_in_window_;
            char text[INET6_ADDRSTRLEN] = {};
            inet_ntop(e.family == 4 ? AF_INET : AF_INET6, e.bytes, text, sizeof(text));
            log::warn(std::string("rrl: limiting ") + class_name(e.klass) + " to " + text + "/" +
                      std::to_string(e.prefix));
        }
    }
    // Automatic under-attack mode on the query rate over all workers.
    uint64_t queries = 0;
    for (const Stats* s : server.stats()) {
        queries += s->queries[0].load(std::memory_order_relaxed) +
                   s->queries[1].load(std::memory_order_relaxed);
    }
    if (last_ms_ == 0 || now_ms - last_ms_ < 1000) {
        if (last_ms_ == 0) {
            last_ms_ = now_ms;
            last_queries_ = queries;
        }
        sync_freeze(server, health);
        return;
    }
    uint64_t qps = (queries - last_queries_) * 1000 / (now_ms - last_ms_);
    last_ms_ = now_ms;
    last_queries_ = queries;
    uint64_t limit = snap != nullptr ? snap->options.guard.attack.auto_qps : 0;
    AttackState& attack = server.attack();
    bool on = attack.automatic.load(std::memory_order_relaxed);
    if (limit != 0 && qps > limit && !on) {
        attack.automatic.store(true, std::memory_order_relaxed);
        calm_since_ms_ = 0;
        log::warn("under-attack mode on: " + std::to_string(qps) + " queries/s (limit " +
                  std::to_string(limit) + ")");
    } else if (on && (limit == 0 || qps < limit / 2)) {
        if (calm_since_ms_ == 0) {
            calm_since_ms_ = now_ms;
        } else if (now_ms - calm_since_ms_ >= kCalmBeforeOffMs) {
            attack.automatic.store(false, std::memory_order_relaxed);
            log::info("under-attack mode off: " + std::to_string(qps) + " queries/s");
        }
    } else {
        calm_since_ms_ = 0;
    }
    sync_freeze(server, health);
}

void Shield::sync_freeze(Server& server, probes::HealthTable& health) {
    // Under attack, steering reads the health frozen at the switch (last-known-good).
    AttackState& attack = server.attack();
    if (attack.on() != health.frozen()) {
        attack.on() ? health.freeze() : health.thaw();
        log::info(attack.on() ? "health: frozen at last-known-good states (under attack)"
                              : "health: live again");
    }
}

}  // namespace dnslb::server
