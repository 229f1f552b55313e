// RRset rendering and the name hash. render() runs at load; NameHash runs on every lookup.
#include "dnslb/zone/zone.hpp"

#include <algorithm>
#include <cstring>

#include "dnslb/base/hash.hpp"
#include "dnslb/dns/wire.hpp"

namespace dnslb::zone {

namespace {

constexpr uint16_t kClassIN = 1;  // RFC 1035 section 3.2.4

void put16(std::string& out, uint16_t v) {
    out.push_back(static_cast<char>(v >> 8));
    out.push_back(static_cast<char>(v & 0xff));
}

void put32(std::string& out, uint32_t v) {
    put16(out, static_cast<uint16_t>(v >> 16));
    put16(out, static_cast<uint16_t>(v & 0xffff));
}

}  // namespace

void RRset::render() {
    wire.clear();
    rr_offsets.clear();
    rr_offsets.reserve(rdata.size());
    size_t size = 0;
    for (const auto& rd : rdata) {
        size += 10 + rd.size();
    }
    wire.reserve(size);  // one allocation of the final size: zones hold millions of these
    for (const auto& rd : rdata) {
        rr_offsets.push_back(static_cast<uint32_t>(wire.size()));
        put16(wire, type);
        put16(wire, kClassIN);
        put32(wire, ttl);
        // The loader rejects RDATA over 65535 bytes (ldns cannot produce it either).
        put16(wire, static_cast<uint16_t>(rd.size()));
        wire.append(rd);
    }
}

// Names are at most 255 bytes (RFC 1035 section 2.3.4), so a word-at-a-time multiply-mix hash
// is a handful of multiplications per lookup. Keys are already lower-cased wire format.
size_t NameHash::operator()(std::string_view s) const noexcept {
    using hash::kSeed;
    using hash::kStep;
    uint64_t h = kSeed ^ s.size();
    const char* p = s.data();
    size_t n = s.size();
    while (n >= 8) {
        h = hash::mul_fold(h ^ hash::load64(p), kStep);
        p += 8;
        n -= 8;
    }
    uint64_t tail = 0;
    for (size_t i = 0; i < n; ++i) {
        tail |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
    }
    h = hash::mul_fold(h ^ tail, kStep ^ n);
    return static_cast<size_t>(hash::mul_fold(h, kSeed));
}

uint64_t address_key(const uint8_t* bytes, size_t len) noexcept {
    uint64_t h = hash::kSeed ^ len;
    uint64_t w[2] = {};
    std::memcpy(w, bytes, std::min<size_t>(len, sizeof w));
    h = hash::mul_fold(h ^ w[0], hash::kStep);
    h = hash::mul_fold(h ^ w[1], hash::kStep ^ len);
    return hash::mul_fold(h, hash::kSeed);
}

namespace {

// The start of each label of a wire name, from the left; returns the count.
size_t label_starts(std::string_view n, uint8_t* at) noexcept {
    size_t count = 0;
    for (size_t i = 0; i < n.size() && n[i] != 0 && count < dns::kMaxLabels;
         i += 1 + static_cast<uint8_t>(n[i])) {
        at[count++] = static_cast<uint8_t>(i);
    }
    return count;
}

}  // namespace

int canonical_compare(std::string_view a, std::string_view b) noexcept {
    uint8_t la[dns::kMaxLabels];
    uint8_t lb[dns::kMaxLabels];
    const size_t na = label_starts(a, la);
    const size_t nb = label_starts(b, lb);
    for (size_t k = 1; k <= na && k <= nb; ++k) {
        const size_t pa = la[na - k];
        const size_t pb = lb[nb - k];
        const size_t ca = static_cast<uint8_t>(a[pa]);
        const size_t cb = static_cast<uint8_t>(b[pb]);
        const int c = std::memcmp(a.data() + pa + 1, b.data() + pb + 1, std::min(ca, cb));
        if (c != 0) {
            return c;
        }
        if (ca != cb) {
            return ca < cb ? -1 : 1;
        }
    }
    return na == nb ? 0 : (na < nb ? -1 : 1);
}

const DenialLink* Zone::denial_for(std::string_view wire_name) const noexcept {
    if (denial.empty()) {
        return nullptr;
    }
    size_t lo = 0;
    size_t hi = denial.size();
    while (lo < hi) {  // the first link after the name
        const size_t mid = (lo + hi) / 2;
        if (canonical_compare(denial[mid].owner, wire_name) <= 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return &denial[lo == 0 ? denial.size() - 1 : lo - 1];
}

namespace {

// Bytes of inline RRset wire a node's entry gets: 0 when the node's RRsets do not fit in
// NodeRef::kMaxInline (then the query path reads them from the Node).
size_t inline_bytes(const Node& node) noexcept {
    size_t total = 0;
    for (const auto& set : node.rrsets) {
        total += 6 + set.wire.size();
    }
    return node.rrsets.size() <= 255 && total <= NodeRef::kMaxInline ? total : 0;
}

size_t entry_words(const std::string& name, const Node& node) noexcept {
    return (NodeRef::kName + name.size() + inline_bytes(node) + 7) / 8;
}

void put_u16(unsigned char* p, uint16_t v) noexcept { std::memcpy(p, &v, sizeof v); }
uint16_t get_u16(const unsigned char* p) noexcept {
    uint16_t v = 0;
    std::memcpy(&v, p, sizeof v);
    return v;
}

}  // namespace

bool NodeRef::find(uint16_t type, WireSet& out) const noexcept {
    if ((e_[kFlags] & kInline) == 0) {
        const RRset* set = node().find(type);
        if (set == nullptr) {
            return false;
        }
        out = wire_of(*set);
        return true;
    }
    const unsigned char* p = e_ + kName + e_[kNameLen];
    for (unsigned i = 0, n = e_[kSets]; i < n; ++i) {
        const uint16_t len = get_u16(p + 4);
        if (get_u16(p) == type) {
            out = {p + 6, len, get_u16(p + 2)};
            return true;
        }
        p += 6 + len;
    }
    return false;
}

void NodeIndex::build(const std::unordered_map<std::string, Node, NameHash, NameEq>& nodes) {
    size_t capacity = 16;
    while (capacity < 2 * nodes.size()) {
        capacity *= 2;
    }
    size_t words = 0;
    for (const auto& [name, node] : nodes) {
        words += entry_words(name, node);
    }
    slots_.assign(capacity, Slot{});
    arena_.assign(words, 0);
    mask_ = capacity - 1;
    const NameHash hash;
    size_t at = 0;
    for (const auto& [name, node] : nodes) {
        auto* entry = reinterpret_cast<unsigned char*>(arena_.data() + at);
        at += entry_words(name, node);
        const Node* ptr = &node;
        std::memcpy(entry, static_cast<const void*>(&ptr), sizeof(void*));
        entry[NodeRef::kNameLen] = static_cast<unsigned char>(name.size());  // <= 255 bytes
        uint8_t flags = 0;
        flags |= node.delegation ? NodeRef::kDelegation : 0;
        flags |= node.empty() ? NodeRef::kEmpty : 0;
        flags |= node.pool >= 0 ? NodeRef::kPooled : 0;
        unsigned char* p = entry + NodeRef::kName;
        p = std::copy(name.begin(), name.end(), p);
        if (!node.rrsets.empty() && inline_bytes(node) != 0) {
            flags |= NodeRef::kInline;
            entry[NodeRef::kSets] = static_cast<unsigned char>(node.rrsets.size());
            for (const auto& set : node.rrsets) {
                put_u16(p, set.type);
                put_u16(p + 2, static_cast<uint16_t>(set.rr_offsets.size()));
                put_u16(p + 4, static_cast<uint16_t>(set.wire.size()));
                p = std::copy(set.wire.begin(), set.wire.end(), p + 6);
            }
        }
        entry[NodeRef::kFlags] = flags;
        const uint64_t h = hash(name);
        size_t i = h & mask_;
        while (slots_[i].entry != nullptr) {
            i = (i + 1) & mask_;
        }
        slots_[i] = Slot{h, entry};
    }
}

NodeRef NodeIndex::find(std::string_view name) const noexcept {
    if (slots_.empty()) {
        return NodeRef{};
    }
    const uint64_t h = NameHash{}(name);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
        const Slot& s = slots_[i];
        if (s.entry == nullptr) {
            return NodeRef{};
        }
        if (s.hash == h && s.entry[NodeRef::kNameLen] == name.size() &&
            std::memcmp(s.entry + NodeRef::kName, name.data(), name.size()) == 0) {
            return NodeRef{s.entry};
        }
    }
}

}  // namespace dnslb::zone
