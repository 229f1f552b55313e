// Mapping (gdnsd.config(5), gdnsd-plugin-{geoip,metafo,multifo,http_status,tcp_connect}(8)):
//   multifo resource        -> pool, steering random, one origin per address, answers = all,
//                              min_healthy = ceil(up_thresh x addresses) (below it: all)
//   metafo resource         -> pool, steering failover, one origin per datacenter
//   geoip resource          -> pool, one origin per datacenter: steering proximity with
//                              auto_dc_coords, geo with a continent/country map, else failover
//   res/dc (synthetic)      -> pool "res.dc" of that datacenter alone
//   service_types           -> monitors (http_status: http, tcp_connect: tcp)
//   DYNA/DYNC MAX[/MIN] TTL -> the name's ttl = MAX, the pool's ttl_degraded = MIN
// Everything else (CNAME results, subdivision and city maps, nets, extmon, ...) is reported.
#include "dnslb/import/gdnsd.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include "dnslb/base/concat.hpp"
#include "dnslb/import/import.hpp"
#include "dnslb/import/master_file.hpp"
#include "dnslb/import/vscf.hpp"
#include "dnslb/import/zone_json.hpp"

namespace dnslb::import {

namespace {

constexpr size_t kMaxAnswers = 16;  // a pool's answers, as the zone loader allows

bool is_address(const std::string& s) {
    unsigned char buf[16];
    return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool is_v6(const std::string& s) { return s.find(':') != std::string::npos; }

std::vector<std::string> string_list(const Json& v) {
    std::vector<std::string> out;
    if (v.is_string()) {
        out.push_back(v.get<std::string>());
    } else if (v.is_array()) {
        for (const auto& e : v) {
            if (e.is_string()) {
                out.push_back(e.get<std::string>());
            }
        }
    }
    return out;
}

std::optional<double> number(const Json& v) {
    if (!v.is_string()) {
        return std::nullopt;
    }
    const std::string& s = v.get_ref<const std::string&>();
    char* end = nullptr;
    const double d = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || !std::isfinite(d)) {
        return std::nullopt;
    }
    return d;
}

bool is_continent(const std::string& c) {
    static const std::set<std::string> kCodes = {"AF", "AN", "AS", "EU", "NA", "OC", "SA"};
    return kCodes.count(c) != 0;
}

bool is_country(const std::string& c) {
    return c.size() == 2 && std::isupper(static_cast<unsigned char>(c[0])) != 0 &&
           std::isupper(static_cast<unsigned char>(c[1])) != 0;
}

// A converted resource: the pool and the monitors it names.
struct PoolSpec {  // NOLINT(bugprone-exception-escape): nlohmann::json moves do not throw
    Json pool;
    std::set<std::string> monitors;
    std::vector<std::string> notes;
    bool ok = false;  // has at least one origin
};

// The settings a resource inherits (plugin level -> resource -> datacenter), as metafo and
// geoip pass them down to the multifo resources they synthesize.
using Inherited = std::map<std::string, Json>;

// One converted zone: its name, file text and notes.
struct ZoneOut {
    std::string zone;
    std::string text;
    std::vector<std::string> notes;
};

class Gdnsd {
public:
    explicit Gdnsd(std::string dir) : dir_(std::move(dir)) {}
    void load_config();
    int run(const std::string& output_dir);

private:
    std::optional<std::string> monitor_for(const Json& service_types, const std::string& where,
                                           PoolSpec& spec);
    void add_monitor_notes(const std::string& name, PoolSpec& spec);
    // The addresses of one datacenter (or multifo resource) as labelled origins.
    bool addresses(const Json& v, const std::string& where, Inherited inh,
                   std::vector<std::pair<std::string, std::string>>& out, Json& service_types,
                   PoolSpec& spec);
    PoolSpec multifo(const std::string& name, const Json& res);
    PoolSpec meta(const std::string& plugin, const std::string& name, const std::string& only_dc);
    PoolSpec resolve(const std::string& target);
    Json origin_from_dc(const std::string& plugin, const std::string& res, const std::string& dc,
                        const Json& value, const Inherited& inh, PoolSpec& spec,
                        std::optional<std::string>& monitor);
    void geo_map(const Json& map, const std::vector<std::string>& dcs, const std::string& where,
                 PoolSpec& spec);
    void bind(const SourceRecord& r, Json& zone, std::vector<std::string>& notes);
    ZoneOut convert_zone(const std::string& file);

    std::string dir_;
    Json config_;
    Json service_types_ = Json::object();
    Json plugins_ = Json::object();
    uint32_t default_ttl_ = 86400;     // gdnsd's zones_default_ttl
    std::vector<std::string> report_;  // configuration-wide: in every zone's notes
    std::map<std::string, Json> monitors_;
    std::map<std::string, std::vector<std::string>> monitor_notes_;
    std::map<std::string, PoolSpec> pools_;  // by target
};

void Gdnsd::load_config() {
    const std::string path = (std::filesystem::path(dir_) / "config").string();
    if (std::filesystem::exists(path)) {
        config_ = parse_vscf_file(path);
    } else {
        config_ = Json::object();
        report_.push_back(path + ": no such file; converting the zones without resources");
    }
    for (const auto& [key, value] : config_.items()) {
        if (key == "service_types" && value.is_object()) {
            service_types_ = value;
        } else if (key == "plugins" && value.is_object()) {
            plugins_ = value;
        } else if (key == "options" && value.is_object()) {
            for (const auto& [opt, v] : value.items()) {
                if (opt == "zones_default_ttl" && number(v)) {
                    default_ttl_ = static_cast<uint32_t>(*number(v));
                } else {
                    report_.push_back("config: options/" + opt +
                                      ": a server setting, not converted (see dnslb.json(5))");
                }
            }
        } else {
            report_.push_back("config: '" + key + "' is not converted");
        }
    }
    for (const auto& [name, t] : service_types_.items()) {
        const std::string plugin = t.is_object() ? t.value("plugin", "") : "";
        if (plugin != "http_status" && plugin != "tcp_connect") {
            report_.push_back(
                base::concat("config: service_types/", name, ": plugin '", plugin,
                             "' has no equivalent (dnslb monitors: tcp, http, https, dns)"));
        }
    }
    for (const auto& [plugin, v] : plugins_.items()) {
        if (plugin != "geoip" && plugin != "metafo" && plugin != "multifo") {
            report_.push_back("config: plugins/" + plugin +
                              ": no dnslb equivalent; names using it are not converted");
        }
    }
}

void Gdnsd::add_monitor_notes(const std::string& name, PoolSpec& spec) {
    for (const auto& n : monitor_notes_[name]) {
        spec.notes.push_back(n);
    }
}

// A service type as a dnslb monitor; nullopt for "up" (not monitored) and for what has no
// equivalent (reported).
std::optional<std::string> Gdnsd::monitor_for(const Json& service_types, const std::string& where,
                                              PoolSpec& spec) {
    std::vector<std::string> names = string_list(service_types);
    if (names.empty()) {
        names.push_back("default");  // multifo's documented default
    }
    if (names.size() > 1) {
        spec.notes.push_back(where + ": service_types [" + names[0] + ", ...]: dnslb checks an " +
                             "origin with one monitor; only '" + names[0] + "' is converted");
    }
    const std::string& st = names[0];
    if (st == "up" || (st == "default" && !service_types_.contains("default"))) {
        return std::nullopt;
    }
    if (st == "down") {
        spec.notes.push_back(where + ": service type 'down' (always down) has no equivalent; " +
                             "set the origins down with POST /origins/POOL/ORIGIN/override");
        return std::nullopt;
    }
    if (monitors_.count(st) != 0) {
        add_monitor_notes(st, spec);
        return st;
    }
    const auto it = service_types_.find(st);
    if (it == service_types_.end() || !it->is_object()) {
        spec.notes.push_back(where + ": service type '" + st + "' is not defined; not monitored");
        return std::nullopt;
    }
    const Json& t = *it;
    const std::string plugin = t.value("plugin", "");
    Json m = Json::object();
    std::vector<std::string>& notes = monitor_notes_[st];
    const std::string at = "service_types/" + st;
    if (plugin == "http_status") {
        m["type"] = "http";
        m["port"] = 80;
    } else if (plugin == "tcp_connect") {
        m["type"] = "tcp";
    } else {
        spec.notes.push_back("config: " + at + ": plugin '" + plugin +
                             "' has no equivalent (dnslb monitors: tcp, http, https, dns)");
        return std::nullopt;
    }
    double interval = 10;
    std::optional<double> timeout;
    for (const auto& [key, v] : t.items()) {
        const auto n = number(v);
        if (key == "plugin") {
            continue;
        }
        if (key == "port" && n) {
            m["port"] = static_cast<int>(*n);
        } else if (key == "url_path" && plugin == "http_status" && v.is_string()) {
            m["path"] = v;
        } else if (key == "vhost" && plugin == "http_status" && v.is_string()) {
            m["host"] = v;
        } else if (key == "ok_codes" && plugin == "http_status") {
            m["expect"] = string_list(v);
        } else if (key == "interval" && n) {
            interval = *n;
        } else if (key == "timeout" && n) {
            timeout = *n;
        } else if ((key == "up_thresh" || key == "down_thresh") && n) {
            const auto count = static_cast<int64_t>(*n);
            m[key == "up_thresh" ? "rise" : "fall"] = std::clamp<int64_t>(count, 1, 1000);
            if (count > 1000) {
                notes.push_back(base::concat(at, ": ", key, " ", std::to_string(count),
                                             " lowered to 1000, dnslb's limit"));
            }
        } else if (key == "ok_thresh") {
            notes.push_back(at + ": ok_thresh has no equivalent (dnslb goes down after 'fall' " +
                            "consecutive failures; gdnsd's down_thresh counts failures until " +
                            "ok_thresh successes in a row reset them)");
        } else {
            notes.push_back(base::concat(at, ": '", key, "' is not converted"));
        }
    }
    if (!t.contains("up_thresh")) {
        m["rise"] = 20;  // gdnsd's defaults, which differ from dnslb's
    }
    if (!t.contains("down_thresh")) {
        m["fall"] = 10;
    }
    if (plugin == "tcp_connect" && !m.contains("port")) {
        spec.notes.push_back(at + ": tcp_connect without a port; not monitored");
        return std::nullopt;
    }
    m["interval"] = interval;
    m["timeout"] = timeout.value_or(interval / 2);
    monitors_[st] = m;
    add_monitor_notes(st, spec);
    return st;
}

// `v`: an address, a list of addresses, or a hash of label => address with addrs_v4/addrs_v6
// and inherited settings (multifo's resource syntax).
bool Gdnsd::addresses(const Json& v, const std::string& where, Inherited inh,
                      std::vector<std::pair<std::string, std::string>>& out, Json& service_types,
                      PoolSpec& spec) {
    auto add = [&](const std::string& label, const std::string& a, const std::string& suffix) {
        std::string l = label;
        for (const auto& [have, addr] : out) {
            if (have == l) {
                l = label + suffix;
            }
        }
        out.emplace_back(l, a);
    };
    if (v.is_string() || v.is_array()) {
        const auto list = string_list(v);
        for (size_t i = 0; i < list.size(); ++i) {
            if (!is_address(list[i])) {
                return false;
            }
            add(std::to_string(i + 1), list[i], is_v6(list[i]) ? "-v6" : "-v4");
        }
        service_types = inh.count("service_types") != 0 ? inh["service_types"] : Json();
        return !list.empty();
    }
    if (!v.is_object()) {
        return false;
    }
    for (const auto& [key, value] : v.items()) {
        if (key == "service_types" || key == "up_thresh" || key == "ignore_health" ||
            key == "plugin") {
            inh[key] = value;
        }
    }
    service_types = inh.count("service_types") != 0 ? inh["service_types"] : Json();
    if (inh.count("ignore_health") != 0) {
        spec.notes.push_back(where + ": ignore_health has no equivalent; not converted");
    }
    for (const auto& [key, value] : v.items()) {
        if (key == "service_types" || key == "up_thresh" || key == "ignore_health" ||
            key == "plugin") {
            continue;
        }
        if (key == "addrs_v4" || key == "addrs_v6") {
            std::vector<std::pair<std::string, std::string>> sub;
            Json sub_st;
            const std::string at = base::concat(where, "/", key);
            if (!addresses(value, at, inh, sub, sub_st, spec)) {
                spec.notes.push_back(at + ": not a list of addresses");
                continue;
            }
            if (!sub_st.is_null() && sub_st != service_types) {
                spec.notes.push_back(
                    at + ": its own service_types are not converted (the resource's apply)");
            }
            for (const auto& [l, a] : sub) {
                add(l, a, key == "addrs_v6" ? "-v6" : "-v4");
            }
        } else if (value.is_string() && is_address(value.get<std::string>())) {
            add(key, value.get<std::string>(), "-2");
        } else {
            spec.notes.push_back(base::concat(where, "/", key, ": '", value.dump(),
                                              "' is not an address; not converted"));
        }
    }
    return !out.empty();
}

// multifo: every non-down address answers; below ceil(up_thresh x total) up, all of them.
PoolSpec Gdnsd::multifo(const std::string& name, const Json& res) {
    PoolSpec spec;
    const std::string where = "plugins/multifo/" + name;
    Inherited inh;
    for (const auto& [key, v] : plugins_["multifo"].items()) {
        if (key == "service_types" || key == "up_thresh" || key == "ignore_health") {
            inh[key] = v;
        }
    }
    std::vector<std::pair<std::string, std::string>> addrs;
    Json st;
    if (!addresses(res, where, inh, addrs, st, spec)) {
        spec.notes.push_back(where + ": no addresses; not converted");
        return spec;
    }
    Json& pool = spec.pool;
    pool["steering"] = "random";
    pool["answers"] = std::min(addrs.size(), kMaxAnswers);
    if (addrs.size() > kMaxAnswers) {
        spec.notes.push_back(where + ": " + std::to_string(addrs.size()) +
                             " addresses; dnslb answers at most 16 at a time");
    }
    double thresh = 0.5;
    const Json up = res.is_object() && res.contains("up_thresh") ? res["up_thresh"]
                    : inh.count("up_thresh") != 0                ? inh["up_thresh"]
                                                                 : Json();
    if (number(up)) {
        thresh = *number(up);
    }
    size_t v4 = 0;
    size_t v6 = 0;
    for (const auto& [l, a] : addrs) {
        (is_v6(a) ? v6 : v4) += 1;
    }
    const auto need =
        static_cast<size_t>(std::ceil(thresh * static_cast<double>(std::max(v4, v6))));
    if (need > 1) {
        pool["min_healthy"] = need;
    }
    if (v4 != 0 && v6 != 0 && v4 != v6 && need > 1) {
        spec.notes.push_back(where + ": up_thresh is applied as " + std::to_string(need) +
                             " healthy origins to both address families");
    }
    if (const auto m = monitor_for(st, where, spec)) {
        pool["monitor"] = *m;
        spec.monitors.insert(*m);
    }
    Json origins = Json::object();
    for (const auto& [l, a] : addrs) {
        origins[l] = Json{{"addresses", Json::array({a})}};
    }
    pool["origins"] = std::move(origins);
    spec.ok = true;
    return spec;
}

// One datacenter of a metafo or geoip resource as an origin (null when it has no equivalent).
Json Gdnsd::origin_from_dc(const std::string& plugin, const std::string& res, const std::string& dc,
                           const Json& value, const Inherited& inh, PoolSpec& spec,
                           std::optional<std::string>& monitor) {
    const std::string where = "plugins/" + plugin + "/resources/" + res + "/dcmap/" + dc;
    std::vector<std::pair<std::string, std::string>> addrs;
    Json st;
    if (value.is_string()) {
        const std::string s = value.get<std::string>();
        if (s.find('!') != std::string::npos) {
            std::string target = s[0] == '%' ? s.substr(1) : s;
            const auto it = inh.find("plugin");
            if (target[0] == '!') {
                target = (it != inh.end() && it->second.is_string() ? it->second.get<std::string>()
                                                                    : std::string("multifo")) +
                         target;
            }
            const std::string p = target.substr(0, target.find('!'));
            const std::string r = target.substr(target.find('!') + 1);
            if (p != "multifo" || !plugins_["multifo"].contains(r)) {
                spec.notes.push_back(where + ": '" + s + "': only references to multifo " +
                                     "resources are converted; datacenter left out");
                return Json();
            }
            PoolSpec sub = multifo(r, plugins_["multifo"][r]);
            spec.notes.insert(spec.notes.end(), sub.notes.begin(), sub.notes.end());
            if (!sub.ok) {
                return Json();
            }
            Json origin = Json::object();
            origin["addresses"] = Json::array();
            for (const auto& [l, o] : sub.pool["origins"].items()) {
                origin["addresses"].push_back(o["addresses"][0]);
            }
            if (sub.pool.contains("monitor")) {
                monitor = sub.pool["monitor"].get<std::string>();
                spec.monitors.insert(*monitor);
            }
            return origin;
        }
        if (!is_address(s)) {
            spec.notes.push_back(where + ": CNAME result '" + s + "' has no equivalent (pools " +
                                 "answer addresses); datacenter left out");
            return Json();
        }
    }
    if (value.is_object()) {
        const auto p = value.contains("plugin")   ? value["plugin"]
                       : inh.count("plugin") != 0 ? inh.at("plugin")
                                                  : Json("multifo");
        if (p != "multifo") {
            spec.notes.push_back(where + ": plugin " + p.dump() +
                                 " has no equivalent; datacenter left out");
            return Json();
        }
    }
    if (!addresses(value, where, inh, addrs, st, spec)) {
        spec.notes.push_back(where + ": no addresses; datacenter left out");
        return Json();
    }
    if (value.is_object() && value.contains("up_thresh")) {
        spec.notes.push_back(where + ": up_thresh within a datacenter has no equivalent (an " +
                             "origin is up while one of its addresses is)");
    }
    monitor = monitor_for(st, where, spec);
    if (monitor) {
        spec.monitors.insert(*monitor);
    }
    Json origin = Json::object();
    origin["addresses"] = Json::array();
    for (const auto& [l, a] : addrs) {
        origin["addresses"].push_back(a);
    }
    return origin;
}

// A geoip map's continent/country hierarchy as a dnslb geo map.
void Gdnsd::geo_map(const Json& map, const std::vector<std::string>& dcs, const std::string& where,
                    PoolSpec& spec) {
    Json geo = Json::object();
    auto list = [&](const Json& v, const std::string& at) -> std::optional<Json> {
        Json out = Json::array();
        for (const auto& dc : string_list(v)) {
            if (std::find(dcs.begin(), dcs.end(), dc) != dcs.end()) {
                out.push_back(dc);
            }
        }
        if (out.empty()) {
            spec.notes.push_back(where + "/" + at +
                                 ": no datacenter of this resource (gdnsd answers NODATA " +
                                 "there); not converted, the default applies");
            return std::nullopt;
        }
        return out;
    };
    for (const auto& [cont, v] : map.items()) {
        if (cont == "default") {
            if (auto l = list(v, cont)) {
                geo["default"] = *l;
            }
            continue;
        }
        if (!is_continent(cont)) {
            spec.notes.push_back(
                base::concat(where, "/", cont, ": not a continent code; not converted"));
            continue;
        }
        if (!v.is_object()) {
            if (auto l = list(v, cont)) {
                geo["continents"][cont] = *l;
            }
            continue;
        }
        for (const auto& [cc, cv] : v.items()) {
            const std::string at = base::concat(cont, "/", cc);
            if (cc == "default") {
                if (auto l = list(cv, at)) {
                    geo["continents"][cont] = *l;
                }
            } else if (!is_country(cc)) {
                spec.notes.push_back(
                    base::concat(where, "/", at, ": not a country code; not converted"));
            } else if (!cv.is_object()) {
                if (auto l = list(cv, at)) {
                    geo["countries"][cc] = *l;
                }
            } else {
                if (cv.contains("default")) {
                    if (auto l = list(cv["default"], at + "/default")) {
                        geo["countries"][cc] = *l;
                    }
                }
                for (const auto& [sub, sv] : cv.items()) {
                    if (sub != "default") {
                        spec.notes.push_back(base::concat(
                            where, "/", at, "/", sub,
                            ": subdivision and city entries have no equivalent (dnslb maps "
                            "countries and continents); not converted"));
                    }
                }
            }
        }
    }
    spec.pool["steering"] = "geo";
    spec.pool["geo"] = std::move(geo);
}

// gdnsd picks the datacenter first and answers its addresses of the asked family, none if it
// has none; a dnslb pool picks among the origins that have the family.
void note_families(const Json& origins, const std::string& where, PoolSpec& spec) {
    for (const bool v6 : {false, true}) {
        std::string without;
        bool some_with = false;
        for (const auto& [dc, o] : origins.items()) {
            const bool has =
                std::any_of(o["addresses"].begin(), o["addresses"].end(),
                            [&](const Json& a) { return is_v6(a.get<std::string>()) == v6; });
            some_with = some_with || has;
            if (!has) {
                without += (without.empty() ? "" : ", ") + dc;
            }
        }
        if (some_with && !without.empty()) {
            spec.notes.push_back(base::concat(
                where, ": ", without, " without ", v6 ? "IPv6" : "IPv4", ": gdnsd answers ",
                v6 ? "AAAA" : "A",
                " queries steered there with no address, dnslb from the next datacenter that "
                "has one"));
        }
    }
}

// metafo and geoip: datacenters in order, each from the dcmap; `only_dc` for "res/dc".
PoolSpec Gdnsd::meta(const std::string& plugin, const std::string& name,
                     const std::string& only_dc) {
    PoolSpec spec;
    const Json& top = plugins_[plugin];
    const std::string where = "plugins/" + plugin + "/resources/" + name;
    const auto rit = top.contains("resources") ? top["resources"].find(name) : top.end();
    if (!top.contains("resources") || rit == top["resources"].end() || !rit->is_object()) {
        spec.notes.push_back(where + ": no such resource");
        return spec;
    }
    const Json& res = *rit;
    Inherited inh;
    for (const Json* level : {&top, &res}) {
        for (const auto& [key, v] : level->items()) {
            if (key != "resources" && key != "maps" && key != "datacenters" && key != "dcmap" &&
                key != "map" && key != "skip_first" && key != "undefined_datacenters_ok") {
                inh[key] = v;
            }
        }
    }
    if (res.value("skip_first", "false") == "true") {
        spec.notes.push_back(where + ": skip_first has no equivalent; not converted");
    }
    std::vector<std::string> dcs;
    const Json* map = nullptr;
    std::string map_where;
    if (plugin == "geoip") {
        const std::string map_name = res.value("map", "");
        map_where = "plugins/geoip/maps/" + map_name;
        if (!top.contains("maps") || !top["maps"].contains(map_name)) {
            spec.notes.push_back(where + ": map '" + map_name + "' is not defined");
            return spec;
        }
        map = &top["maps"][map_name];
        dcs = string_list(map->value("datacenters", Json()));
    } else {
        dcs = string_list(res.value("datacenters", Json()));
    }
    const Json dcmap = res.value("dcmap", Json::object());
    Json origins = Json::object();
    std::vector<std::string> defined;
    std::vector<std::optional<std::string>> monitors;
    for (const auto& dc : dcs) {
        if (!only_dc.empty() && dc != only_dc) {
            continue;
        }
        if (!dcmap.contains(dc)) {
            spec.notes.push_back(
                base::concat(where, "/dcmap: datacenter '", dc, "' is not defined"));
            continue;
        }
        std::optional<std::string> monitor;
        Json o = origin_from_dc(plugin, name, dc, dcmap[dc], inh, spec, monitor);
        if (o.is_null()) {
            continue;
        }
        origins[dc] = std::move(o);
        defined.push_back(dc);
        monitors.push_back(monitor);
    }
    if (origins.empty()) {
        spec.notes.push_back(where + (only_dc.empty() ? "" : "/" + only_dc) +
                             ": no datacenter with addresses; not converted");
        return spec;
    }
    // One monitor for the pool when every datacenter has the same, else per origin.
    const bool same = std::all_of(monitors.begin(), monitors.end(),
                                  [&](const auto& m) { return m == monitors.front(); });
    if (same && monitors.front()) {
        spec.pool["monitor"] = *monitors.front();
    } else if (!same) {
        for (size_t i = 0; i < defined.size(); ++i) {
            if (monitors[i]) {
                origins[defined[i]]["monitor"] = *monitors[i];
            }
        }
    }
    note_families(origins, where, spec);
    spec.pool["steering"] = "failover";
    if (map != nullptr && only_dc.empty()) {
        for (const auto& [key, v] : map->items()) {
            if (key == "geoip2_db") {
                spec.notes.push_back(map_where + ": geoip2_db " + v.dump() + ": give dnslb the " +
                                     "database with --geoip (GeoIP2 or DB-IP City)");
            } else if (key == "nets") {
                spec.notes.push_back(map_where + ": nets (networks to datacenters) has no " +
                                     "equivalent; dnslb.json 'nets' places networks at a " +
                                     "location instead");
            } else if (key != "datacenters" && key != "map" && key != "auto_dc_coords") {
                spec.notes.push_back(base::concat(map_where, ": ", key, " is not converted"));
            }
        }
        if (map->contains("auto_dc_coords")) {
            spec.pool["steering"] = "proximity";
            for (const auto& [dc, coords] : (*map)["auto_dc_coords"].items()) {
                const auto ll = string_list(coords);
                if (!origins.contains(dc) || ll.size() != 2 || !number(Json(ll[0])) ||
                    !number(Json(ll[1]))) {
                    continue;
                }
                origins[dc]["lat"] = *number(Json(ll[0]));
                origins[dc]["lon"] = *number(Json(ll[1]));
            }
            if (map->contains("map")) {
                spec.notes.push_back(map_where + "/map: beside auto_dc_coords not converted " +
                                     "(dnslb steers by distance alone)");
            }
        } else if (map->contains("map") && (*map)["map"].is_object()) {
            geo_map((*map)["map"], defined, map_where + "/map", spec);
        }
    }
    spec.pool["origins"] = std::move(origins);
    spec.ok = true;
    return spec;
}

PoolSpec Gdnsd::resolve(const std::string& target) {
    const auto it = pools_.find(target);
    if (it != pools_.end()) {
        return it->second;
    }
    PoolSpec spec;
    const size_t bang = target.find('!');
    const std::string plugin = target.substr(0, bang);
    const std::string res = bang == std::string::npos ? "" : target.substr(bang + 1);
    if (!plugins_.contains(plugin)) {
        spec.notes.push_back("'" + target + "': plugin '" + plugin + "' is not configured");
    } else if (plugin == "multifo") {
        if (plugins_["multifo"].contains(res) && plugins_["multifo"][res].is_object()) {
            spec = multifo(res, plugins_["multifo"][res]);
        } else {
            spec.notes.push_back("'" + target + "': no such multifo resource");
        }
    } else if (plugin == "metafo" || plugin == "geoip") {
        const size_t slash = res.find('/');
        spec = meta(plugin, res.substr(0, slash),
                    slash == std::string::npos ? "" : res.substr(slash + 1));
    } else {
        spec.notes.push_back("'" + target + "': plugin '" + plugin + "' has no equivalent");
    }
    pools_[target] = spec;
    return spec;
}

// A pool name for a target: "geoip!prod_www/dc-01" -> "prod_www.dc-01" (pool names are a
// segment of the API's override URL).
std::string pool_name(const std::string& target) {
    const size_t bang = target.find('!');
    std::string name = bang == std::string::npos ? target : target.substr(bang + 1);
    std::replace(name.begin(), name.end(), '/', '.');  // a path segment in the API
    return name;
}

// DYNA/DYNC TTL "MAX[/MIN]" (gdnsd.zonefile(5)); MIN defaults to MAX/2.
std::pair<uint32_t, uint32_t> dynamic_ttl(const DynamicRecord& d) {
    if (d.ttl.empty()) {
        return {d.default_ttl, d.default_ttl / 2};
    }
    const auto max_ttl = static_cast<uint32_t>(std::strtoul(d.ttl.c_str(), nullptr, 10));
    const size_t slash = d.ttl.find('/');
    if (slash == std::string::npos) {
        return {max_ttl, max_ttl / 2};
    }
    return {max_ttl, static_cast<uint32_t>(std::strtoul(d.ttl.c_str() + slash + 1, nullptr, 10))};
}

// Binds a DYNA/DYNC name to the pool of its resource, adding the pool and its monitors.
void Gdnsd::bind(const SourceRecord& r, Json& zone, std::vector<std::string>& notes) {
    const DynamicRecord& d = r.dynamic;
    const std::string at = r.place.str() + ": " + d.type + " " + d.target;
    const PoolSpec spec = resolve(d.target);
    notes.insert(notes.end(), spec.notes.begin(), spec.notes.end());
    if (!spec.ok) {
        notes.push_back(at + ": not converted");
        return;
    }
    const std::string pname = pool_name(d.target);
    const auto [max_ttl, min_ttl] = dynamic_ttl(d);
    if (!zone.contains("pools") || !zone["pools"].contains(pname)) {
        Json pool = spec.pool;
        pool["ttl"] = max_ttl;
        // gdnsd shortens the TTL towards MIN while a monitored state may change.
        pool["ttl_degraded"] = min_ttl;
        zone["pools"][pname] = std::move(pool);
        for (const auto& m : spec.monitors) {
            zone["monitors"][m] = monitors_.at(m);
        }
    }
    ldns_rdf* origin = ldns_dname_new_frm_str(zone["origin"].get<std::string>().c_str());
    ldns_rdf* owner = ldns_dname_new_frm_str(d.owner.c_str());
    const std::string key =
        owner != nullptr && origin != nullptr ? relative_name(owner, origin) : d.owner;
    ldns_rdf_deep_free(owner);
    ldns_rdf_deep_free(origin);
    zone["records"][key]["pool"] = pname;
    zone["records"][key]["ttl"] = max_ttl;
    if (d.type == "DYNC") {
        notes.push_back(at + ": DYNC answers the pool's addresses (dnslb pools return no CNAME)");
    }
}

// One gdnsd zone file (named after its zone) to a checked dnslb zone file text.
ZoneOut Gdnsd::convert_zone(const std::string& file) {
    ZoneOut out;
    out.zone = std::filesystem::path(file).filename().string();
    ReadOptions ro;
    ro.origin = out.zone;
    ro.dynamic = true;
    ro.default_ttl = default_ttl_;
    const MasterFile mf = read_master_file(file, ro);
    std::vector<std::string> notes = report_;
    notes.insert(notes.end(), mf.notes.begin(), mf.notes.end());
    ZoneJson z = build_zone(mf.records, notes);
    for (const auto& r : mf.records) {
        if (!r.rr) {
            bind(r, z.zone, notes);
        }
    }
    for (auto& n : notes) {  // a resource used by several names reports once
        if (std::find(out.notes.begin(), out.notes.end(), n) == out.notes.end()) {
            out.notes.push_back(std::move(n));
        }
    }
    if (!out.notes.empty()) {
        z.zone["notes"] = out.notes;
    }
    out.text = zone_text(z.zone);
    verify(out.text, file, z.kept);
    return out;
}

std::vector<std::string> zone_files(const std::string& dir) {
    namespace fs = std::filesystem;
    std::vector<std::string> files;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (it->is_regular_file() && name[0] != '.' && name.back() != '~') {
            files.push_back(it->path().string());
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

int Gdnsd::run(const std::string& output_dir) {
    namespace fs = std::filesystem;
    const std::string zones_dir = (fs::path(dir_) / "zones").string();
    const std::vector<std::string> files = zone_files(zones_dir);
    if (files.empty()) {
        std::cerr << "error: " << zones_dir << ": no zone files\n";
        return 1;
    }
    if (output_dir.empty() && files.size() > 1) {
        std::cerr << "dnslb: import: " << files.size()
                  << " zones: give the directory to write them to with --output DIR\n";
        return 2;
    }
    std::vector<ZoneOut> out;  // every zone converts before any file is written
    for (const auto& file : files) {
        out.push_back(convert_zone(file));
        for (const auto& n : out.back().notes) {
            std::cerr << "note: " << out.back().zone << ": " << n << "\n";
        }
    }
    std::error_code ec;
    if (!output_dir.empty() && !fs::create_directories(output_dir, ec) && ec) {
        std::cerr << "error: " << output_dir << ": cannot create: " << ec.message() << "\n";
        return 1;
    }
    for (const auto& z : out) {
        if (output_dir.empty()) {
            std::cout << z.text << std::flush;
            continue;
        }
        const std::string path = (fs::path(output_dir) / (z.zone + ".json")).string();
        write_file_atomically(path, z.text);
        std::cerr << "wrote " << path << "\n";
    }
    return 0;
}

}  // namespace

int convert_gdnsd(const std::string& dir, const std::string& output_dir) {
    try {
        Gdnsd g(dir);
        g.load_config();
        return g.run(output_dir);
    } catch (const ImportError& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace dnslb::import
