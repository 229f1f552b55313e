// The dashboard's endpoints: the recorded demand, the planner on it, and the page's files.
#include <cstring>
#include <sstream>

#include <nlohmann/json.hpp>

#include "dnslb/api/http_api.hpp"
#include "dnslb/api/page_assets.hpp"
#include "dnslb/plan/plan.hpp"

namespace dnslb::api {

namespace {

using nlohmann::json;

bool same_zone(const std::string& asked, const std::string& origin_text) {
    if (asked.empty()) {
        return true;
    }
    std::string a = asked;
    if (a.back() != '.') {
        a += '.';
    }
    return strcasecmp(a.c_str(), origin_text.c_str()) == 0;
}

// The located origins of a pool as planner sites, and the zone they were found in.
bool pool_sites(const server::Snapshot& snap, const std::string& zone, const std::string& pool,
                std::vector<plan::Site>& sites, std::string& found_zone) {
    for (const auto& z : snap.zones) {
        if (!same_zone(zone, z->origin_text)) {
            continue;
        }
        for (const auto& p : z->pools) {
            if (p.name != pool) {
                continue;
            }
            for (const auto& o : p.origins) {
                if (o.has_location) {
                    sites.push_back(plan::Site{o.name, o.lat, o.lon});
                }
            }
            found_zone = z->origin_text;
            return true;
        }
    }
    return false;
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, sep)) {
        if (!item.empty()) {
            out.push_back(item);
        }
    }
    return out;
}

}  // namespace

HttpApi::Response HttpApi::demand_view() {
    Response r;
    r.content_type = "application/json";
    const plan::DemandBook* book = control_.demand();
    if (book == nullptr) {
        r.status = 404;
        r.body =
            "{\"error\": \"demand recording is off (\\\"demand\\\": {\\\"networks\\\": 0})\"}\n";
        return r;
    }
    json j = json::parse(book->json());
    json pools = json::array();
    {
        std::lock_guard lock(control_.state().mutex);
        if (const server::Snapshot* snap = control_.snapshots().load(); snap != nullptr) {
            for (const auto& z : snap->zones) {
                for (const auto& p : z->pools) {
                    json origins = json::array();
                    for (const auto& o : p.origins) {
                        json oj = {{"name", o.name}};
                        if (o.has_location) {
                            oj["lat"] = o.lat;
                            oj["lon"] = o.lon;
                        }
                        origins.push_back(oj);
                    }
                    pools.push_back(
                        {{"zone", z->origin_text}, {"pool", p.name}, {"origins", origins}});
                }
            }
        }
    }
    j["pools"] = pools;
    r.body = j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    return r;
}

HttpApi::Response HttpApi::plan_view(const std::string& body, const QueryFn& query) {
    Response r;
    r.content_type = "application/json";
    auto fail = [&r](unsigned status, const std::string& why) {
        r.status = status;
        r.body = json({{"error", why}}).dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
        return r;
    };
    const plan::DemandBook* book = control_.demand();
    if (book == nullptr) {
        return fail(404, "demand recording is off");
    }
    std::string pool;
    std::string zone;
    std::vector<plan::Site> add;
    std::vector<std::string> remove;
    double factor = plan::kDefaultRouteFactor;
    try {
        if (!body.empty()) {
            json j = json::parse(body);
            pool = j.value("pool", "");
            zone = j.value("zone", "");
            factor = j.value("route_factor", factor);
            for (const auto& a : j.value("add", json::array())) {
                add.push_back(plan::Site{a.at("name").get<std::string>(), a.at("lat").get<double>(),
                                         a.at("lon").get<double>()});
            }
            for (const auto& n : j.value("remove", json::array())) {
                remove.push_back(n.get<std::string>());
            }
        } else {
            pool = query("pool") != nullptr ? query("pool") : "";
            zone = query("zone") != nullptr ? query("zone") : "";
            if (const char* f = query("route_factor"); f != nullptr) {
                factor = std::stod(f);
            }
            for (const auto& a : split(query("add") != nullptr ? query("add") : "", ';')) {
                add.push_back(plan::parse_site(a));
            }
            remove = split(query("remove") != nullptr ? query("remove") : "", ',');
        }
    } catch (const std::exception& e) {
        return fail(400, e.what());
    }
    if (pool.empty()) {
        return fail(400, "plan needs a pool");
    }
    if (!(factor >= 1 && factor <= 10)) {
        return fail(400, "route_factor must be from 1 to 10");
    }
    for (const auto& s : add) {
        if (std::abs(s.lat) > 90 || std::abs(s.lon) > 180) {
            return fail(400, "coordinates out of range for " + s.name);
        }
    }
    std::vector<plan::Site> before;
    std::string found;
    {
        std::lock_guard lock(control_.state().mutex);
        const server::Snapshot* snap = control_.snapshots().load();
        if (snap == nullptr || !pool_sites(*snap, zone, pool, before, found)) {
            return fail(404, "no pool " + pool);
        }
    }
    try {
        std::vector<plan::Site> after = plan::apply(before, add, remove);
        plan::Result res = plan::compute(book->points(found, pool), before, after, factor);
        json j = json::parse(plan::render_json(res, before, after));
        j["zone"] = found;
        j["pool"] = pool;
        r.body = j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    } catch (const std::exception& e) {
        return fail(400, e.what());
    }
    return r;
}

bool HttpApi::page_asset(const std::string& url, Response& r) {
    const std::string path = url == "/" ? "/index.html" : url;
    for (const PageAsset& a : page_assets()) {
        if (path == a.path) {
            r.content_type = a.content_type;
            r.body.assign(reinterpret_cast<const char*>(a.data), a.size);
            return true;
        }
    }
    return false;
}

}  // namespace dnslb::api
