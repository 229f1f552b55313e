#include "dnslb/answer/response.hpp"

namespace dnslb::server::detail {

namespace {

constexpr size_t kMaxCnameChain = 8;  // loop guard for in-zone CNAME chains

}  // namespace

// The NSEC proofs collected for the answer, each with its RRSIGs, in the authority section.
void add_proofs(Response& r) noexcept {
    for (uint8_t i = 0; i < r.n_proofs; ++i) {
        const zone::DenialLink& link = *r.proofs[i];
        if (!r.rrset(*link.set, kNoPointer, link.owner, r.ns)) {
            r.truncated = true;
            return;
        }
    }
    r.n_proofs = 0;
}

namespace {

// NODATA: the NSEC at the node's name (the wildcard's, for a wildcard), and for a wildcard
// the NSEC that shows the query name itself does not exist.
void nodata_proof(Response& r, const Zone& z, const zone::NodeRef& node, const Name& name) {
    if (!r.dnssec) {
        return;
    }
    r.add_proof(z.denial_for(node.node().name));
    r.add_proof(z.denial_for(name.suffix(name.labels)));
}

// NXDOMAIN: the NSEC covering the name and the one covering the wildcard of its closest
// encloser (RFC 4035 section 3.1.3.2).
void nxdomain_proof(Response& r, const Zone& z, const Name& name, std::string_view encloser) {
    if (!r.dnssec) {
        return;
    }
    r.add_proof(z.denial_for(name.suffix(name.labels)));
    uint8_t wild[dns::kMaxNameWire];
    if (encloser.size() + 2 <= sizeof(wild)) {
        wild[0] = 1;
        wild[1] = '*';
        std::memcpy(wild + 2, encloser.data(), encloser.size());
        r.add_proof(z.denial_for({reinterpret_cast<const char*>(wild), encloser.size() + 2}));
    }
}

}  // namespace

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

namespace {

void answer_names(Response& r, const ZoneEntry& ze, Name name, const ClientAddress& client,
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
                if (keep == name.labels && r.q.qtype == dns::kTypeDS) {
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
        const bool wildcard = !node;
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
                nxdomain_proof(r, z, name, ce);
                return;
            }
        }
        uint16_t qtype = r.q.qtype;
        if (node.empty()) {
            add_negative_soa(r, ze, name);  // empty non-terminal: NODATA
            nodata_proof(r, z, node, name);
            return;
        }
        if (wildcard && r.dnssec) {  // the expansion: proof that the name itself is not there
            r.add_proof(z.denial_for(name.suffix(name.labels)));
        }
        if (qtype == dns::kTypeANY) {
            answer_any(r, node.node(), name);
            return;
        }
        if (node.pooled() && (qtype == dns::kTypeA || qtype == dns::kTypeAAAA)) {
            answer_pool(r, ze, node.node(), name, client, note);
            return;
        }
        if (zone::WireSet set; node.find(qtype, set)) {
            if (!r.rrset(set, name.offset, name.suffix(name.labels), r.an)) {
                r.truncated = true;
            } else if (r.dnssec) {
                const RRset* full = node.node().find(qtype);
                if (full != nullptr &&
                    !r.sig(full->sig, name.offset, name.suffix(name.labels), r.an)) {
                    r.truncated = true;
                }
            }
            return;
        }
        const RRset* cname = node.node().find(dns::kTypeCNAME);
        if (cname == nullptr || ds_at_cut) {
            add_negative_soa(r, ze, name);
            nodata_proof(r, z, node, name);
            return;
        }
        size_t target_off = 0;
        if (!r.rrset(*cname, name.offset, name.suffix(name.labels), r.an, UINT32_MAX, &target_off,
                     1)) {
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

}  // namespace

// RFC 1034 section 4.3.2 for one zone, with CNAME chains restarted inside the zone. `name` is
// the query name, already found to be inside the zone.
void answer_in_zone(Response& r, const ZoneEntry& ze, Name name, const ClientAddress& client,
                    AnswerNote* note) noexcept {
    r.dnssec = r.q.dnssec_ok && ze.zone->is_signed;
    answer_names(r, ze, name, client, note);
    if (r.n_proofs != 0 && !r.truncated) {
        add_proofs(r);
    }
}

}  // namespace dnslb::server::detail
