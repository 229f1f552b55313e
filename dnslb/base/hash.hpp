// The hash building blocks of the tree, in one place. None of them is for adversaries who can
// see the output: RRL buckets and client-subnet choices are keyed by them, and the inputs are
// short (names of at most 255 bytes, addresses of 16).
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace dnslb::hash {

__extension__ using Uint128 = unsigned __int128;  // GCC/Clang builtin; pedantic-clean

// wyhash's seed and step constants.
inline constexpr uint64_t kSeed = 0xa0761d6478bd642fULL;
inline constexpr uint64_t kStep = 0xe7037ed1a0b428dbULL;

// 64x64 -> 128 multiply, folded: the mixing step of wyhash.
inline uint64_t mul_fold(uint64_t a, uint64_t b) noexcept {
    const Uint128 r = static_cast<Uint128>(a) * b;
    return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

// The splitmix64 finalizer: a bijective mix of one word.
inline uint64_t splitmix64(uint64_t x) noexcept {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

// FNV-1a over bytes: stable across builds and platforms (origin names in rendezvous hashing).
inline uint64_t fnv1a(std::string_view s) noexcept {
    uint64_t h = 0xCBF29CE484222325ULL;
    for (char c : s) {
        h = (h ^ static_cast<uint8_t>(c)) * 0x100000001B3ULL;
    }
    return h;
}

// Eight bytes in host order from any alignment.
inline uint64_t load64(const void* p) noexcept {
    uint64_t v = 0;
    std::memcpy(&v, p, 8);
    return v;
}

}  // namespace dnslb::hash
