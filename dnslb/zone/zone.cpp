// RRset rendering and the name hash. render() runs at load; NameHash runs on every lookup.
#include "dnslb/zone/zone.hpp"

#include <cstring>

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

uint64_t load64(const char* p) noexcept {
    uint64_t v = 0;
    std::memcpy(&v, p, sizeof v);
    return v;
}

__extension__ using Uint128 = unsigned __int128;  // GCC/Clang builtin; pedantic-clean

// 64x64 -> 128 multiply, folded: the mixing step of wyhash.
uint64_t mix(uint64_t a, uint64_t b) noexcept {
    const Uint128 r = static_cast<Uint128>(a) * b;
    return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
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
    constexpr uint64_t kSeed = 0xa0761d6478bd642fULL;
    constexpr uint64_t kStep = 0xe7037ed1a0b428dbULL;
    uint64_t h = kSeed ^ s.size();
    const char* p = s.data();
    size_t n = s.size();
    while (n >= 8) {
        h = mix(h ^ load64(p), kStep);
        p += 8;
        n -= 8;
    }
    uint64_t tail = 0;
    for (size_t i = 0; i < n; ++i) {
        tail |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
    }
    h = mix(h ^ tail, kStep ^ n);
    return static_cast<size_t>(mix(h, kSeed));
}

}  // namespace dnslb::zone
