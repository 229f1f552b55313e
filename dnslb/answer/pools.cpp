#include <algorithm>

#include "dnslb/answer/demand.hpp"
#include "dnslb/answer/response.hpp"
#include "dnslb/steering/cache.hpp"
#include "dnslb/steering/steer.hpp"

namespace dnslb::server::detail {

// A and AAAA from a pool: steer, then one RR per usable address of the chosen origins.
void answer_pool(Response& r, const ZoneEntry& ze, const Node& node, const Name& name,
                 const ClientAddress& client, AnswerNote* note) noexcept {
    const Zone& z = *ze.zone;
    int family = r.q.qtype == dns::kTypeA ? 4 : 6;
    const steering::Asker asker = make_asker(r.q, client);
    // Through the worker's decision cache when it has one: repeated subnets skip the geo
    // lookup and the ordering (steering/cache.hpp says why a hit is the same answer).
    const steering::Steered steered =
        steering::steer_for(z, node.pool, r.snap.geo.get(), asker, family, r.snap.health,
                            r.ctx.cache, r.snap.generation, ze.geo_map);
    const steering::Decision& d = steered.d;
    r.stats.bump(r.stats.pool_answers);
    r.ecs_scope = steering::answer_scope(z, d, asker, steered.prefix_len);
    if (note != nullptr) {
        note->pool = d.pool;
        note->origin_count = std::min<uint8_t>(d.count, 16);
        std::copy_n(d.origins, note->origin_count, note->origins);
    }
    if (d.kind == steering::Decision::Kind::kServFail) {
        r.rcode = dns::kRcodeServFail;
        return;
    }
    if (d.kind == steering::Decision::Kind::kNoData || d.count == 0) {
        add_negative_soa(r, ze, name);
        // The NSEC without A and AAAA (the usual one lists them): a NODATA that validates.
        if (r.dnssec && node.nodata_nsec.type != 0 &&
            !r.rrset(node.nodata_nsec, kNoPointer, node.name, r.ns)) {
            r.truncated = true;
        }
        return;
    }
    const zone::Pool& pool = z.pools[static_cast<size_t>(d.pool)];
    const zone::Pool& first = z.pools[static_cast<size_t>(node.pool)];
    uint32_t ttl = node.pool_ttl_s != 0 ? node.pool_ttl_s : first.ttl_s;
    if (d.degraded && first.ttl_degraded_s != 0) {
        ttl = std::min(ttl, first.ttl_degraded_s);
    }
    size_t mark = r.w.pos();
    uint16_t count = 0;
    uint16_t counted[16];
    uint8_t n_counted = 0;
    uint64_t key = 0;  // which presigned answer this is: the sum does not depend on the order
    const size_t len = family == 4 ? 4 : 16;
    for (uint8_t i = 0; i < d.count; ++i) {
        const zone::Origin& o = pool.origins[d.origins[i]];
        uint16_t before = count;
        for (const zone::Address& a : o.addresses) {
            if (a.family != family || (!d.all_down && !steering::address_up(a, r.snap.health))) {
                continue;
            }
            r.owner(name.offset, name.suffix(name.labels));
            r.w.u16(r.q.qtype);
            r.w.u16(dns::kClassIN);
            r.w.u32(ttl);
            r.w.u16(family == 4 ? 4 : 16);
            r.w.bytes(a.bytes.data(), len);
            key += zone::address_key(a.bytes.data(), len);
            ++count;
        }
        if (count != before && o.counter >= 0 && n_counted < std::size(counted)) {
            counted[n_counted++] = static_cast<uint16_t>(o.counter);
        }
    }
    if (!r.fits(mark)) {
        return;
    }
    r.an = static_cast<uint16_t>(r.an + count);
    if (r.dnssec && count != 0) {
        const zone::SignedVariant* v = node.variant(static_cast<uint8_t>(family), key);
        if (v != nullptr && !r.sig(v->sig, name.offset, name.suffix(name.labels), r.an, ttl)) {
            r.truncated = true;
            return;
        }
    }
    for (uint8_t i = 0; i < n_counted; ++i) {
        r.stats.bump(r.stats.origin_answers[counted[i] % Stats::kOriginCounters]);
    }
    // Demand: the asker's network and the first origin answered. The network is what the
    // asker revealed, at most a /24 (IPv4) or /56 (IPv6); not the range the decision holds
    // for, which a precomputed geo map or the decision cache can make far wider than the
    // database network that located the asker. The planner locates each network again.
    if (r.ctx.demand != nullptr && n_counted != 0) {
        const uint8_t finest = asker.family == 4 ? 24 : 56;
        const uint8_t net = std::min(asker.prefix, finest);
        r.ctx.demand->record(asker.family, asker.addr, net, counted[0]);
    }
}

// RFC 8482: one RRset for ANY, or a synthesized HINFO where the name has only a pool.
void answer_any(Response& r, const Node& node, const Name& name) noexcept {
    if (!node.rrsets.empty()) {
        // The first RRset; never the NSEC, which signing appends last.
        if (!r.rrset(node.rrsets.front(), name.offset, name.suffix(name.labels), r.an)) {
            r.truncated = true;
        }
        return;
    }
    static constexpr uint8_t kHinfo[] = {7, 'R', 'F', 'C', '8', '4', '8', '2', 0};
    const size_t mark = r.w.pos();
    r.owner(name.offset, name.suffix(name.labels));
    r.w.u16(dns::kTypeHINFO);
    r.w.u16(dns::kClassIN);
    r.w.u32(3600);
    r.w.u16(sizeof(kHinfo));
    r.w.bytes(kHinfo, sizeof(kHinfo));
    if (!r.fits(mark)) {
        return;
    }
    r.an++;
}

}  // namespace dnslb::server::detail
