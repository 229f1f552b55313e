#include "dnslb/answer/explain.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "dnslb/config/config.hpp"
#include "dnslb/dns/wire.hpp"
#include "dnslb/steering/steer.hpp"
#include "dnslb/zone/loader.hpp"

namespace dnslb::server {

namespace {

std::string fmt(const char* f, double a, double b) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), f, a, b);
    return buf;
}

std::string health_text(const zone::Address& a, const probes::HealthTable* health,
                        const std::string& monitor) {
    if (a.health < 0 || health == nullptr) {
        // Offline (dnslb explain) nothing has been checked: say so rather than claim "up".
        return monitor.empty() ? "up (not monitored)"
                               : "monitored by '" + monitor + "', state not checked here";
    }
    probes::CellSnapshot c = health->snapshot(a.health);
    std::string s = probes::state_name(c.state);
    if (c.override_state != probes::Override::kAuto) {
        s += " (manual override)";
    }
    if (c.cluster != probes::State::kUnknown) {
        // Cluster mode: the cluster's verdict and this node's own (every node's: /status).
        s += std::string(" (cluster verdict ") + probes::state_name(c.cluster) + ", this node " +
             (c.probing ? probes::state_name(c.probed) : "does not run the check") + ")";
    }
    if (!c.last_error.empty()) {
        s += ", last error: " + c.last_error;
    }
    return s;
}

void explain_family(const Snapshot& snap, const zone::Zone& z, const zone::Node& node,
                    const geo::Location& where, const Asker& asker, int family,
                    std::vector<std::string>& out) {
    uint64_t subnet =
        steering::client_subnet_hash(asker.addr, asker.family, asker.ecs, asker.prefix);
    steering::Decision d = steering::steer(z, node.pool, where, subnet, family, snap.health);
    const char* type = family == 4 ? "A" : "AAAA";
    if (d.kind == steering::Decision::Kind::kServFail) {
        out.push_back(std::string(type) + ": SERVFAIL (every origin down, all_down servfail)");
        return;
    }
    if (d.kind == steering::Decision::Kind::kNoData || d.count == 0) {
        out.push_back(std::string(type) + ": NODATA (no usable origin with this family)");
        return;
    }
    const zone::Pool& pool = z.pools[static_cast<size_t>(d.pool)];
    std::string answer = std::string(type) + " answer from pool " + pool.name + ":";
    for (uint8_t i = 0; i < d.count; ++i) {
        const zone::Origin& o = pool.origins[d.origins[i]];
        answer += " " + o.name + " [";
        bool first = true;
        for (const auto& a : o.addresses) {
            if (a.family == family && (d.all_down || steering::address_up(a, snap.health))) {
                answer += (first ? "" : " ") + a.text;
                first = false;
            }
        }
        answer += "]";
    }
    if (d.all_down) {
        answer += " (every origin down: returning all, fail open)";
    } else if (d.pool != node.pool) {
        answer += " (fallback)";
    }
    // The scope the responder sends (the same function decides it there).
    const uint8_t scope = steering::answer_scope(z, d, asker, where.prefix_len);
    answer += asker.ecs ? ", ECS scope /" + std::to_string(scope) : "";
    out.push_back(answer);
}

}  // namespace

Asker parse_asker(const std::string& text, bool subnet) {
    Asker a;
    uint8_t fam = 0;
    config::parse_cidr(text, fam, a.addr, a.prefix);
    a.family = fam;
    a.ecs = subnet;
    if (!subnet && a.prefix != (fam == 4 ? 32 : 128)) {
        throw std::invalid_argument("'" + text + "': --client takes an address, not a network");
    }
    return a;
}

std::vector<std::string> explain_wire(const Snapshot& snap, const uint8_t* lower, size_t len,
                                      const Asker& asker) {
    std::vector<std::string> out;
    std::string name_text = zone::wire_to_text({reinterpret_cast<const char*>(lower), len});
    const zone::Zone* z = snap.find_zone(lower, len);
    if (z == nullptr) {
        out.push_back(name_text + ": not in any zone served here (REFUSED)");
        return out;
    }
    const zone::Node* node = z->find({reinterpret_cast<const char*>(lower), len});
    if (node == nullptr || node->pool < 0) {
        out.push_back(name_text + ": in zone " + z->origin_text + " (" + z->file +
                      "), not load-balanced: static records, same answer for every asker");
        return out;
    }
    const zone::Pool& pool = z->pools[static_cast<size_t>(node->pool)];
    out.push_back(name_text + ": zone " + z->origin_text + ", pool " + pool.name + " (" +
                  steering::steering_name(pool.steering) + ", answers " +
                  std::to_string(pool.answers) + ", ttl " +
                  std::to_string(node->pool_ttl_s ? node->pool_ttl_s : pool.ttl_s) + ")");
    geo::Location where;
    std::string placed = "asker not placed (no geo database)";
    if (asker.ecs && asker.prefix == 0) {
        placed = "ECS source prefix 0: no location used";
    } else if (snap.geo != nullptr) {
        where = snap.geo->lookup(asker.family, asker.addr, asker.prefix);
        placed = snap.geo->describe(asker.family, asker.addr, asker.prefix);
    }
    out.push_back("asker: " + placed);
    for (const auto& o : pool.origins) {
        std::string line = "origin " + o.name;
        if (o.has_location && where.has_coords) {
            double km = geo::distance_km(where.lat, where.lon, o.lat, o.lon);
            line += fmt(" distance %.0f km", km, 0);
        } else if (!o.has_location) {
            line += " (no coordinates)";
        }
        int32_t mon = o.monitor >= 0 ? o.monitor : pool.monitor;
        std::string monitor = mon >= 0 ? z->monitors[static_cast<size_t>(mon)].name : "";
        for (const auto& a : o.addresses) {
            line += "; " + a.text + " " + health_text(a, snap.health, monitor);
        }
        out.push_back(line);
    }
    bool v6 = false;
    for (const auto& o : pool.origins) {
        for (const auto& a : o.addresses) {
            v6 = v6 || a.family == 6;
        }
    }
    explain_family(snap, *z, *node, where, asker, 4, out);
    if (v6) {
        explain_family(snap, *z, *node, where, asker, 6, out);
    }
    return out;
}

std::vector<std::string> explain(const Snapshot& snap, const std::string& name,
                                 const Asker& asker) {
    std::string abs = name.empty() || name.back() != '.' ? name + "." : name;
    std::string wire = zone::name_to_wire(abs);
    return explain_wire(snap, reinterpret_cast<const uint8_t*>(wire.data()), wire.size(), asker);
}

}  // namespace dnslb::server
