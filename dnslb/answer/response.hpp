// The responder's own types, shared by the files of answer/ and by nothing else.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <string_view>

#include "dnslb/answer/responder.hpp"
#include "dnslb/dns/query.hpp"
#include "dnslb/dns/wire.hpp"
#include "dnslb/steering/cache.hpp"
#include "dnslb/zone/zone.hpp"

namespace dnslb::server::detail {

using dns::Query;
using dns::Writer;
using zone::Node;
using zone::RRset;
using zone::Zone;

inline constexpr size_t kMaxPointerOffset = 0x3FFF;
inline constexpr size_t kRRFixed = 10;  // TYPE CLASS TTL RDLENGTH

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

// The response being written, and what has been decided about it so far. Every write goes
// through `w`, whose overflow sticks until a rewind: a branch that overflows rewinds to its
// mark and sets `truncated`, and never leaves half an RR behind.
struct Response {
    Writer w;
    const Query& q;
    const Snapshot& snap;
    QueryContext& ctx;
    Stats& stats;
    uint16_t qdcount = 0;
    uint16_t an = 0;
    uint16_t ns = 0;
    uint16_t ar = 0;
    uint16_t flags = 0;
    uint16_t rcode = 0;  // may be extended (> 15)
    uint8_t ecs_scope = 0;
    bool truncated = false;
    bool referral = false;
    uint64_t rrl_key = 0;         // the zone (NXDOMAIN) or cut (referral) for RRL
    uint8_t cookie_out[24] = {};  // client cookie + our server cookie, when the query had one
    bool send_cookie = false;
    size_t opt_at = 0;  // where the OPT RR (always the last RR) starts; 0: none
    // DO=1 and the zone is signed: every RRset goes with its stored RRSIGs, negative answers
    // with their NSEC proofs (collected in `proofs`, written last in the authority section).
    bool dnssec = false;
    const zone::DenialLink* proofs[8] = {};
    uint8_t n_proofs = 0;

    void add_proof(const zone::DenialLink* link) noexcept {
        if (!dnssec || link == nullptr || link->set == nullptr) {
            return;
        }
        for (uint8_t i = 0; i < n_proofs; ++i) {
            if (proofs[i] == link) {
                return;
            }
        }
        if (n_proofs < std::size(proofs)) {
            proofs[n_proofs++] = link;
        }
    }

    // After writing a piece that must go whole: true when it fitted; otherwise rewinds to
    // `mark`, marks the response truncated and returns false.
    bool fits(size_t mark) noexcept {
        if (w.ok()) {
            return true;
        }
        w.rewind(mark);
        truncated = true;
        return false;
    }

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
                     max_off) &&
               sig(set.sig, owner_off, owner_lit, count, ttl_override);
    }
    // The stored RRSIGs of an RRset just written (DO=1 in a signed zone only): no signing here.
    bool sig(const zone::Signature& s, size_t owner_off, std::string_view owner_lit,
             uint16_t& count, uint32_t ttl_override = UINT32_MAX) noexcept {
        if (!dnssec || s.count == 0) {
            return true;
        }
        const zone::WireSet set{reinterpret_cast<const uint8_t*>(s.wire.data()),
                                static_cast<uint32_t>(s.wire.size()), s.count};
        return rrset(set, owner_off, owner_lit, count, ttl_override);
    }
};

// Who asks, for steering and explain: the query's Client Subnet, else its source address.
inline steering::Asker make_asker(const Query& q, const ClientAddress& client) noexcept {
    steering::Asker a;
    if (q.has_ecs) {
        a.family = q.ecs.family == 1 ? 4 : 6;
        std::memcpy(a.addr, q.ecs.address, sizeof(a.addr));
        a.prefix = q.ecs.source_prefix;
        a.ecs = true;
    } else {
        a.family = client.family;
        std::memcpy(a.addr, client.bytes, sizeof(a.addr));
        a.prefix = client.family == 4 ? 32 : 128;
    }
    return a;
}

// in_zone.cpp
void add_proofs(Response& r) noexcept;
void add_negative_soa(Response& r, const ZoneEntry& ze, const Name& name) noexcept;
void answer_in_zone(Response& r, const ZoneEntry& ze, Name name, const ClientAddress& client,
                    AnswerNote* note) noexcept;
// pools.cpp
void answer_pool(Response& r, const ZoneEntry& ze, const Node& node, const Name& name,
                 const ClientAddress& client, AnswerNote* note) noexcept;
void answer_any(Response& r, const Node& node, const Name& name) noexcept;
inline constexpr size_t kNoPointer = SIZE_MAX;  // owner offset: write the name literally
// referral.cpp
void answer_referral(Response& r, const Zone& z, const Node& cut, const Name& name,
                     size_t cut_labels) noexcept;
// chaos.cpp
void answer_chaos(Response& r, const ClientAddress& client) noexcept;
// defences.cpp
bool process_cookie(Response& r, const ClientAddress& client) noexcept;
bool guard_udp(Response& r, size_t question_end, bool cookie_ok,
               const ClientAddress& client) noexcept;

}  // namespace dnslb::server::detail
