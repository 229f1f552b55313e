// The load-balancing half of a zone file: /monitors and /pools.
#include <arpa/inet.h>

#include <algorithm>
#include <map>

#include "dnslb/zone/loader_detail.hpp"
#include "probes/monitor.hpp"

namespace dnslb::zone::detail {

namespace {

constexpr int64_t kMaxAnswers = 16;    // matches steering::kMaxAnswers
constexpr size_t kMaxOrigins = 65535;  // origin indices are uint16_t

using Index = std::map<std::string, int32_t, std::less<>>;

Index index_of(const std::vector<Pool>& pools) {
    Index out;
    for (size_t i = 0; i < pools.size(); ++i) {
        out.emplace(pools[i].name, static_cast<int32_t>(i));
    }
    return out;
}

int32_t monitor_ref(const Ctx& ctx, const Json& v, const std::string& ptr, const Zone& zone) {
    const std::string& name = ctx.string(v, ptr);
    for (size_t i = 0; i < zone.monitors.size(); ++i) {
        if (zone.monitors[i].name == name) {
            return static_cast<int32_t>(i);
        }
    }
    ctx.fail(ptr, "unknown monitor '" + name + "' (not defined in /monitors)");
}

// Whole seconds from a duration, for TTLs written as "30s" as well as 30.
uint32_t ttl_duration(const Ctx& ctx, const Json& v, const std::string& ptr) {
    if (v.is_number()) {
        return ctx.ttl(v, ptr);
    }
    const uint64_t ms = ctx.duration_ms(v, ptr, false);
    if (ms % 1000 != 0) {
        ctx.fail(ptr, "a TTL is a whole number of seconds");
    }
    if (ms / 1000 > kMaxTtl) {
        ctx.fail(ptr, "TTL is out of range 0.." + std::to_string(kMaxTtl));
    }
    return static_cast<uint32_t>(ms / 1000);
}

Address parse_address(const Ctx& ctx, const Json& v, const std::string& ptr) {
    const std::string& text = ctx.string(v, ptr);
    Address a;
    char buf[INET6_ADDRSTRLEN] = {};
    if (inet_pton(AF_INET, text.c_str(), a.bytes.data()) == 1) {
        a.family = 4;
        inet_ntop(AF_INET, a.bytes.data(), buf, sizeof buf);
    } else if (inet_pton(AF_INET6, text.c_str(), a.bytes.data()) == 1) {
        a.family = 6;
        inet_ntop(AF_INET6, a.bytes.data(), buf, sizeof buf);
    } else {
        ctx.fail(ptr, "'" + text + "' is not an IPv4 or IPv6 address");
    }
    a.text = buf;
    return a;
}

// The value named `s` in `names`, or a failure at `ptr` that lists the names.
template <typename T, size_t N>
T named(const Ctx& ctx, const std::string& s, const std::string& ptr, const char* what,
        const std::pair<std::string_view, T> (&names)[N]) {
    std::string expected;
    for (size_t i = 0; i < N; ++i) {
        if (s == names[i].first) {
            return names[i].second;
        }
        expected += i == 0 ? "" : (i + 1 == N ? " or " : ", ");
        expected += names[i].first;
    }
    ctx.fail(ptr, "unknown " + std::string(what) + " '" + s + "' (expected " + expected + ")");
}

Steering parse_steering(const Ctx& ctx, const Json& v, const std::string& ptr) {
    static const std::pair<std::string_view, Steering> kNames[] = {
        {"proximity", Steering::kProximity},
        {"geo", Steering::kGeo},
        {"failover", Steering::kFailover},
        {"weighted", Steering::kWeighted},
        {"random", Steering::kRandom}};
    return named(ctx, ctx.string(v, ptr), ptr, "steering", kNames);
}

AllDown parse_all_down(const Ctx& ctx, const Json& v, const std::string& ptr) {
    static const std::pair<std::string_view, AllDown> kNames[] = {
        {"return-all", AllDown::kReturnAll},
        {"nodata", AllDown::kNoData},
        {"servfail", AllDown::kServFail}};
    return named(ctx, ctx.string(v, ptr), ptr, "all_down policy", kNames);
}

Origin parse_origin(const Ctx& ctx, const std::string& name, const Json& o, const std::string& ptr,
                    size_t position, const Zone& zone) {
    ctx.object(o, ptr);
    ctx.check_keys(o, ptr, {"addresses", "lat", "lon", "weight", "bias", "priority", "monitor"});
    Origin origin;
    origin.name = name;
    origin.priority = static_cast<int32_t>(position);
    const auto addrs = o.find("addresses");
    if (addrs == o.end()) {
        ctx.fail(ptr, "origin '" + name + "' has no 'addresses'");
    }
    const std::string aptr = ptr_join(ptr, "addresses");
    if (!addrs->is_array() || addrs->empty()) {
        ctx.fail(aptr, "expected a non-empty list of IP addresses");
    }
    for (size_t i = 0; i < addrs->size(); ++i) {
        Address a = parse_address(ctx, (*addrs)[i], ptr_join(aptr, i));
        for (const auto& prev : origin.addresses) {
            if (prev.family == a.family && prev.bytes == a.bytes) {
                ctx.fail(ptr_join(aptr, i), "duplicate address " + a.text);
            }
        }
        origin.addresses.push_back(std::move(a));
    }
    const bool has_lat = o.contains("lat");
    const bool has_lon = o.contains("lon");
    if (has_lat != has_lon) {
        ctx.fail(ptr_join(ptr, has_lat ? "lat" : "lon"), "lat and lon go together");
    }
    if (has_lat) {
        origin.has_location = true;
        origin.lat = ctx.number(o["lat"], ptr_join(ptr, "lat"), -90, 90);
        origin.lon = ctx.number(o["lon"], ptr_join(ptr, "lon"), -180, 180);
    }
    if (o.contains("weight")) {
        origin.weight = ctx.number(o["weight"], ptr_join(ptr, "weight"), 0, 1e9);
        if (origin.weight <= 0) {
            ctx.fail(ptr_join(ptr, "weight"), "weight must be greater than 0");
        }
    }
    if (o.contains("bias")) {
        origin.bias = ctx.number(o["bias"], ptr_join(ptr, "bias"), -99, 99);
    }
    if (o.contains("priority")) {
        origin.priority = static_cast<int32_t>(
            ctx.integer(o["priority"], ptr_join(ptr, "priority"), INT32_MIN, INT32_MAX));
    }
    if (o.contains("monitor")) {
        origin.monitor = monitor_ref(ctx, o["monitor"], ptr_join(ptr, "monitor"), zone);
    }
    return origin;
}

std::vector<uint16_t> geo_list(const Ctx& ctx, const Json& v, const std::string& ptr,
                               const Pool& pool) {
    if (!v.is_array() || v.empty()) {
        ctx.fail(ptr, "expected a non-empty list of origin names");
    }
    std::vector<uint16_t> out;
    for (size_t i = 0; i < v.size(); ++i) {
        const std::string iptr = ptr_join(ptr, i);
        const std::string& name = ctx.string(v[i], iptr);
        const auto it = std::find_if(pool.origins.begin(), pool.origins.end(),
                                     [&](const Origin& o) { return o.name == name; });
        if (it == pool.origins.end()) {
            ctx.fail(iptr, "unknown origin '" + name + "' (not in this pool's origins)");
        }
        const auto idx = static_cast<uint16_t>(it - pool.origins.begin());
        if (std::find(out.begin(), out.end(), idx) != out.end()) {
            ctx.fail(iptr, "origin '" + name + "' is listed twice");
        }
        out.push_back(idx);
    }
    return out;
}

bool is_country(std::string_view cc) {
    return cc.size() == 2 && cc[0] >= 'A' && cc[0] <= 'Z' && cc[1] >= 'A' && cc[1] <= 'Z';
}

bool is_continent(std::string_view cc) {
    static constexpr std::string_view kContinents[] = {"AF", "AN", "AS", "EU", "NA", "OC", "SA"};
    return std::find(std::begin(kContinents), std::end(kContinents), cc) != std::end(kContinents);
}

void parse_geo(const Ctx& ctx, const Json& g, const std::string& ptr, Pool& pool) {
    ctx.object(g, ptr);
    ctx.check_keys(g, ptr, {"countries", "continents", "default"});
    // Each region code, checked by `valid`, gets its list of origins in `to`.
    auto regions = [&](const char* key, bool (*valid)(std::string_view), const char* expected,
                       auto& to) {
        if (!g.contains(key)) {
            return;
        }
        const std::string cptr = ptr_join(ptr, key);
        for (const auto& [cc, list] : ctx.object(g[key], cptr).items()) {
            if (!valid(cc)) {
                ctx.fail(ptr_join(cptr, cc), "'" + cc + "' is not a " + expected);
            }
            to[country_code(cc[0], cc[1])] = geo_list(ctx, list, ptr_join(cptr, cc), pool);
        }
    };
    regions("countries", is_country, "country code (two upper-case letters, ISO 3166)",
            pool.geo_countries);
    regions("continents", is_continent, "continent code (AF, AN, AS, EU, NA, OC, SA)",
            pool.geo_continents);
    if (g.contains("default")) {
        pool.geo_default = geo_list(ctx, g["default"], ptr_join(ptr, "default"), pool);
    }
}

Pool parse_pool(const Ctx& ctx, const std::string& name, const Json& p, const std::string& ptr,
                const Zone& zone, const Index& pools) {
    ctx.object(p, ptr);
    ctx.check_keys(p, ptr,
                   {"steering", "answers", "ttl", "ttl_degraded", "min_healthy", "fallback",
                    "all_down", "monitor", "origins", "geo"});
    Pool pool;
    pool.name = name;
    if (p.contains("steering")) {
        pool.steering = parse_steering(ctx, p["steering"], ptr_join(ptr, "steering"));
    }
    if (p.contains("answers")) {
        pool.answers = static_cast<uint32_t>(
            ctx.integer(p["answers"], ptr_join(ptr, "answers"), 1, kMaxAnswers));
    }
    if (p.contains("ttl")) {
        pool.ttl_s = ttl_duration(ctx, p["ttl"], ptr_join(ptr, "ttl"));
    }
    if (p.contains("ttl_degraded")) {
        pool.ttl_degraded_s = ttl_duration(ctx, p["ttl_degraded"], ptr_join(ptr, "ttl_degraded"));
    }
    if (p.contains("min_healthy")) {
        pool.min_healthy = static_cast<uint32_t>(
            ctx.integer(p["min_healthy"], ptr_join(ptr, "min_healthy"), 1, kMaxOrigins));
    }
    if (p.contains("all_down")) {
        pool.all_down = parse_all_down(ctx, p["all_down"], ptr_join(ptr, "all_down"));
    }
    if (p.contains("monitor")) {
        pool.monitor = monitor_ref(ctx, p["monitor"], ptr_join(ptr, "monitor"), zone);
    }
    if (p.contains("fallback")) {
        const std::string fptr = ptr_join(ptr, "fallback");
        const std::string& fb = ctx.string(p["fallback"], fptr);
        const auto it = pools.find(fb);
        if (it == pools.end()) {
            ctx.fail(fptr, "unknown fallback pool '" + fb + "' (not defined in /pools)");
        }
        pool.fallback = it->second;
    }
    const auto origins = p.find("origins");
    if (origins == p.end()) {
        ctx.fail(ptr, "pool '" + name + "' has no 'origins'");
    }
    const std::string optr = ptr_join(ptr, "origins");
    if (!origins->is_object() || origins->empty() ||
        (origins->size() == 1 && origins->contains("$comment"))) {
        ctx.fail(optr, "expected a non-empty object of origins");
    }
    if (origins->size() > kMaxOrigins) {
        ctx.fail(optr, "too many origins");
    }
    for (const auto& [oname, o] : origins->items()) {
        if (oname == "$comment") {
            continue;
        }
        pool.origins.push_back(
            parse_origin(ctx, oname, o, ptr_join(optr, oname), pool.origins.size(), zone));
    }
    if (p.contains("geo")) {
        parse_geo(ctx, p["geo"], ptr_join(ptr, "geo"), pool);
    }
    if (pool.geo_default.empty()) {  // geo default: every origin in file order
        for (size_t i = 0; i < pool.origins.size(); ++i) {
            pool.geo_default.push_back(static_cast<uint16_t>(i));
        }
    }
    return pool;
}

// RFC-free but fatal: a fallback chain that comes back to its start would loop forever.
void check_fallback_cycles(const Ctx& ctx, const Zone& zone) {
    for (size_t start = 0; start < zone.pools.size(); ++start) {
        std::string path = zone.pools[start].name;
        int32_t at = zone.pools[start].fallback;
        for (size_t steps = 0; at >= 0 && steps <= zone.pools.size(); ++steps) {
            path += " -> " + zone.pools[static_cast<size_t>(at)].name;
            if (static_cast<size_t>(at) == start) {
                ctx.fail(ptr_join(ptr_join("/pools", zone.pools[start].name), "fallback"),
                         "fallback cycle: " + path);
            }
            at = zone.pools[static_cast<size_t>(at)].fallback;
        }
    }
}

void warn_pool(const Ctx& ctx, const Pool& pool, const Json& p, const std::string& ptr) {
    if (pool.origins.size() == 1 && pool.fallback < 0) {
        ctx.warn(ptr, "pool '" + pool.name + "' has one origin and no fallback");
    }
    if (pool.monitor < 0) {
        const bool none = std::all_of(pool.origins.begin(), pool.origins.end(),
                                      [](const Origin& o) { return o.monitor < 0; });
        if (none) {
            ctx.warn(ptr, "pool '" + pool.name +
                              "' has no monitor: its origins are always considered up");
        } else {
            for (const auto& o : pool.origins) {
                if (o.monitor < 0) {
                    ctx.warn(ptr_join(ptr_join(ptr, "origins"), o.name),
                             "origin '" + o.name + "' has no monitor: always considered up");
                }
            }
        }
    }
    if (pool.steering == Steering::kProximity) {
        for (const auto& o : pool.origins) {
            if (!o.has_location) {
                ctx.warn(ptr_join(ptr_join(ptr, "origins"), o.name),
                         "origin '" + o.name + "' has no lat/lon for proximity steering");
            }
        }
    }
    if (pool.steering != Steering::kGeo && p.contains("geo")) {
        ctx.warn(ptr_join(ptr, "geo"), "'geo' is only used with \"steering\": \"geo\"");
    }
    if (pool.min_healthy > pool.origins.size()) {
        ctx.warn(ptr_join(ptr, "min_healthy"), "min_healthy is larger than the number of origins");
    }
}

}  // namespace

void load_monitors(const Ctx& ctx, const Json& root, Zone& zone) {
    const auto it = root.find("monitors");
    if (it == root.end()) {
        return;
    }
    for (const auto& [name, m] : ctx.object(*it, "/monitors").items()) {
        if (name == "$comment") {
            continue;
        }
        const std::string ptr = ptr_join("/monitors", name);
        ctx.object(m, ptr);
        const auto type = m.find("type");
        if (type == m.end()) {
            ctx.fail(ptr, "monitor '" + name + "' has no 'type' (tcp, http, https or dns)");
        }
        const std::string& t = ctx.string(*type, ptr_join(ptr, "type"));
        if (t != "tcp" && t != "http" && t != "https" && t != "dns") {
            ctx.fail(ptr_join(ptr, "type"),
                     "unknown monitor type '" + t + "' (expected tcp, http, https or dns)");
        }
        if (m.contains("port")) {
            ctx.integer(m["port"], ptr_join(ptr, "port"), 1, 65535);
        }
        uint64_t interval = 0;
        uint64_t timeout = 0;
        if (m.contains("interval")) {
            interval = ctx.duration_ms(m["interval"], ptr_join(ptr, "interval"), true);
        }
        if (m.contains("timeout")) {
            timeout = ctx.duration_ms(m["timeout"], ptr_join(ptr, "timeout"), true);
        }
        if (interval > 0 && timeout > 0 && timeout >= interval) {
            ctx.fail(ptr_join(ptr, "timeout"), "timeout must be shorter than interval");
        }
        for (const char* key : {"rise", "fall"}) {
            if (m.contains(key)) {
                ctx.integer(m[key], ptr_join(ptr, key), 1, 1000);
            }
        }
        // Every monitor parameter is checked by the library that runs the checks, so the
        // zone file gets the same messages (prefixed with this monitor's pointer).
        probes::MonitorSpec spec;
        try {
            spec = probes::MonitorSpec::from_json(m);
        } catch (const std::invalid_argument& e) {
            std::string msg = e.what();
            if (!msg.empty() && msg[0] == '/') {
                auto colon = msg.find(": ");
                std::string rel = msg.substr(0, colon);
                ctx.fail(ptr + rel, colon == std::string::npos ? msg : msg.substr(colon + 2));
            }
            ctx.fail(ptr, msg);
        }
        zone.monitors.push_back(Monitor{name, t, std::move(spec)});
    }
}

void load_pools(const Ctx& ctx, const Json& root, Zone& zone) {
    const auto it = root.find("pools");
    if (it == root.end()) {
        return;
    }
    const Json& pools = ctx.object(*it, "/pools");
    // Names first, so a fallback may name a pool defined further down.
    for (const auto& item : pools.items()) {
        if (item.key() != "$comment") {
            zone.pools.emplace_back().name = item.key();
        }
    }
    const Index index = index_of(zone.pools);
    size_t i = 0;
    for (const auto& [name, p] : pools.items()) {
        if (name == "$comment") {
            continue;
        }
        const std::string ptr = ptr_join("/pools", name);
        zone.pools[i] = parse_pool(ctx, name, p, ptr, zone, index);
        ++i;
    }
    check_fallback_cycles(ctx, zone);
    i = 0;
    for (const auto& [name, p] : pools.items()) {
        if (name == "$comment") {
            continue;
        }
        warn_pool(ctx, zone.pools[i], p, ptr_join("/pools", name));
        ++i;
    }
}

}  // namespace dnslb::zone::detail
