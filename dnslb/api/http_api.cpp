#include "dnslb/api/http_api.hpp"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>

#include <cctype>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dnslb/answer/explain.hpp"
#include "dnslb/base/log.hpp"
#include "dnslb/steering/steer.hpp"

namespace dnslb::api {

namespace {

using ojson = nlohmann::ordered_json;

std::string iso_time(int64_t unix_ms) {
    if (unix_ms <= 0) {
        return "";
    }
    std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    char ms[8];
    std::snprintf(ms, sizeof(ms), ".%03dZ", static_cast<int>(unix_ms % 1000));
    return std::string(buf) + ms;
}

const char* override_name(probes::Override o) {
    switch (o) {
        case probes::Override::kUp:
            return "up";
        case probes::Override::kDown:
            return "down";
        default:
            return "auto";
    }
}

// Zone names compare without case and with or without the final dot.
bool same_zone(const std::string& origin_text, const std::string& asked) {
    std::string a = asked;
    if (a.empty() || a.back() != '.') {
        a += '.';
    }
    return strcasecmp(a.c_str(), origin_text.c_str()) == 0;
}

// Compares in time independent of where the strings differ.
bool token_equal(const std::string& a, const std::string& b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (size_t i = 0; i < a.size(); ++i) {
        diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
    }
    return diff == 0;
}

ojson origin_json(const zone::Origin& o, const probes::HealthTable& health) {
    ojson out;
    out["name"] = o.name;
    if (o.has_location) {
        out["lat"] = o.lat;
        out["lon"] = o.lon;
    }
    out["weight"] = o.weight;
    ojson addrs = ojson::array();
    bool any_up = false;
    bool any_unknown = false;
    for (const auto& a : o.addresses) {
        ojson j;
        j["address"] = a.text;
        j["monitored"] = a.health >= 0;
        if (a.health >= 0) {
            probes::CellSnapshot c = health.snapshot(a.health);
            j["state"] = probes::state_name(c.state);
            j["probed"] = probes::state_name(c.probed);
            j["cluster"] = probes::state_name(c.cluster);
            j["probing"] = c.probing;
            j["override"] = override_name(c.override_state);
            j["since"] = iso_time(c.since_ms);
            j["last_error"] = c.last_error;
            j["last_latency_ms"] = c.last_latency_us / 1000.0;
            j["checks"] = c.checks;
            j["transitions"] = c.transitions;
            any_up = any_up || c.state == probes::State::kUp;
            any_unknown = any_unknown || c.state == probes::State::kUnknown;
        } else {
            j["state"] = "up";
            any_up = true;
        }
        addrs.push_back(std::move(j));
    }
    out["state"] = any_up ? "up" : any_unknown ? "unknown" : "down";
    out["addresses"] = std::move(addrs);
    return out;
}

// Call with control.state().mutex held (reads the serving snapshot).
ojson attack_json(const Instance& control) {
    const server::AttackState& a = control.attack();
    ojson j;
    j["active"] = a.on();
    j["manual"] = a.manual.load(std::memory_order_relaxed);
    j["automatic"] = a.automatic.load(std::memory_order_relaxed);
    j["health_frozen"] = control.health().frozen();
    const server::Snapshot* snap = control.snapshots().load();
    j["auto_qps"] = snap != nullptr ? snap->options.guard.attack.auto_qps : 0;
    return j;
}

std::string trimmed(std::string s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
        s.pop_back();
    }
    return s;
}

struct Request {
    std::string body;
    bool too_big = false;
};

}  // namespace

std::string render_status(const Instance& control) {
    ojson doc;
    std::lock_guard lock(control.state().mutex);
    const ControlState& st = control.state();
    const server::Snapshot* snap = control.snapshots().load();
    doc["generation"] = snap != nullptr ? snap->generation : 0;
    ojson zones = ojson::array();
    ojson pools = ojson::array();
    for (const auto& z :
         snap != nullptr ? snap->zones : std::vector<std::shared_ptr<const zone::Zone>>{}) {
        ojson j;
        j["origin"] = z->origin_text;
        j["file"] = z->file;
        j["serial"] = z->serial;
        j["records"] = z->record_count;
        j["pools"] = z->pools.size();
        if (z->is_signed) {  // key tags and states only: no key material
            ojson d;
            d["keys"] = z->signing.keys;
            d["signatures_expire"] = iso_time(int64_t{z->signing.expires} * 1000);
            d["next_signing"] = iso_time(z->signing.refresh_at * 1000);
            d["signatures"] = z->signing.signatures;
            d["signature_bytes"] = z->signing.signature_bytes;
            d["signing_ms"] = z->signing.signing_ms;
            j["dnssec"] = std::move(d);
        }
        auto f = st.files.find(z->file);
        j["loaded_at"] = f != st.files.end() ? iso_time(f->second.loaded_ms) : "";
        j["error"] = f != st.files.end() ? f->second.error : "";
        zones.push_back(std::move(j));
        for (const auto& p : z->pools) {
            ojson pj;
            pj["zone"] = z->origin_text;
            pj["name"] = p.name;
            pj["steering"] = steering::steering_name(p.steering);
            pj["answers"] = p.answers;
            pj["ttl"] = p.ttl_s;
            pj["fallback"] =
                p.fallback >= 0 ? z->pools[static_cast<size_t>(p.fallback)].name : std::string();
            ojson origins = ojson::array();
            for (const auto& o : p.origins) {
                origins.push_back(origin_json(o, control.health()));
            }
            pj["origins"] = std::move(origins);
            pools.push_back(std::move(pj));
        }
    }
    doc["zones"] = std::move(zones);
    ojson failed = ojson::array();
    for (const auto& [file, f] : st.files) {
        if (!f.error.empty()) {
            failed.push_back({{"file", file}, {"error", f.error}});
        }
    }
    doc["failed"] = std::move(failed);
    doc["pools"] = std::move(pools);
    ojson reloads;
    for (size_t t = 0; t < kReloadTriggers; ++t) {
        reloads["by_trigger"][trigger_name(static_cast<ReloadTrigger>(t))] = st.reloads[t];
    }
    reloads["ok"] = st.reloads_ok;
    reloads["error"] = st.reloads_failed;
    reloads["last_at"] = iso_time(st.last_reload_ms);
    reloads["last_ok"] = st.last_reload_ok;
    reloads["last_errors"] = st.last_errors;
    doc["reloads"] = std::move(reloads);
    doc["under_attack"] = attack_json(control);
    if (ClusterView c = control.cluster_view(); c.enabled) {
        doc["cluster"] = ojson::parse(c.status_json, nullptr, false);
    }
    return doc.dump(2) + "\n";
}

HttpApi::Response HttpApi::authorize(const char* authorization) const {
    Response r;
    const std::string& token = control_.config().api_token;
    constexpr std::string_view kBearer = "Bearer ";
    if (authorization == nullptr ||
        std::strncmp(authorization, kBearer.data(), kBearer.size()) != 0) {
        r.status = 401;
        r.challenge = true;
        r.body = "authorization required: Authorization: Bearer <api_token>\n";
        return r;
    }
    if (token.empty()) {
        r.status = 403;
        r.body = "no api_token is configured: changes through the API are disabled\n";
        return r;
    }
    if (!token_equal(authorization + kBearer.size(), token)) {
        r.status = 403;
        r.body = "wrong token\n";
        return r;
    }
    r.status = 0;  // go on
    return r;
}

HttpApi::Response HttpApi::authorize_read(const char* authorization) const {
    const std::string& read = control_.config().api_read_token;
    Response r;
    r.status = 0;
    if (read.empty()) {
        return r;
    }
    constexpr std::string_view kBearer = "Bearer ";
    if (authorization == nullptr ||
        std::strncmp(authorization, kBearer.data(), kBearer.size()) != 0) {
        r.status = 401;
        r.challenge = true;
        r.body = "authorization required: Authorization: Bearer <api_read_token>\n";
        return r;
    }
    const std::string given = authorization + kBearer.size();
    const std::string& write = control_.config().api_token;
    if (!token_equal(given, read) && (write.empty() || !token_equal(given, write))) {
        r.status = 403;
        r.body = "wrong token\n";
    }
    return r;
}

HttpApi::Response HttpApi::reload() {
    Response r;
    r.content_type = "application/json";
    std::future<ReloadResult> f = control_.request_reload();
    if (f.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
        r.status = 504;
        r.body = "{\"error\": \"reload did not finish within 60 s\"}\n";
        return r;
    }
    ReloadResult res = f.get();
    ojson j;
    j["ok"] = res.ok;
    j["generation"] = res.generation;
    j["zones"] = res.zones;
    j["errors"] = res.errors;
    // A reload that kept some zones at their previous version still published the rest: 200,
    // with the errors; the status says whether the request itself was carried out.
    r.status = res.generation != 0 ? 200 : 500;
    r.body = j.dump(2) + "\n";
    return r;
}

HttpApi::Response HttpApi::explain(const char* name, const char* client, const char* subnet) {
    Response r;
    if (name == nullptr || *name == '\0') {
        r.status = 400;
        r.body = "explain needs ?name=NAME and optionally client=IP or subnet=CIDR\n";
        return r;
    }
    if (client != nullptr && subnet != nullptr) {
        r.status = 400;
        r.body = "give client or subnet, not both\n";
        return r;
    }
    try {
        steering::Asker asker =
            subnet != nullptr
                ? server::parse_asker(subnet, true)
                : server::parse_asker(client != nullptr ? client : "127.0.0.1", false);
        std::lock_guard lock(control_.state().mutex);
        const server::Snapshot* snap = control_.snapshots().load();
        if (snap == nullptr) {
            r.status = 503;
            r.body = "no zones loaded yet\n";
            return r;
        }
        for (const auto& line : server::explain(*snap, name, asker)) {
            r.body += line + "\n";
        }
    } catch (const std::exception& e) {
        r.status = 400;
        r.body = std::string(e.what()) + "\n";
    }
    return r;
}

HttpApi::Response HttpApi::under_attack(const std::string& state) {
    Response r;
    r.content_type = "application/json";
    if (state != "on" && state != "off") {
        r.status = 400;
        r.body = "{\"error\": \"expected on or off as the body or ?state=\"}\n";
        return r;
    }
    std::string message;
    int clustered = control_.cluster_attack(state == "on", message);
    if (clustered != 0 && clustered != 200) {
        r.status = clustered;
        r.body = ojson{{"error", message}}.dump(2) + "\n";
        return r;
    }
    if (clustered == 0) {
        control_.set_under_attack(state == "on");
    }
    ojson j;
    if (clustered != 0) {
        j["cluster"] = message;
    }
    {
        std::lock_guard lock(control_.state().mutex);  // keeps the snapshot alive
        j["under_attack"] = attack_json(control_);
    }
    r.body = j.dump(2) + "\n";
    return r;
}

HttpApi::Response HttpApi::override_origin(const std::string& pool, const std::string& origin,
                                           const std::string& state, const char* zone_name) {
    Response r;
    r.content_type = "application/json";
    probes::Override ov;
    if (state == "up") {
        ov = probes::Override::kUp;
    } else if (state == "down") {
        ov = probes::Override::kDown;
    } else if (state == "auto") {
        ov = probes::Override::kAuto;
    } else {
        r.status = 400;
        r.body = "{\"error\": \"expected up, down or auto as the body or ?state=\"}\n";
        return r;
    }
    ojson done = ojson::array();
    bool found = false;
    {
        std::lock_guard lock(control_.state().mutex);
        const server::Snapshot* snap = control_.snapshots().load();
        for (const auto& z :
             snap != nullptr ? snap->zones : std::vector<std::shared_ptr<const zone::Zone>>{}) {
            if (zone_name != nullptr && !same_zone(z->origin_text, zone_name)) {
                continue;
            }
            for (const auto& p : z->pools) {
                if (p.name != pool) {
                    continue;
                }
                for (const auto& o : p.origins) {
                    if (o.name != origin) {
                        continue;
                    }
                    found = true;
                    for (const auto& a : o.addresses) {
                        if (a.health < 0) {
                            continue;
                        }
                        if (!control_.cluster_view().enabled) {
                            control_.health().set_override(a.health, ov);
                        }
                        done.push_back({{"zone", z->origin_text}, {"address", a.text}});
                    }
                }
            }
        }
    }
    ojson j;
    j["pool"] = pool;
    j["origin"] = origin;
    j["override"] = state;
    if (!found) {
        r.status = 404;
        j["error"] = "no origin '" + origin + "' in a pool '" + pool + "'" +
                     (zone_name != nullptr ? std::string(" of zone ") + zone_name : "");
    } else if (done.empty()) {
        // Unmonitored addresses have no health cell: they are always answered.
        r.status = 409;
        j["error"] = "the origin has no monitor, so it has no health state to override";
    } else {
        std::string message;
        int clustered = control_.cluster_override(zone_name != nullptr ? zone_name : "", pool,
                                                  origin, state, message);
        if (clustered != 0) {
            j["cluster"] = message;
            r.status = clustered == 200 ? 200 : clustered;
        }
        log::info("API: override " + state + " for pool " + pool + " origin " + origin + " (" +
                  std::to_string(done.size()) + " addresses" +
                  (clustered != 0 ? ", through the cluster: " + message : std::string()) + ")");
    }
    j["addresses"] = std::move(done);
    r.body = j.dump(2) + "\n";
    return r;
}

HttpApi::Response HttpApi::handle(const std::string& method, const std::string& url,
                                  const std::string& body, const char* authorization,
                                  const QueryFn& query) {
    Response r;
    auto only = [&](const char* allowed) {
        if (method == allowed) {
            return true;
        }
        r.status = 405;
        r.allow = allowed;
        r.body = "method not allowed\n";
        return false;
    };
    if (page_asset(url, r)) {
        if (method != "GET") {
            only("GET");
        }
        return r;
    }
    const bool reading = method == "GET" || url == "/plan";
    if (reading) {
        Response auth = authorize_read(authorization);
        if (auth.status != 0) {
            return auth;
        }
    }
    if (url == "/demand") {
        if (only("GET")) {
            r = demand_view();
        }
        return r;
    }
    if (url == "/plan") {
        if (method != "POST" && !only("GET")) {
            return r;
        }
        return plan_view(method == "POST" ? body : std::string(), query);
    }
    if (url == "/metrics") {
        if (only("GET")) {
            r.content_type = "text/plain; version=0.0.4; charset=utf-8";
            r.body = render_metrics(control_);
        }
        return r;
    }
    if (url == "/status") {
        if (only("GET")) {
            r.content_type = "application/json";
            r.body = render_status(control_);
        }
        return r;
    }
    if (url == "/explain") {
        if (only("GET")) {
            r = explain(query("name"), query("client"), query("subnet"));
        }
        return r;
    }
    if (url == "/reload") {
        if (!only("POST")) {
            return r;
        }
        Response auth = authorize(authorization);
        return auth.status != 0 ? auth : reload();
    }
    if (url == "/under-attack") {
        if (!only("POST")) {
            return r;
        }
        Response auth = authorize(authorization);
        if (auth.status != 0) {
            return auth;
        }
        return under_attack(trimmed(query("state") != nullptr ? query("state") : body));
    }
    // /origins/{pool}/{origin}/override
    constexpr std::string_view kPrefix = "/origins/";
    constexpr std::string_view kSuffix = "/override";
    if (url.size() > kPrefix.size() + kSuffix.size() && url.starts_with(kPrefix) &&
        url.ends_with(kSuffix)) {
        std::string middle =
            url.substr(kPrefix.size(), url.size() - kPrefix.size() - kSuffix.size());
        auto slash = middle.find('/');
        if (slash != std::string::npos && slash != 0 && slash + 1 < middle.size() &&
            middle.find('/', slash + 1) == std::string::npos) {
            if (!only("POST")) {
                return r;
            }
            Response auth = authorize(authorization);
            if (auth.status != 0) {
                return auth;
            }
            return override_origin(middle.substr(0, slash), middle.substr(slash + 1),
                                   trimmed(query("state") != nullptr ? query("state") : body),
                                   query("zone"));
        }
    }
    r.status = 404;
    r.body =
        "not found; endpoints: GET /metrics, GET /status, GET /explain?name=, "
        "GET /demand, GET|POST /plan, GET /, POST /reload, "
        "POST /origins/{pool}/{origin}/override, POST /under-attack\n";
    return r;
}

namespace {

MHD_Result on_request(void* cls, MHD_Connection* conn, const char* url, const char* method,
                      const char* /*version*/, const char* upload_data, size_t* upload_data_size,
                      void** con_cls) {
    auto* api = static_cast<HttpApi*>(cls);
    if (*con_cls == nullptr) {
        *con_cls = new Request;
        return MHD_YES;
    }
    auto* req = static_cast<Request*>(*con_cls);
    if (*upload_data_size != 0) {
        if (req->body.size() + *upload_data_size > kMaxBody) {
            req->too_big = true;
        } else {
            req->body.append(upload_data, *upload_data_size);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    HttpApi::Response r;
    if (req->too_big) {
        r.status = 413;
        r.body = "request body larger than " + std::to_string(kMaxBody) + " bytes\n";
    } else {
        const char* auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
        try {
            r = api->handle(method, url, req->body, auth, [conn](const char* key) {
                return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
            });
        } catch (const std::exception& e) {
            r = HttpApi::Response{};
            r.status = 500;
            r.body = std::string("internal error: ") + e.what() + "\n";
        }
    }
    MHD_Response* resp =
        MHD_create_response_from_buffer(r.body.size(), r.body.data(), MHD_RESPMEM_MUST_COPY);
    if (resp == nullptr) {
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", r.content_type.c_str());
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    // The page loads nothing from elsewhere and runs no inline script.
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; frame-ancestors 'none'; base-uri 'none'");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (!r.allow.empty()) {
        MHD_add_response_header(resp, "Allow", r.allow.c_str());
    }
    if (r.challenge) {
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"dnslb\"");
    }
    MHD_Result ret = MHD_queue_response(conn, r.status, resp);
    MHD_destroy_response(resp);
    return ret;
}

void on_completed(void* /*cls*/, MHD_Connection* /*conn*/, void** con_cls,
                  MHD_RequestTerminationCode /*code*/) {
    delete static_cast<Request*>(*con_cls);
    *con_cls = nullptr;
}

void on_mhd_log(void* /*cls*/, const char* fmt, va_list ap) {
    char buf[512];
    std::vsnprintf(buf, sizeof(buf), fmt, ap);
    std::string line(buf);
    while (!line.empty() && line.back() == '\n') {
        line.pop_back();
    }
    log::warn("HTTP API: " + line);
}

}  // namespace

HttpApi::~HttpApi() { stop(); }

void HttpApi::start(const config::ListenAddress& where) {
    sockaddr_storage ss{};
    bool v6 = where.host.find(':') != std::string::npos;
    if (v6) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(where.port);
        inet_pton(AF_INET6, where.host.c_str(), &a->sin6_addr);
    } else {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        a->sin_family = AF_INET;
        a->sin_port = htons(where.port);
        inet_pton(AF_INET, where.host.c_str(), &a->sin_addr);
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
                     (v6 ? MHD_USE_IPv6 : 0);
    daemon_ = MHD_start_daemon(
        flags, where.port, nullptr, nullptr, &on_request, this, MHD_OPTION_EXTERNAL_LOGGER,
        &on_mhd_log, nullptr, MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&ss),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<size_t>(kConnectionMemory),
        MHD_OPTION_CONNECTION_TIMEOUT, static_cast<unsigned>(kTimeoutS),
        MHD_OPTION_CONNECTION_LIMIT, static_cast<unsigned>(kMaxConnections),
        MHD_OPTION_NOTIFY_COMPLETED, &on_completed, nullptr, MHD_OPTION_END);
    if (daemon_ == nullptr) {
        throw std::runtime_error("HTTP API " + where.text() +
                                 ": cannot listen (address in use or not local?)");
    }
}

void HttpApi::stop() {
    if (daemon_ != nullptr) {
        MHD_stop_daemon(daemon_);
        daemon_ = nullptr;
    }
}

}  // namespace dnslb::api
