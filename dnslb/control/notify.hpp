// Readiness for a service manager (systemd's sd_notify(3) protocol, Type=notify units).
// Control sends READY=1 once the zones are loaded, the start-up health round is done and every
// listener is bound; RELOADING=1 and READY=1 around each reload; STOPPING=1 when shutdown
// begins; STATUS= with a one-line summary whenever it changes. Without NOTIFY_SOCKET in the
// environment every call does nothing. Control thread only.
#pragma once

#include <string>

namespace dnslb::probes {
class HealthTable;
}

namespace dnslb::server {

struct Snapshot;

class Notifier {
public:
    Notifier();

    bool enabled() const noexcept { return enabled_; }
    void ready(const std::string& status);
    void reloading();
    void stopping();
    // Sends STATUS= only when the text differs from the last one sent.
    void status(const std::string& status);

private:
    void send(const std::string& message);

    bool enabled_ = false;
    std::string last_status_;
};

// "serving 2 zones; 3 pools, 1 of 8 origins down" (an origin is down when every one of its
// monitored addresses is).
std::string status_line(const Snapshot& snap, const probes::HealthTable& health);

}  // namespace dnslb::server
