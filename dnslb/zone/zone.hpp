// The in-memory form of a zone, built once by the loader (control thread) and read-only after.
//
// Thread contract: a Zone is immutable once it is part of a published Snapshot. Workers read it
// without locks; the control thread frees it only after every worker has moved past it.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dnslb/dns/constants.hpp"
#include "dnslb/geo/country.hpp"
#include "probes/monitor.hpp"

namespace dnslb::zone {

// TTLs above 2^31-1 are treated as 0 by RFC 2181 section 8; we reject them at load.
inline constexpr uint32_t kMaxTtl = 2147483647U;

// The RRSIG RRs of one signed RRset, rendered as RRset::wire is (TYPE CLASS TTL RDLENGTH RDATA
// per RR, the owner written by the encoder); empty when the zone is not signed.
struct Signature {
    std::string wire;
    uint16_t count = 0;
};

// One RRset: every RR of one type at one owner, all with the same TTL (RFC 2181 section 5.2).
struct RRset {
    uint16_t type = 0;
    uint32_t ttl = 0;
    std::vector<std::string> rdata;  // uncompressed wire RDATA, one string per RR
    // Pre-rendered for the query path: for each RR, TYPE(2) CLASS(2) TTL(4) RDLENGTH(2) RDATA.
    // The owner name is written by the encoder (usually a 2-byte compression pointer) before
    // each RR; `rr_offsets[i]` is where RR i starts inside `wire`.
    std::string wire;
    std::vector<uint32_t> rr_offsets;
    Signature sig;  // DNSSEC: made by the control plane when the zone is signed

    // Fills `wire` and `rr_offsets` from type, ttl and rdata. Called by the loader.
    void render();
};

// One address of an origin. `health` is the health-table cell id assigned by the control
// thread after load (-1: not monitored, always considered up).
struct Address {
    uint8_t family = 4;               // 4 or 6
    std::array<uint8_t, 16> bytes{};  // IPv4 uses the first 4 bytes
    int32_t health = -1;
    std::string text;  // presentation form, for logs and explain
};

enum class Steering : uint8_t { kProximity, kGeo, kFailover, kWeighted, kRandom };
enum class AllDown : uint8_t { kReturnAll, kNoData, kServFail };

struct Origin {
    std::string name;
    std::vector<Address> addresses;  // in file order
    bool has_location = false;
    double lat = 0;  // degrees
    double lon = 0;
    double weight = 1;
    double bias = 0;       // proximity bias, -99..99 as Route 53 geoproximity: scales distance
    int32_t priority = 0;  // lower first; default: the position in the file
    int32_t monitor = -1;  // index into Zone::monitors; -1: the pool's monitor or none
    // Answer-counter slot (Stats::origin_answers), assigned by the control thread after load
    // and kept across reloads for the same zone, pool and origin names; -1: not counted.
    int32_t counter = -1;
};

using geo::country_code;
using geo::CountryCode;

struct Pool {
    std::string name;
    Steering steering = Steering::kProximity;
    uint32_t answers = 1;
    uint32_t ttl_s = 30;
    uint32_t ttl_degraded_s = 0;  // 0: same as ttl_s
    uint32_t min_healthy = 1;
    int32_t fallback = -1;  // index into Zone::pools
    AllDown all_down = AllDown::kReturnAll;
    int32_t monitor = -1;         // index into Zone::monitors, default for its origins
    std::vector<Origin> origins;  // file order
    // geo steering: ordered origin indices per country / continent (codes packed as CountryCode,
    // continents as the two-letter codes AF AN AS EU NA OC SA), then the default order.
    std::unordered_map<CountryCode, std::vector<uint16_t>> geo_countries;
    std::unordered_map<CountryCode, std::vector<uint16_t>> geo_continents;
    std::vector<uint16_t> geo_default;
};

// A health monitor as written in the zone file; the probes library turns it into checks.
struct Monitor {
    std::string name;
    std::string type;          // tcp, http, https, dns
    probes::MonitorSpec spec;  // parsed and checked once, at load
};

// Lower-cased wire-format names are the keys; heterogeneous lookup keeps find() allocation-free.
struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept;
};
struct NameEq {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
};

// One presigned answer of a pool name: the RRSIG over one set of addresses of one family.
// `key` is address_key() summed over the set, so the order of the answer does not matter.
struct SignedVariant {
    uint64_t key = 0;
    uint8_t family = 4;
    uint8_t rrs = 0;  // addresses in the set
    Signature sig;
};
uint64_t address_key(const uint8_t* bytes, size_t len) noexcept;

struct Node {
    std::string name;           // lower-cased wire format, absolute
    std::vector<RRset> rrsets;  // few per node: linear search is fastest
    int32_t pool = -1;          // index into Zone::pools when the name is load-balanced
    uint32_t pool_ttl_s = 0;    // per-name TTL override for pool answers; 0 = the pool's
    bool delegation = false;    // has NS and is not the apex: a zone cut
    // DNSSEC (signed zones only): the pool's presigned answers, sorted by (family, key), and
    // the NSEC that denies A and AAAA here (a pool's NODATA answers: all_down nodata).
    std::vector<SignedVariant> variants;
    RRset nodata_nsec;

    const SignedVariant* variant(uint8_t family, uint64_t key) const noexcept {
        size_t lo = 0;
        size_t hi = variants.size();
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            const SignedVariant& v = variants[mid];
            if (v.family < family || (v.family == family && v.key < key)) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo < variants.size() && variants[lo].family == family && variants[lo].key == key
                   ? &variants[lo]
                   : nullptr;
    }

    const RRset* find(uint16_t type) const noexcept {
        for (const auto& rrset : rrsets) {
            if (rrset.type == type) {
                return &rrset;
            }
        }
        return nullptr;
    }
    bool empty() const noexcept { return rrsets.empty() && pool < 0; }  // empty non-terminal
};

// An RRset as the encoder copies it: `count` RRs, each TYPE CLASS TTL RDLENGTH RDATA, back to
// back in `wire` (the owner names are written by the encoder).
struct WireSet {
    const uint8_t* wire = nullptr;
    uint32_t len = 0;
    uint16_t count = 0;
};
inline WireSet wire_of(const RRset& s) noexcept {
    return {reinterpret_cast<const uint8_t*>(s.wire.data()), static_cast<uint32_t>(s.wire.size()),
            static_cast<uint16_t>(s.rr_offsets.size())};
}

// A node as the query path sees it: its entry in the NodeIndex arena, which holds the name,
// the flags the lookup needs and, for the usual small node, a copy of every RRset's wire, so
// that a positive answer reads one slot and one entry and never the Node itself.
class NodeRef {
public:
    NodeRef() = default;
    explicit NodeRef(const unsigned char* entry) noexcept : e_(entry) {}
    explicit operator bool() const noexcept { return e_ != nullptr; }
    bool operator==(const NodeRef& o) const noexcept { return e_ == o.e_; }

    const Node& node() const noexcept {
        const Node* n = nullptr;
        std::memcpy(static_cast<void*>(&n), e_, sizeof(void*));
        return *n;
    }
    bool delegation() const noexcept { return (e_[kFlags] & kDelegation) != 0; }
    bool empty() const noexcept { return (e_[kFlags] & kEmpty) != 0; }
    bool pooled() const noexcept { return (e_[kFlags] & kPooled) != 0; }
    // The RRset of `type` at this node, from the inline copy when the entry has one.
    bool find(uint16_t type, WireSet& out) const noexcept;

    // Entry layout, 8-byte aligned: Node* | name length | flags | RRset count | pad | name |
    // per inline RRset: type, RR count, wire length (u16 each, host order) | wire.
    static constexpr size_t kNameLen = 8;
    static constexpr size_t kFlags = 9;
    static constexpr size_t kSets = 10;
    static constexpr size_t kName = 12;
    static constexpr uint8_t kDelegation = 1;
    static constexpr uint8_t kEmpty = 2;
    static constexpr uint8_t kPooled = 4;
    static constexpr uint8_t kInline = 8;      // the RRsets' wire follows the name
    static constexpr size_t kMaxInline = 256;  // bytes of inline wire per node, headers included

private:
    const unsigned char* e_ = nullptr;
};

// The query path's view of a zone's node table: open addressing with linear probing over a
// power-of-two array of (64-bit name hash, entry) slots, at most half full, and one arena of
// NodeRef entries. A lookup reads one slot line and, when the hash matches, the entry; a name
// that is not in the zone (NXDOMAIN, the closest encloser walk) usually costs the slot alone.
// std::unordered_map walked a bucket, a chain node and the key's heap string, then the Node,
// its RRset vector and each RRset's heap buffers.
// Built once by the loader after the node table is complete; move-only, because it points
// into the node table it was built from (moving an unordered_map keeps its nodes in place).
class NodeIndex {
public:
    NodeIndex() = default;
    NodeIndex(const NodeIndex&) = delete;
    NodeIndex& operator=(const NodeIndex&) = delete;
    NodeIndex(NodeIndex&&) noexcept = default;
    NodeIndex& operator=(NodeIndex&&) noexcept = default;

    void build(const std::unordered_map<std::string, Node, NameHash, NameEq>& nodes);
    bool built() const noexcept { return !slots_.empty(); }
    NodeRef find(std::string_view name) const noexcept;
    size_t memory_bytes() const noexcept {
        return slots_.capacity() * sizeof(Slot) + arena_.capacity() * sizeof(uint64_t);
    }

private:
    struct Slot {
        uint64_t hash = 0;
        const unsigned char* entry = nullptr;  // null: empty
    };
    std::vector<Slot> slots_;
    std::vector<uint64_t> arena_;  // 8-byte words keep every entry's Node* aligned
    uint64_t mask_ = 0;
};

// "dnssec" of a zone file.
struct DnssecPolicy {
    bool on = false;
    uint8_t algorithm = 13;  // 13 ECDSAP256SHA256, 15 Ed25519
    bool split = false;      // KSK + ZSK; default one combined key (CSK)
    bool nsec3 = false;      // NSEC3 (RFC 9276: 0 iterations, no salt); default NSEC
};

// One link of the denial chain: the owner (lower-cased wire; for NSEC3 the hashed name) and
// its signed NSEC or NSEC3 RRset.
struct DenialLink {
    std::string owner;
    const RRset* set = nullptr;
};

// What signing made, for /status and /metrics.
struct SigningInfo {
    std::vector<std::string> keys;  // "tag alg flags state"
    uint32_t expires = 0;           // the earliest signature expiry (Unix seconds)
    int64_t refresh_at = 0;         // when the control plane signs again
    uint64_t signatures = 0;
    uint64_t signature_bytes = 0;
    double signing_ms = 0;
    std::string key_error;  // why a signing attempt failed; empty: none
};

struct Zone {
    std::string file;  // where it was loaded from
    // BLAKE2b-256 of the file's bytes: a reload keeps the loaded zone when they did not change.
    std::array<uint8_t, 32> source_digest{};
    std::string origin;       // lower-cased wire format
    std::string origin_text;  // presentation, with trailing dot
    uint32_t serial = 0;
    uint32_t neg_ttl_s = 0;  // min(SOA TTL, SOA minimum), RFC 2308 section 5
    size_t record_count = 0;
    // Every owner name, plus every empty non-terminal between an owner and the origin.
    std::unordered_map<std::string, Node, NameHash, NameEq> nodes;
    NodeIndex index;  // over `nodes`, for find(); built by the loader
    std::vector<Pool> pools;
    std::vector<Monitor> monitors;
    DnssecPolicy dnssec;
    // Signed zones: the NSEC chain (or the NSEC3 chain, in hash order), in canonical order.
    std::vector<DenialLink> denial;
    bool is_signed = false;
    SigningInfo signing;

    // The query path's lookup; needs the index (every loaded zone has one).
    NodeRef lookup(std::string_view wire_name) const noexcept { return index.find(wire_name); }
    const Node* find(std::string_view wire_name) const noexcept {
        if (index.built()) {
            NodeRef r = index.find(wire_name);
            return r ? &r.node() : nullptr;
        }
        auto it = nodes.find(wire_name);
        return it == nodes.end() ? nullptr : &it->second;
    }
    const Node& apex() const { return nodes.at(origin); }
    // Signed zones: the link whose owner is the greatest not after `wire_name` in canonical
    // order: the NSEC of the name when it has one, else the NSEC covering it.
    const DenialLink* denial_for(std::string_view wire_name) const noexcept;
};

// Canonical DNS name order (RFC 4034 section 6.1) of lower-cased wire names: <0, 0, >0.
int canonical_compare(std::string_view a, std::string_view b) noexcept;

}  // namespace dnslb::zone
