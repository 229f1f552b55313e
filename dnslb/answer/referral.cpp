#include <algorithm>

#include "dnslb/answer/response.hpp"

namespace dnslb::server::detail {

// Referral (RFC 1034 section 4.3.2 step 3b): NS of the cut in authority, glue in additional.
void answer_referral(Response& r, const Zone& z, const Node& cut, const Name& name,
                     size_t cut_labels) noexcept {
    const RRset* ns = cut.find(dns::kTypeNS);
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
    // DO=1: the signed DS of a secure delegation, or the signed NSEC that shows there is none.
    if (r.dnssec) {
        const RRset* ds = cut.find(dns::kTypeDS);
        const RRset* proof = ds != nullptr ? ds : cut.find(dns::kTypeNSEC);
        if (proof != nullptr &&
            !r.rrset(*proof, name.suffix_offset(cut_labels), name.suffix(cut_labels), r.ns)) {
            r.truncated = true;
            return;
        }
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
        for (uint16_t type : {dns::kTypeA, dns::kTypeAAAA}) {
            zone::WireSet set;
            // Glue that does not fit makes the referral unusable: TC, as RFC 9471 asks.
            if (glue.find(type, set) && !r.rrset(set, rdata_off[i], target, r.ar)) {
                r.truncated = true;
                return;
            }
        }
    }
}

}  // namespace dnslb::server::detail
