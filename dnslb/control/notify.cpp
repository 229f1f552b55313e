#include "dnslb/control/notify.hpp"

#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "dnslb/answer/snapshot.hpp"
#include "dnslb/base/errno_text.hpp"
#include "dnslb/base/log.hpp"
#include "dnslb/steering/steer.hpp"
#include "probes/health_table.hpp"

namespace dnslb::server {

Notifier::Notifier() {
    // dnslb never calls setenv, so reading the environment cannot race.
    const char* socket = std::getenv("NOTIFY_SOCKET");  // NOLINT(concurrency-mt-unsafe)
    enabled_ = socket != nullptr && socket[0] != '\0';
}

void Notifier::send(const std::string& message) {
    if (!enabled_) {
        return;
    }
    // unset_environment 0: a reload or a restart of the loop may notify again.
    int rc = sd_notify(0, message.c_str());
    if (rc < 0) {
        log::warn("service manager notification failed: " + base::errno_text(-rc));
    }
}

void Notifier::ready(const std::string& status) {
    last_status_ = status;
    send("READY=1\nSTATUS=" + status);
}

void Notifier::reloading() { send("RELOADING=1\nSTATUS=reloading zones"); }

void Notifier::stopping() { send("STOPPING=1\nSTATUS=stopping"); }

void Notifier::status(const std::string& status) {
    if (status == last_status_) {
        return;
    }
    last_status_ = status;
    send("STATUS=" + status);
}

std::string status_line(const Snapshot& snap, const probes::HealthTable& health) {
    size_t pools = 0;
    size_t origins = 0;
    size_t down = 0;
    for (const auto& z : snap.zones) {
        pools += z->pools.size();
        for (const auto& p : z->pools) {
            for (const auto& o : p.origins) {
                ++origins;
                bool up = std::any_of(o.addresses.begin(), o.addresses.end(), [&](const auto& a) {
                    return steering::address_up(a, &health);
                });
                down += up ? 0 : 1;
            }
        }
    }
    auto plural = [](size_t n, const char* word) {
        return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
    };
    return "serving " + plural(snap.zones.size(), "zone") + "; " + plural(pools, "pool") + ", " +
           std::to_string(down) + " of " + plural(origins, "origin") + " down";
}

}  // namespace dnslb::server
