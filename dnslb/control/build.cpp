#include "dnslb/control/build.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "dnslb/answer/stats.hpp"
#include "dnslb/base/log.hpp"
#include "dnslb/control/sign.hpp"
#include "dnslb/zone/loader.hpp"

namespace dnslb::server {

int32_t OriginCounterIds::acquire(const std::string& zone, const std::string& pool,
                                  const std::string& origin) {
    std::string key = zone;
    key.append(1, '\0').append(pool).append(1, '\0').append(origin);
    if (auto it = ids_.find(key); it != ids_.end()) {
        return it->second;
    }
    if (ids_.size() >= Stats::kOriginCounters) {
        return -1;
    }
    auto id = static_cast<int32_t>(ids_.size());
    ids_.emplace(std::move(key), id);
    return id;
}

std::shared_ptr<const geo::Resolver> make_resolver(const config::Config& cfg) {
    auto r = std::make_shared<geo::Resolver>();
    for (const auto& path : cfg.geoip) {
        r->open_database(path);
    }
    for (const auto& net : cfg.nets) {
        r->add_net(net.cidr, net.where);
    }
    if (cfg.has_default_location) {
        r->set_default_location(cfg.default_lat, cfg.default_lon);
    }
    return r;
}

Options make_options(const config::Config& cfg) {
    Options o;
    o.chaos_version = cfg.chaos_version;
    o.chaos_id = cfg.chaos_id;
    for (const auto& cidr : cfg.explain_from) {
        Network n;
        config::parse_cidr(cidr, n.family, n.bytes, n.prefix);
        o.explain_from.push_back(n);
    }
    o.guard.rrl = cfg.guard.rrl;
    o.guard.cookies = cfg.guard.cookies;
    o.guard.attack = cfg.guard.attack;
    // Buckets are per worker and SO_REUSEPORT spreads a client's queries (random source ports)
    // over the workers: each worker enforces its share of the configured rate.
    const unsigned workers = config::worker_count(cfg);
    for (uint32_t* rate : {&o.guard.rrl.responses_per_second, &o.guard.rrl.nxdomains_per_second,
                           &o.guard.rrl.errors_per_second, &o.guard.rrl.referrals_per_second}) {
        *rate = std::max<uint32_t>(1, *rate / workers);
    }
    for (const auto& cidr : cfg.guard.rrl_exempt) {
        Network n;
        config::parse_cidr(cidr, n.family, n.bytes, n.prefix);
        o.rrl_exempt.push_back(n);
    }
    return o;
}

namespace {

std::string origin_label(const zone::Zone& z, const zone::Pool& p, const zone::Origin& o) {
    return "zone " + z.origin_text + " pool " + p.name + " origin " + o.name;
}

// Registers every monitored address of `zones` with the prober; writes the health cell ids into
// the zones that are still being built (`mutable_zones`; kept zones already hold theirs).
void attach_health(const std::vector<std::shared_ptr<const zone::Zone>>& all,
                   const std::vector<zone::Zone*>& mutable_zones, probes::ProberPool& prober) {
    std::vector<probes::CheckRequest> requests;
    std::vector<zone::Address*> targets;
    for (const auto& zp : all) {
        zone::Zone* writable = nullptr;
        for (zone::Zone* m : mutable_zones) {
            writable = m == zp.get() ? m : writable;
        }
        std::vector<probes::MonitorSpec> specs;
        for (const auto& m : zp->monitors) {
            specs.push_back(m.spec);
        }
        for (size_t pi = 0; pi < zp->pools.size(); ++pi) {
            const zone::Pool& pool = zp->pools[pi];
            for (size_t oi = 0; oi < pool.origins.size(); ++oi) {
                const zone::Origin& o = pool.origins[oi];
                int32_t mon = o.monitor >= 0 ? o.monitor : pool.monitor;
                if (mon < 0) {
                    continue;
                }
                for (size_t ai = 0; ai < o.addresses.size(); ++ai) {
                    const zone::Address& a = o.addresses[ai];
                    probes::CheckRequest req;
                    req.spec = specs[static_cast<size_t>(mon)];
                    req.family = a.family == 4 ? AF_INET : AF_INET6;
                    std::copy(a.bytes.begin(), a.bytes.end(), req.addr.begin());
                    req.addr_text = a.text;
                    req.label = origin_label(*zp, pool, o);
                    requests.push_back(std::move(req));
                    targets.push_back(writable != nullptr
                                          ? &writable->pools[pi].origins[oi].addresses[ai]
                                          : nullptr);
                }
            }
        }
    }
    std::vector<int32_t> cells = prober.set_checks(requests);
    for (size_t i = 0; i < targets.size(); ++i) {
        if (targets[i] != nullptr) {
            targets[i]->health = cells[i];
        }
    }
}

// The precomputed geo maps of every zone (steering/geomap.hpp): shared with `previous` for a zone
// and resolver it already had, built otherwise from one walk of the resolver's databases.
void attach_geo_maps(Snapshot& snap, const Snapshot* previous) {
    if (snap.geo == nullptr) {
        return;
    }
    std::optional<geo::Partition> part;
    snap.geo_maps.resize(snap.zones.size());
    for (size_t i = 0; i < snap.zones.size(); ++i) {
        const zone::Zone& z = *snap.zones[i];
        if (previous != nullptr && previous->geo == snap.geo) {
            for (size_t j = 0; j < previous->zones.size() && j < previous->geo_maps.size(); ++j) {
                if (previous->zones[j] == snap.zones[i] && previous->geo_maps[j] != nullptr) {
                    snap.geo_maps[i] = previous->geo_maps[j];
                }
            }
        }
        if (snap.geo_maps[i] != nullptr) {
            continue;
        }
        bool needed = false;
        for (size_t p = 0; p < z.pools.size(); ++p) {
            needed = needed || steering::chain_uses_location(z, static_cast<int32_t>(p));
        }
        if (!needed) {
            snap.geo_maps[i] = std::make_shared<steering::ZoneGeoMap>();
            continue;
        }
        const auto start = std::chrono::steady_clock::now();
        if (!part) {
            part = snap.geo->walk();
            const double ms =
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count();
            char line[200];
            std::snprintf(line, sizeof line,
                          "geo walk: %zu IPv4 and %zu IPv6 networks, %zu records in %.0f ms",
                          part->v4_networks, part->v6_networks, part->records, ms);
            log::info(line);
        }
        auto maps = steering::build_geo_maps(z, *part);
        const double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count();
        for (size_t p = 0; p < maps->pools.size(); ++p) {
            if (const steering::PoolGeoMap* m = maps->pools[p].get(); m != nullptr) {
                char line[300];
                std::snprintf(line, sizeof line,
                              "geo map %s pool %s: %zu IPv4 and %zu IPv6 ranges, %zu classes, "
                              "%.1f MiB",
                              z.origin_text.c_str(), z.pools[p].name.c_str(), m->ranges(4),
                              m->ranges(6), m->classes(),
                              static_cast<double>(m->bytes()) / (1024.0 * 1024.0));
                log::info(line);
            }
        }
        char line[200];
        std::snprintf(line, sizeof line, "geo maps of %s built in %.0f ms", z.origin_text.c_str(),
                      ms);
        log::info(line);
        snap.geo_maps[i] = std::move(maps);
    }
}

}  // namespace

std::unique_ptr<Snapshot> build_snapshot(const config::Config& cfg, const Snapshot* previous,
                                         std::shared_ptr<const geo::Resolver> geo,
                                         std::vector<std::string>& errors,
                                         probes::ProberPool* prober,
                                         const probes::HealthTable* health,
                                         OriginCounterIds* counters) {
    auto snap = std::make_unique<Snapshot>();
    // A file whose bytes did not change keeps its zone: not parsed again, shared as it is.
    zone::PreviousZone same_bytes = [previous](const std::string& path,
                                               const std::array<uint8_t, 32>& digest) {
        if (previous != nullptr) {
            const int64_t now = static_cast<int64_t>(::time(nullptr));
            for (const auto& old : previous->zones) {
                // A signed zone is signed again (read again) when its refresh time came.
                if (old->file == path && old->source_digest == digest &&
                    (!old->is_signed || now < old->signing.refresh_at)) {
                    return old;
                }
            }
        }
        return std::shared_ptr<const zone::Zone>();
    };
    zone::DirResult loaded = zone::load_zone_dir(cfg.zones_dir, same_bytes);
    errors.insert(errors.end(), loaded.errors.begin(), loaded.errors.end());
    // An unreadable directory is not an empty one: every zone keeps its previous version.
    bool dir_failed = loaded.zones.empty() && loaded.failed_files.empty() && !loaded.errors.empty();
    if (dir_failed && previous != nullptr) {
        for (const auto& old : previous->zones) {
            loaded.failed_files.push_back(old->file);
        }
    }
    // Signing is part of the load: a zone that cannot be signed fails as a bad file does.
    const auto now_s = static_cast<int64_t>(::time(nullptr));
    std::erase_if(loaded.zones, [&](const std::unique_ptr<zone::Zone>& z) {
        if (!z->dnssec.on) {
            return false;
        }
        try {
            sign_zone(*z, cfg.key_dir, now_s);
            return false;
        } catch (const zone::LoadError& e) {
            errors.emplace_back(e.what());
            loaded.failed_files.push_back(z->file);
            return true;
        }
    });
    std::vector<zone::Zone*> fresh;
    for (auto& z : loaded.zones) {
        fresh.push_back(z.get());
        snap->zones.emplace_back(std::move(z));
    }
    for (auto& same : loaded.unchanged) {
        snap->zones.push_back(std::move(same));
    }
    // A file that failed keeps serving what it served before: the old zone is shared, not
    // copied, with the new snapshot.
    if (previous != nullptr) {
        for (const auto& file : loaded.failed_files) {
            for (const auto& old : previous->zones) {
                if (old->file == file) {
                    bool clash = false;
                    for (const auto& z : snap->zones) {
                        clash = clash || z->origin == old->origin;
                    }
                    if (!clash) {
                        snap->zones.push_back(old);
                    }
                }
            }
        }
    }
    // Zones in file order whatever path they came by (status and metrics list them so).
    std::stable_sort(snap->zones.begin(), snap->zones.end(),
                     [](const auto& a, const auto& b) { return a->file < b->file; });
    if (prober != nullptr) {
        attach_health(snap->zones, fresh, *prober);
    }
    if (counters != nullptr) {
        size_t uncounted = 0;
        for (zone::Zone* z : fresh) {
            for (auto& p : z->pools) {
                for (auto& o : p.origins) {
                    o.counter = counters->acquire(z->origin_text, p.name, o.name);
                    uncounted += o.counter < 0 ? 1 : 0;
                }
            }
        }
        if (uncounted != 0) {
            log::warn(std::to_string(uncounted) + " origins have no answer counter (all " +
                      std::to_string(Stats::kOriginCounters) +
                      " slots taken since start); restart to recount");
        }
    }
    snap->health = health;
    snap->geo = std::move(geo);
    attach_geo_maps(*snap, previous);
    snap->options = make_options(cfg);
    snap->index();
    return snap;
}

uint32_t longest_timeout_ms(const Snapshot& snap) {
    uint32_t longest = 0;
    for (const auto& z : snap.zones) {
        for (const auto& m : z->monitors) {
            longest = std::max(longest, m.spec.timeout_ms);
        }
    }
    return longest;
}

}  // namespace dnslb::server
