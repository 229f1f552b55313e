#include "dnslb/answer/responder.hpp"

#include <algorithm>

#include "dnslb/dns/query.hpp"
#include "dnslb/dns/wire.hpp"
#include "dnslb/answer/explain.hpp"
#include "dnslb/steering/cache.hpp"
#include "dnslb/steering/steer.hpp"

namespace dnslb::server {

namespace {

using dns::Query;
using dns::Writer;
using zone::Node;
using zone::RRset;
using zone::Zone;

constexpr size_t kMaxCnameChain = 8;  // loop guard for in-zone CNAME chains
constexpr size_t kMaxPointerOffset = 0x3FFF;
constexpr size_t kRRFixed = 10;  // TYPE CLASS TTL RDLENGTH

// A name being resolved: its lower-cased form for lookups (the query's own, or a NameBuf for a
// CNAME target), and where its uncompressed original sits in the response so owners can point
// at it (or at any of its suffixes).
struct Name {
    const uint8_t* lower = nullptr;
    size_t len = 0;
    size_t offset = 0;  // position in the response
    size_t labels = 0;
    const uint8_t* label_at = nullptr;  // start of each label, then the root

    // The suffix that keeps the last `keep` labels.
    std::string_view suffix(size_t keep) const noexcept {
        size_t start = label_at[labels - keep];
        return {reinterpret_cast<const char*>(lower + start), len - start};
    }
    size_t suffix_offset(size_t keep) const noexcept { return offset + label_at[labels - keep]; }
};

// Storage for a name that is not the query's (a CNAME target).
struct NameBuf {
    uint8_t lower[dns::kMaxNameWire];
    uint8_t label_at[dns::kMaxLabels + 1];

    Name set(const uint8_t* wire, size_t n, size_t at) noexcept {
        dns::copy_lower(lower, wire, n);
        Name name;
        name.lower = lower;
        name.len = n;
        name.offset = at;
        name.labels = dns::name_labels(lower, n, label_at);
        name.label_at = label_at;
        return name;
    }
};

struct Response {
    Writer w;
    const Query& q;
    const Snapshot& snap;
    Stats& stats;
    uint16_t an = 0;
    uint16_t ns = 0;
    uint16_t ar = 0;
    uint16_t flags = 0;
    uint16_t rcode = 0;  // may be extended (> 15)
    uint8_t ecs_scope = 0;
    bool truncated = false;
    bool referral = false;
    uint64_t rrl_key = 0;           // the zone (NXDOMAIN) or cut (referral) for RRL
    uint8_t cookie_out[24] = {};    // client cookie + our server cookie, when the query had one
    bool send_cookie = false;
    bool counted = false;  // finish() has counted this response already
    size_t opt_at = 0;     // where the OPT RR (always the last RR) starts; 0: none

    // Owner name: a pointer where possible, else the literal name.
    void owner(size_t offset, std::string_view literal) noexcept {
        if (offset <= kMaxPointerOffset) {
            w.pointer(offset);
        } else {
            w.bytes(literal.data(), literal.size());
        }
    }

    // Appends every RR of an RRset owned by the name at `owner_off`. Fills `rdata_off` (when
    // non-null) with where each RR's RDATA landed. On overflow nothing of the RRset stays.
    bool rrset(const zone::WireSet& set, size_t owner_off, std::string_view owner_lit,
               uint16_t& count, uint32_t ttl_override = UINT32_MAX, size_t* rdata_off = nullptr,
               size_t max_off = 0) noexcept {
        size_t mark = w.pos();
        size_t begin = 0;
        for (size_t i = 0; i < set.count; ++i) {
            // TYPE CLASS TTL RDLENGTH RDATA: the next RR starts after this one's RDATA.
            size_t end = begin + kRRFixed + dns::load_u16(set.wire + begin + 8);
            owner(owner_off, owner_lit);
            size_t rr_at = w.pos();
            w.bytes(set.wire + begin, end - begin);
            if (!w.ok()) {
                w.rewind(mark);
                return false;
            }
            if (ttl_override != UINT32_MAX) {
                w.put_u16_at(rr_at + 4, static_cast<uint16_t>(ttl_override >> 16));
                w.put_u16_at(rr_at + 6, static_cast<uint16_t>(ttl_override));
            }
            if (rdata_off != nullptr && i < max_off) {
                rdata_off[i] = rr_at + kRRFixed;
            }
            begin = end;
        }
        count = static_cast<uint16_t>(count + set.count);
        return true;
    }
    bool rrset(const RRset& set, size_t owner_off, std::string_view owner_lit, uint16_t& count,
               uint32_t ttl_override = UINT32_MAX, size_t* rdata_off = nullptr,
               size_t max_off = 0) noexcept {
        return rrset(zone::wire_of(set), owner_off, owner_lit, count, ttl_override, rdata_off,
                     max_off);
    }
};

void write_header(Response& r, uint16_t qdcount) noexcept {
    r.w.u16(r.q.id);
    r.w.u16(0);  // flags, final value written at the end
    r.w.u16(qdcount);
    r.w.u16(0);
    r.w.u16(0);
    r.w.u16(0);
}

void write_question(Response& r) noexcept {
    r.w.bytes(r.q.qname, r.q.qname_len);  // original case, RFC 1035 section 7.3 / 0x20 users
    r.w.u16(r.q.qtype);
    r.w.u16(r.q.qclass);
}

// The SOA of the zone in the authority section, TTL = min(SOA TTL, minimum) (RFC 2308 sec. 3).
void add_negative_soa(Response& r, const ZoneEntry& ze, const Name& name) noexcept {
    if (ze.soa == nullptr) {
        return;
    }
    if (!r.rrset(*ze.soa, name.suffix_offset(ze.labels), name.suffix(ze.labels), r.ns,
                 ze.zone->neg_ttl_s)) {
        r.truncated = true;
    }
}

struct Lookup {
    const Zone& zone;
    size_t zone_labels;
};

// A and AAAA from a pool: steer, then one RR per usable address of the chosen origins.
void answer_pool(Response& r, const ZoneEntry& ze, const Node& node, const Name& name,
                 const ClientAddress& client, AnswerNote* note) noexcept {
    const Zone& z = *ze.zone;
    int family = r.q.qtype == zone::kTypeA ? 4 : 6;
    steering::Asker asker;
    if (r.q.has_ecs) {
        asker.family = r.q.ecs.family == 1 ? 4 : 6;
        asker.addr = r.q.ecs.address;
        asker.prefix = r.q.ecs.source_prefix;
        asker.ecs = true;
    } else {
        asker.family = client.family;
        asker.addr = client.bytes;
        asker.prefix = client.family == 4 ? 32 : 128;
    }
    // Through the worker's decision cache when it has one: repeated subnets skip the geo
    // lookup and the ordering (steering/cache.hpp says why a hit is the same answer).
    const steering::Steered steered =
        steering::steer_for(z, node.pool, r.snap.geo.get(), asker, family, r.snap.health,
                            steering::worker_cache(), r.snap.generation);
    const steering::Decision& d = steered.d;
    r.stats.bump(r.stats.pool_answers);
    // A location-dependent answer holds over the network the lookup decided, also when it
    // placed nobody (RFC 7871 section 7.3.1: scope 0 would cover every client).
    if (d.kind == steering::Decision::Kind::kAnswer &&
        (d.location_used ||
         steering::location_dependent(z.pools[static_cast<size_t>(d.pool)]))) {
        uint8_t src = r.q.has_ecs ? r.q.ecs.source_prefix : 0;
        r.ecs_scope = std::min(src, steered.prefix_len);
    }
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
            r.w.bytes(a.bytes.data(), family == 4 ? 4 : 16);
            ++count;
        }
        if (count != before && o.counter >= 0 && n_counted < std::size(counted)) {
            counted[n_counted++] = static_cast<uint16_t>(o.counter);
        }
    }
    if (!r.w.ok()) {
        r.w.rewind(mark);
        r.truncated = true;
        return;
    }
    r.an = static_cast<uint16_t>(r.an + count);
    for (uint8_t i = 0; i < n_counted; ++i) {
        r.stats.bump(r.stats.origin_answers[counted[i] % Stats::kOriginCounters]);
    }
}

// RFC 8482: one RRset for ANY, or a synthesized HINFO where the name has only a pool.
void answer_any(Response& r, const Node& node, const Name& name) noexcept {
    if (!node.rrsets.empty()) {
        if (!r.rrset(node.rrsets.front(), name.offset, name.suffix(name.labels), r.an)) {
            r.truncated = true;
        }
        return;
    }
    static constexpr uint8_t kHinfo[] = {7, 'R', 'F', 'C', '8', '4', '8', '2', 0};
    r.owner(name.offset, name.suffix(name.labels));
    r.w.u16(zone::kTypeHINFO);
    r.w.u16(dns::kClassIN);
    r.w.u32(3600);
    r.w.u16(sizeof(kHinfo));
    r.w.bytes(kHinfo, sizeof(kHinfo));
    r.an++;
}

// Referral (RFC 1034 section 4.3.2 step 3b): NS of the cut in authority, glue in additional.
void answer_referral(Response& r, const Zone& z, const Node& cut, const Name& name,
                     size_t cut_labels) noexcept {
    const RRset* ns = cut.find(zone::kTypeNS);
    if (ns == nullptr) {
        return;
    }
    r.flags &= static_cast<uint16_t>(~dns::kFlagAA);
    r.stats.bump(r.stats.referrals);
    r.referral = true;
    r.rrl_key = zone::NameHash{}(name.suffix(cut_labels));
    size_t rdata_off[32];
    if (!r.rrset(*ns, name.suffix_offset(cut_labels), name.suffix(cut_labels), r.ns, UINT32_MAX,
                 rdata_off, 32)) {
        r.truncated = true;
        return;
    }
    size_t n = std::min<size_t>(ns->rdata.size(), 32);
    for (size_t i = 0; i < n; ++i) {
        const std::string& target = ns->rdata[i];
        uint8_t lower[dns::kMaxNameWire];
        size_t tl = std::min(target.size(), sizeof(lower));
        for (size_t k = 0; k < tl; ++k) {
            lower[k] = dns::ascii_lower(static_cast<uint8_t>(target[k]));
        }
        const zone::NodeRef glue = z.lookup({reinterpret_cast<const char*>(lower), tl});
        if (!glue) {
            continue;
        }
        for (uint16_t type : {zone::kTypeA, zone::kTypeAAAA}) {
            zone::WireSet set;
            // Glue that does not fit makes the referral unusable: TC, as RFC 9471 asks.
            if (glue.find(type, set) && !r.rrset(set, rdata_off[i], target, r.ar)) {
                r.truncated = true;
                return;
            }
        }
    }
}

// RFC 1034 section 4.3.2 for one zone, with CNAME chains restarted inside the zone. `name` is
// the query name, already found to be inside the zone.
void answer_in_zone(Response& r, const ZoneEntry& ze, Name name, const ClientAddress& client,
                    AnswerNote* note) noexcept {
    const Zone& z = *ze.zone;
    const size_t zlabels = ze.labels;
    if (note != nullptr) {
        note->zone = &z;
    }
    NameBuf bufs[2];  // CNAME targets, alternately: `name` may point into the other one
    zone::NodeRef visited[kMaxCnameChain + 1] = {};
    for (size_t hop = 0; hop <= kMaxCnameChain; ++hop) {
        // 1. A zone cut at or above the name (not at the name for DS: the parent answers DS).
        // The same walk finds the name's own node and its closest encloser: every existing
        // name's ancestors up to the apex are nodes (ENTs included), so the first suffix
        // without a node ends the walk, and the one before it is the closest encloser.
        bool ds_at_cut = false;
        zone::NodeRef node = name.labels == zlabels ? ze.apex : zone::NodeRef{};
        size_t encloser = zlabels;
        for (size_t keep = zlabels + 1; keep <= name.labels; ++keep) {
            const zone::NodeRef n = z.lookup(name.suffix(keep));
            if (!n) {
                break;
            }
            encloser = keep;
            if (keep == name.labels) {
                node = n;
            }
            if (n.delegation()) {
                if (keep == name.labels && r.q.qtype == zone::kTypeDS) {
                    ds_at_cut = true;
                    break;
                }
                if (hop == 0) {
                    answer_referral(r, z, n.node(), name, keep);
                }
                return;
            }
        }
        // 2. The name itself, or the wildcard at its closest encloser (RFC 4592 section 3.3.1).
        if (!node) {
            uint8_t wild[dns::kMaxNameWire];
            std::string_view ce = name.suffix(encloser);
            if (ze.has_wildcard && ce.size() + 2 <= sizeof(wild)) {
                wild[0] = 1;
                wild[1] = '*';
                std::memcpy(wild + 2, ce.data(), ce.size());
                node = z.lookup({reinterpret_cast<const char*>(wild), ce.size() + 2});
            }
            if (!node) {
                r.rcode = dns::kRcodeNxDomain;  // after a CNAME too: RFC 6604 section 3
                r.rrl_key = ze.origin_key;
                add_negative_soa(r, ze, name);
                return;
            }
        }
        uint16_t qtype = r.q.qtype;
        if (node.empty()) {
            add_negative_soa(r, ze, name);  // empty non-terminal: NODATA
            return;
        }
        if (qtype == zone::kTypeANY) {
            answer_any(r, node.node(), name);
            return;
        }
        if (node.pooled() && (qtype == zone::kTypeA || qtype == zone::kTypeAAAA)) {
            answer_pool(r, ze, node.node(), name, client, note);
            return;
        }
        if (zone::WireSet set; node.find(qtype, set)) {
            if (!r.rrset(set, name.offset, name.suffix(name.labels), r.an)) {
                r.truncated = true;
            }
            return;
        }
        const RRset* cname = node.node().find(zone::kTypeCNAME);
        if (cname == nullptr || ds_at_cut) {
            add_negative_soa(r, ze, name);
            return;
        }
        size_t target_off = 0;
        if (!r.rrset(*cname, name.offset, name.suffix(name.labels), r.an, UINT32_MAX,
                     &target_off, 1)) {
            r.truncated = true;
            return;
        }
        // Follow only inside this zone; the resolver chases the rest itself. A name already
        // in the chain ends it: each CNAME appears once (RFC 2181 section 5).
        const std::string& target = cname->rdata.front();
        Name next = bufs[hop % 2].set(reinterpret_cast<const uint8_t*>(target.data()),
                                      target.size(), target_off);
        if (next.labels < zlabels || next.suffix(zlabels) != std::string_view(z.origin)) {
            return;
        }
        visited[hop] = node;
        for (size_t k = 0; k <= hop; ++k) {
            if (z.lookup(next.suffix(next.labels)) == visited[k]) {
                return;
            }
        }
        name = next;
    }
}

bool explain_allowed(const Snapshot& snap, const ClientAddress& client) noexcept {
    for (const auto& n : snap.options.explain_from) {
        if (n.contains(client.family, client.bytes)) {
            return true;
        }
    }
    return false;
}

// CHAOS TXT for a name we serve: the explanation of its answer, one TXT RR per line. A
// diagnostic for operators, allowed only from explain_from; unlike every other branch it
// allocates (it builds text), which is why it is gated.
void answer_explain(Response& r, const ClientAddress& client) noexcept {
    if (r.q.qtype != zone::kTypeTXT || !explain_allowed(r.snap, client) ||
        r.snap.find_zone(r.q.qname_lower, r.q.qname_len) == nullptr) {
        r.rcode = dns::kRcodeRefused;
        r.flags &= static_cast<uint16_t>(~dns::kFlagAA);
        return;
    }
    Asker asker;
    if (r.q.has_ecs) {
        asker.family = r.q.ecs.family == 1 ? 4 : 6;
        std::memcpy(asker.bytes, r.q.ecs.address, 16);
        asker.prefix = r.q.ecs.source_prefix;
        asker.is_subnet = true;
    } else {
        asker.family = client.family;
        std::memcpy(asker.bytes, client.bytes, 16);
        asker.prefix = client.family == 4 ? 32 : 128;
    }
    try {
        for (const std::string& line : explain_wire(r.snap, r.q.qname_lower, r.q.qname_len,
                                                    asker)) {
            size_t mark = r.w.pos();
            r.w.pointer(dns::kHeaderSize);
            r.w.u16(zone::kTypeTXT);
            r.w.u16(dns::kClassCH);
            r.w.u32(0);
            size_t rdlen_at = r.w.pos();
            r.w.u16(0);
            for (size_t at = 0; at < line.size() || at == 0; at += 255) {
                size_t n = std::min<size_t>(255, line.size() - at);
                r.w.u8(static_cast<uint8_t>(n));
                r.w.bytes(line.data() + at, n);
            }
            if (!r.w.ok()) {
                r.w.rewind(mark);
                r.truncated = true;
                return;
            }
            r.w.put_u16_at(rdlen_at, static_cast<uint16_t>(r.w.pos() - rdlen_at - 2));
            r.an++;
        }
    } catch (...) {
        r.rcode = dns::kRcodeServFail;
    }
}

void answer_chaos(Response& r, const ClientAddress& client) noexcept {
    // version.bind / version.server and id.server / hostname.bind TXT (RFC 4892).
    static constexpr uint8_t kVersionBind[] = "\7version\4bind";
    static constexpr uint8_t kVersionServer[] = "\7version\6server";
    static constexpr uint8_t kIdServer[] = "\2id\6server";
    static constexpr uint8_t kHostnameBind[] = "\10hostname\4bind";
    auto is = [&](const uint8_t* name, size_t n) {
        return r.q.qname_len == n && std::memcmp(r.q.qname_lower, name, n) == 0;
    };
    const std::string* text = nullptr;
    if (is(kVersionBind, sizeof(kVersionBind)) || is(kVersionServer, sizeof(kVersionServer))) {
        text = &r.snap.options.chaos_version;
    } else if (is(kIdServer, sizeof(kIdServer)) || is(kHostnameBind, sizeof(kHostnameBind))) {
        text = &r.snap.options.chaos_id;
    }
    if (text == nullptr) {
        answer_explain(r, client);
        return;
    }
    if (text->empty() || (r.q.qtype != zone::kTypeTXT && r.q.qtype != zone::kTypeANY)) {
        r.rcode = dns::kRcodeRefused;
        r.flags &= static_cast<uint16_t>(~dns::kFlagAA);
        return;
    }
    size_t len = std::min<size_t>(text->size(), 255);
    r.w.pointer(dns::kHeaderSize);
    r.w.u16(zone::kTypeTXT);
    r.w.u16(dns::kClassCH);
    r.w.u32(0);
    r.w.u16(static_cast<uint16_t>(len + 1));
    r.w.u8(static_cast<uint8_t>(len));
    r.w.bytes(text->data(), len);
    r.an++;
}

// OPT (RFC 6891 section 6.1.2) with the ECS option echoed back with our scope.
size_t opt_size(const Query& q, bool cookie) noexcept {
    size_t n = 11;
    if (q.has_ecs) {
        n += 4 + 4 + (q.ecs.source_prefix + 7U) / 8U;
    }
    if (cookie) {
        n += 4 + 24;
    }
    return n;
}

void write_opt(Response& r) noexcept {
    const Query& q = r.q;
    // Owner (root), TYPE, CLASS = our UDP size, TTL = extended rcode, version 0, DO clear,
    // RDLENGTH (filled in below): one write.
    const uint16_t udp = r.snap.options.edns_udp_size;
    const uint8_t fixed[11] = {0, 0, zone::kTypeOPT, static_cast<uint8_t>(udp >> 8),
                               static_cast<uint8_t>(udp), static_cast<uint8_t>(r.rcode >> 4),
                               0, 0, 0, 0, 0};
    r.w.bytes(fixed, sizeof(fixed));
    size_t rdlen_at = r.w.pos() - 2;
    if (q.has_ecs) {
        size_t addr_len = (q.ecs.source_prefix + 7U) / 8U;
        r.w.u16(dns::kOptionEcs);
        r.w.u16(static_cast<uint16_t>(4 + addr_len));
        r.w.u16(q.ecs.family);
        r.w.u8(q.ecs.source_prefix);
        r.w.u8(r.ecs_scope);
        r.w.bytes(q.ecs.address, addr_len);
    }
    if (r.send_cookie) {
        r.w.u16(dns::kOptionCookie);
        r.w.u16(24);
        r.w.bytes(r.cookie_out, 24);
    }
    r.w.put_u16_at(rdlen_at, static_cast<uint16_t>(r.w.pos() - rdlen_at - 2));
    r.ar++;
}

size_t finish(Response& r, uint16_t qdcount) noexcept {
    uint16_t flags = r.flags | static_cast<uint16_t>(r.rcode & 0x0F);
    if (r.truncated) {
        flags |= dns::kFlagTC;
    }
    if (!r.counted) {
        r.counted = true;
        if (r.truncated) {
            r.stats.bump(r.stats.truncated);
        }
        r.stats.bump(r.stats.rcodes[std::min<size_t>(r.rcode, 23)]);
    }
    r.w.put_u16_at(2, flags);
    r.w.put_u16_at(4, qdcount);
    r.w.put_u16_at(6, r.an);
    r.w.put_u16_at(8, r.ns);
    r.w.put_u16_at(10, r.ar);
    return r.w.pos();
}

size_t max_response(const Query& q, const Snapshot& snap, Transport t, size_t cap) noexcept {
    if (t == Transport::kTcp) {
        return std::min<size_t>(cap, 65535);
    }
    size_t limit = q.edns ? std::clamp<size_t>(q.udp_size, 512, snap.options.edns_udp_size) : 512;
    return std::min(cap, limit);
}

}  // namespace

size_t qtype_slot(uint16_t qtype) noexcept {
    switch (qtype) {
        case zone::kTypeA:
            return 0;
        case zone::kTypeAAAA:
            return 1;
        case zone::kTypeMX:
            return 2;
        case zone::kTypeTXT:
            return 3;
        default:
            return 4;
    }
}

namespace {

RrlClass rrl_class(const Response& r) noexcept {
    if (r.rcode == dns::kRcodeNxDomain) {
        return RrlClass::kNxDomain;
    }
    if (r.rcode != dns::kRcodeNoError) {
        return RrlClass::kError;
    }
    return r.referral ? RrlClass::kReferral : RrlClass::kPositive;
}

// A slipped (or under-attack) UDP response: header and question only, TC=1, so a real
// resolver behind the address retries over TCP, and a spoofed victim receives no more bytes
// than the attacker sent.
// A UDP response cut down to header and question (TC=1), keeping its OPT RR: an EDNS query
// gets OPT back (RFC 6891 section 7) and a client cookie gets its server cookie (RFC 7873
// section 5.4), so the retry can carry it.
size_t truncate_to_question(Response& r, size_t question_end, size_t len) noexcept {
    size_t opt_len = r.opt_at >= question_end && r.opt_at < len ? len - r.opt_at : 0;
    uint8_t opt[128];
    if (opt_len > sizeof(opt)) {
        opt_len = 0;
    }
    std::memcpy(opt, r.w.data() + r.opt_at, opt_len);
    r.w.rewind(question_end);
    r.an = r.ns = 0;
    r.ar = opt_len != 0 ? 1 : 0;
    r.w.bytes(opt, opt_len);
    r.opt_at = opt_len != 0 ? question_end : 0;
    r.truncated = true;
    return finish(r, question_end > dns::kHeaderSize ? 1 : 0);
}

// Cookies (RFC 7873 section 5.2): every query with a client cookie gets a fresh server cookie
// back. Returns true when the query carried a valid server cookie of ours.
bool process_cookie(Response& r, const ClientAddress& client, const QueryEnv& env) noexcept {
    const CookieSettings& cs = r.snap.options.guard.cookies;
    if (!r.q.has_cookie || !cs.enabled || env.guard == nullptr) {
        return false;
    }
    bool valid = false;
    if (r.q.cookie_len == 8) {
        env.guard->cookie_counters.client_only.fetch_add(1, std::memory_order_relaxed);
    } else {
        valid = env.guard->valid_cookie(cs, r.q.cookie, r.q.cookie_len, client.family,
                                        client.bytes, env.now_s);
        (valid ? env.guard->cookie_counters.valid : env.guard->cookie_counters.invalid)
            .fetch_add(1, std::memory_order_relaxed);
    }
    std::memcpy(r.cookie_out, r.q.cookie, 8);
    env.guard->make_server_cookie(cs, r.q.cookie, client.family, client.bytes, env.now_s,
                                  r.cookie_out + 8);
    r.send_cookie = true;
    return valid;
}

// The last word on a UDP response: under-attack truncation and RRL. Returns the final length
// (0: send nothing).
size_t guard_udp(Response& r, size_t len, size_t question_end, bool cookie_ok,
                 const ClientAddress& client, const QueryEnv& env) noexcept {
    const GuardSettings& gs = r.snap.options.guard;
    bool attack = env.attack != nullptr && env.attack->on();
    if (attack && !cookie_ok && len > gs.attack.tc_above_bytes) {
        return truncate_to_question(r, question_end, len);
    }
    if (!gs.rrl.enabled) {
        return len;
    }
    if (cookie_ok) {
        env.guard->rrl_counters.exempt_cookie.fetch_add(1, std::memory_order_relaxed);
        return len;
    }
    for (const auto& n : r.snap.options.rrl_exempt) {
        if (n.contains(client.family, client.bytes)) {
            return len;
        }
    }
    RrlClass k = rrl_class(r);
    uint64_t key = k == RrlClass::kPositive
                       ? zone::NameHash{}({reinterpret_cast<const char*>(r.q.qname_lower),
                                           r.q.qname_len}) ^ r.q.qtype
                       : r.rrl_key;
    switch (env.guard->rrl(gs.rrl, attack, gs.attack.rrl_divisor, client.family, client.bytes,
                           k, key, env.now_ms)) {
        case WorkerGuard::Verdict::kSend:
            return len;
        case WorkerGuard::Verdict::kSlip:
            return truncate_to_question(r, question_end, len);
        case WorkerGuard::Verdict::kDrop:
            break;
    }
    return 0;
}

}  // namespace

size_t respond(const Snapshot& snap, const uint8_t* pkt, size_t len, const ClientAddress& client,
               Transport transport, uint8_t* out, size_t out_cap, Stats& stats,
               AnswerNote* note, const QueryEnv* env) noexcept {
    Query q;
    dns::ParseStatus status = dns::parse_query(pkt, len, q);
    stats.bump(stats.queries[static_cast<size_t>(transport)]);
    if (status == dns::ParseStatus::kDrop) {
        stats.bump(stats.dropped);
        return 0;
    }
    bool have_question = q.question_end != 0;
    size_t limit = max_response(q, snap, transport, out_cap);
    Response r{Writer(out, limit), q, snap, stats};
    // RD is copied (RFC 1035 section 4.1.1); RA stays clear: we do not recurse.
    r.flags = static_cast<uint16_t>(dns::kFlagQR | (q.flags & (0x7800 | dns::kFlagRD)));
    write_header(r, have_question ? 1 : 0);
    if (have_question) {
        write_question(r);
    }
    size_t question_end = r.w.pos();
    bool guarded = env != nullptr && env->guard != nullptr && transport == Transport::kUdp;
    size_t n = 0;
    switch (status) {
        case dns::ParseStatus::kFormErr:
            r.rcode = dns::kRcodeFormErr;
            n = finish(r, have_question ? 1 : 0);
            return guarded ? guard_udp(r, n, question_end, false, client, *env) : n;
        case dns::ParseStatus::kNotImp:
            r.rcode = dns::kRcodeNotImp;
            n = finish(r, have_question ? 1 : 0);
            return guarded ? guard_udp(r, n, question_end, false, client, *env) : n;
        case dns::ParseStatus::kBadVers:
            r.rcode = dns::kRcodeBadVers;
            q.has_ecs = false;
            r.opt_at = r.w.pos();
            write_opt(r);
            n = finish(r, 1);
            return guarded ? guard_udp(r, n, question_end, false, client, *env) : n;
        default:
            break;
    }
    stats.bump(stats.qtypes[qtype_slot(q.qtype)]);
    if (q.has_ecs) {
        stats.bump(stats.ecs);
    }
    bool cookie_ok = env != nullptr && process_cookie(r, client, *env);
    bool attack = env != nullptr && env->attack != nullptr && env->attack->on();
    size_t opt_len = q.edns ? opt_size(q, r.send_cookie) : 0;
    r.w.limit(limit - opt_len);
    if (r.send_cookie && q.cookie_len > 8 && !cookie_ok && attack &&
        transport == Transport::kUdp) {
        // RFC 7873 section 5.2.3: a bad server cookie may get BADCOOKIE with a fresh cookie;
        // we do so while under attack, where answering unverified clients is what we avoid.
        r.rcode = dns::kRcodeBadCookie;
        env->guard->cookie_counters.badcookie.fetch_add(1, std::memory_order_relaxed);
    } else if (q.qtype == zone::kTypeOPT || q.qtype == 251 || q.qtype == 252) {
        // OPT is not a question; IXFR/AXFR are not served (no secondaries to feed).
        r.rcode = q.qtype == zone::kTypeOPT ? dns::kRcodeFormErr : dns::kRcodeRefused;
    } else if (q.qclass == dns::kClassCH) {
        r.flags |= dns::kFlagAA;
        answer_chaos(r, client);
    } else if (q.qclass != dns::kClassIN) {
        r.rcode = dns::kRcodeRefused;
    } else {
        Name name;
        name.lower = q.qname_lower;
        name.len = q.qname_len;
        name.offset = dns::kHeaderSize;
        name.labels = q.qname_labels;
        name.label_at = q.qname_label_at;
        const ZoneEntry* ze = snap.find_entry(name.lower, name.len, name.label_at, name.labels);
        if (ze == nullptr) {
            r.rcode = dns::kRcodeRefused;
        } else {
            r.flags |= dns::kFlagAA;
            answer_in_zone(r, *ze, name, client, note);
        }
    }
    if (r.truncated) {
        // RFC 2181 section 9: a truncated response carries no partial RRsets; the client
        // retries over TCP.
        r.w.rewind(question_end);
        r.an = r.ns = r.ar = 0;
    }
    if (q.edns) {
        dns::Writer opt(out + r.w.pos(), opt_len);
        Response tail{opt, q, snap, stats};
        tail.rcode = r.rcode;
        tail.ecs_scope = r.ecs_scope;
        tail.send_cookie = r.send_cookie;
        std::memcpy(tail.cookie_out, r.cookie_out, sizeof(r.cookie_out));
        r.opt_at = r.w.pos();
        write_opt(tail);
        r.w.rewind(r.w.pos() + tail.w.pos());
        r.ar++;
    }
    if (note != nullptr) {
        note->scope = r.ecs_scope;
        note->rcode = static_cast<uint8_t>(r.rcode);
    }
    n = finish(r, 1);
    return guarded ? guard_udp(r, n, question_end, cookie_ok, client, *env) : n;
}

}  // namespace dnslb::server
