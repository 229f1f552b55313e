// The HTTP API: metrics, status, explain, reload and health overrides, served by GNU
// libmicrohttpd on its own thread, off the query path.
//
//   GET  /metrics                          Prometheus text format 0.0.4
//   GET  /status                           zones, pools, origins, reloads (JSON)
//   GET  /explain?name=N[&client=IP|&subnet=CIDR]
//                                          how N is answered for that asker (text)
//   POST /reload                           reload the zones now; the outcome as JSON
//   POST /origins/{pool}/{origin}/override up|down|auto (body or ?state=), optional ?zone=Z
//   GET  /demand                           recorded demand, counters and history (JSON)
//   GET  /plan?pool=P[&zone=Z][&add=N:LAT,LON;...][&remove=N,...][&route_factor=F]
//   POST /plan  {"pool", "zone", "add": [{"name","lat","lon"}], "remove": [], "route_factor"}
//                                          the planner on the recorded demand (JSON)
//   GET  /                                 the dashboard page (and its /assets/...)
//
// POST endpoints need "Authorization: Bearer <api_token>": 401 without it, 403 with a wrong one
// (and always 403 when no token is configured). When api_read_token is set, the read-only
// views (GET, and POST /plan) need it (or api_token) too; the page itself does not.
//
// Thread contract: the handlers run on the libmicrohttpd thread. They read the snapshot only
// while holding ControlState::mutex (the control thread holds it to free old snapshots), read
// the health table, prober and worker counters through their thread-safe readers, and ask the
// control thread for reloads (Instance::request_reload). Every request is bounded: the body to
// kMaxBody bytes, the connection's memory to kConnectionMemory, idle time to kTimeoutS.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "dnslb/api/instance.hpp"
#include "dnslb/config/config.hpp"

struct MHD_Daemon;

namespace dnslb::api {

inline constexpr size_t kMaxBody = 4096;
inline constexpr size_t kConnectionMemory = size_t{64} * 1024;
inline constexpr unsigned kTimeoutS = 10;
inline constexpr unsigned kMaxConnections = 64;

// The metrics text of the running server (Prometheus exposition format).
std::string render_metrics(const Instance& control);
// The status document of the running server (JSON).
std::string render_status(const Instance& control);

class HttpApi {
public:
    explicit HttpApi(Instance& control) : control_(control) {}
    ~HttpApi();
    HttpApi(const HttpApi&) = delete;
    HttpApi& operator=(const HttpApi&) = delete;

    // Binds and starts serving. Throws std::runtime_error naming the address.
    void start(const config::ListenAddress& where);
    // Stops serving and joins the thread. Idempotent.
    void stop();

    struct Response {
        unsigned status = 200;
        std::string content_type = "text/plain; charset=utf-8";
        std::string body;
        std::string allow;       // for 405
        bool challenge = false;  // 401: add WWW-Authenticate
    };
    // One request, already read in full. `query` returns a query argument or nullptr;
    // `authorization` is the header value or nullptr.
    using QueryFn = std::function<const char*(const char*)>;
    Response handle(const std::string& method, const std::string& url, const std::string& body,
                    const char* authorization, const QueryFn& query);

private:
    Response override_origin(const std::string& pool, const std::string& origin,
                             const std::string& state, const char* zone);
    Response reload();
    Response under_attack(const std::string& state);
    Response explain(const char* name, const char* client, const char* subnet);
    Response authorize(const char* authorization) const;
    // Read-only views: open unless api_read_token is set; then that token or api_token.
    Response authorize_read(const char* authorization) const;
    // dashboard.cpp: GET /demand, GET|POST /plan, the page and its assets.
    Response demand_view();
    Response plan_view(const std::string& body, const QueryFn& query);
    static bool page_asset(const std::string& url, Response& r);

    Instance& control_;
    MHD_Daemon* daemon_ = nullptr;
};

}  // namespace dnslb::api
