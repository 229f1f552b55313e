#include "dnslb/answer/guard.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "dnslb/base/hash.hpp"

namespace dnslb::server {

namespace {

// The client network of RRL: the address cut to /ipv4_prefix or /ipv6_prefix.
uint8_t network_of(const RrlSettings& s, int family, const uint8_t* addr, uint8_t* out) noexcept {
    uint8_t prefix = family == 4 ? s.ipv4_prefix : s.ipv6_prefix;
    size_t len = family == 4 ? 4 : 16;
    std::memset(out, 0, 16);
    std::memcpy(out, addr, len);
    for (size_t bit = prefix; bit < len * 8; ++bit) {
        out[bit / 8] &= static_cast<uint8_t>(~(0x80U >> (bit % 8)));
    }
    return prefix;
}

uint32_t rate_for(const RrlSettings& s, RrlClass k) noexcept {
    switch (k) {
        case RrlClass::kPositive:
            return s.responses_per_second;
        case RrlClass::kNxDomain:
            return s.nxdomains_per_second;
        case RrlClass::kError:
            return s.errors_per_second;
        case RrlClass::kReferral:
            return s.referrals_per_second;
    }
    return s.responses_per_second;
}

constexpr uint32_t kCookieMaxAgeS = 3600;  // RFC 9018 section 4.3
constexpr uint32_t kCookieMaxAhead_s = 300;

}  // namespace

ThreadGuard::ThreadGuard(uint32_t table_size) {
    uint32_t size = 1;
    while (size < table_size) {
        size <<= 1;
    }
    table_.resize(size);
    mask_ = size - 1;
}

ThreadGuard::Verdict ThreadGuard::rrl(const RrlSettings& s, bool attack, uint32_t divisor,
                                      int family, const uint8_t* addr, RrlClass klass, uint64_t key,
                                      uint64_t now_ms) noexcept {
    uint8_t net[16];
    uint8_t prefix = network_of(s, family, addr, net);
    uint64_t a = 0;
    uint64_t b = 0;
    std::memcpy(&a, net, 8);
    std::memcpy(&b, net + 8, 8);
    uint64_t h = hash::splitmix64(hash::splitmix64(a ^ static_cast<uint64_t>(family)) ^ b ^
                                  (static_cast<uint64_t>(klass) << 56) ^ hash::splitmix64(key));
    Bucket& bk = table_[h & mask_];
    uint64_t rate = rate_for(s, klass);
    if (attack) {
        rate = std::max<uint64_t>(1, rate / std::max<uint32_t>(1, divisor));
    }
    int64_t cap = static_cast<int64_t>(rate * 1000);
    if (bk.key != h) {
        // Lossy table, as NSD's: a colliding network takes the slot over with a full bucket.
        bk = Bucket{h, cap, now_ms, 0, false};
    } else if (now_ms > bk.last_ms) {
        bk.tokens_milli = std::min<int64_t>(
            cap, bk.tokens_milli + static_cast<int64_t>((now_ms - bk.last_ms) * rate));
        bk.last_ms = now_ms;
    }
    if (bk.tokens_milli >= 1000) {
        bk.tokens_milli -= 1000;
        bk.limited = false;
        return Verdict::kSend;
    }
    if (!bk.limited) {
        bk.limited = true;
        push_event(family, net, prefix, klass);
    }
    rrl_counters.limited[static_cast<size_t>(klass)].fetch_add(1, std::memory_order_relaxed);
    ++bk.slip_count;
    if (s.slip != 0 && bk.slip_count % s.slip == 0) {
        rrl_counters.slipped.fetch_add(1, std::memory_order_relaxed);
        return Verdict::kSlip;
    }
    rrl_counters.dropped.fetch_add(1, std::memory_order_relaxed);
    return Verdict::kDrop;
}

void ThreadGuard::push_event(int family, const uint8_t* addr, uint8_t prefix, RrlClass k) noexcept {
    uint64_t head = ev_head_.load(std::memory_order_relaxed);
    if (head - ev_tail_.load(std::memory_order_acquire) >= kEvents) {
        return;
    }
    LimitedEvent& e = events_[head % kEvents];
    e.family = static_cast<uint8_t>(family);
    e.prefix = prefix;
    std::memcpy(e.bytes, addr, 16);
    e.klass = k;
    ev_head_.store(head + 1, std::memory_order_release);
}

bool ThreadGuard::pop_event(LimitedEvent& out) noexcept {
    uint64_t tail = ev_tail_.load(std::memory_order_relaxed);
    if (tail == ev_head_.load(std::memory_order_acquire)) {
        return false;
    }
    out = events_[tail % kEvents];
    ev_tail_.store(tail + 1, std::memory_order_release);
    return true;
}

const std::array<uint8_t, 16>& ThreadGuard::secret_for(const CookieSettings& s,
                                                       uint64_t epoch) noexcept {
    if (cached_master_ != s.master) {
        cached_master_ = s.master;
        cached_epoch_[0] = cached_epoch_[1] = UINT64_MAX;
    }
    size_t slot = epoch & 1;
    if (cached_epoch_[slot] != epoch) {
        // secret(epoch) = BLAKE2b-128 keyed with the master over the epoch number: every server
        // sharing the master derives the same secret for the same time window.
        uint8_t msg[8];
        for (int i = 0; i < 8; ++i) {
            msg[i] = static_cast<uint8_t>(epoch >> (56 - 8 * i));
        }
        crypto_generichash(cached_secret_[slot].data(), 16, msg, sizeof(msg), s.master.data(),
                           s.master.size());
        cached_epoch_[slot] = epoch;
    }
    return cached_secret_[slot];
}

namespace {

// RFC 9018 section 4.4: Hash = SipHash-2-4(Client Cookie | Version | Reserved | Timestamp |
// Client-IP, Server Secret).
void cookie_hash(const std::array<uint8_t, 16>& secret, const uint8_t* client_cookie,
                 const uint8_t* head8, int family, const uint8_t* addr, uint8_t* out8) {
    uint8_t msg[8 + 8 + 16];
    std::memcpy(msg, client_cookie, 8);
    std::memcpy(msg + 8, head8, 8);
    size_t alen = family == 4 ? 4 : 16;
    std::memcpy(msg + 16, addr, alen);
    crypto_shorthash_siphash24(out8, msg, 16 + alen, secret.data());
}

}  // namespace

void ThreadGuard::make_server_cookie(const CookieSettings& s, const uint8_t* client_cookie,
                                     int family, const uint8_t* addr, uint32_t now_s,
                                     uint8_t* out) noexcept {
    uint64_t epoch = now_s / std::max<uint32_t>(1, s.rotate_s);
    out[0] = 1;  // version
    out[1] = out[2] = out[3] = 0;
    out[4] = static_cast<uint8_t>(now_s >> 24);
    out[5] = static_cast<uint8_t>(now_s >> 16);
    out[6] = static_cast<uint8_t>(now_s >> 8);
    out[7] = static_cast<uint8_t>(now_s);
    cookie_hash(secret_for(s, epoch), client_cookie, out, family, addr, out + 8);
}

bool ThreadGuard::valid_cookie(const CookieSettings& s, const uint8_t* cookie, size_t len,
                               int family, const uint8_t* addr, uint32_t now_s) noexcept {
    if (len != 24 || cookie[8] != 1) {
        return false;
    }
    const uint8_t* server = cookie + 8;
    uint32_t ts = (static_cast<uint32_t>(server[4]) << 24) |
                  (static_cast<uint32_t>(server[5]) << 16) |
                  (static_cast<uint32_t>(server[6]) << 8) | server[7];
    // Serial-number arithmetic (RFC 1982) on the 32-bit timestamp.
    auto age = static_cast<int32_t>(now_s - ts);
    if (age > static_cast<int32_t>(kCookieMaxAgeS) ||
        age < -static_cast<int32_t>(kCookieMaxAhead_s)) {
        return false;
    }
    uint64_t epoch = now_s / std::max<uint32_t>(1, s.rotate_s);
    for (uint64_t e : {epoch, epoch - 1}) {
        uint8_t hash[8];
        cookie_hash(secret_for(s, e), cookie, server, family, addr, hash);
        if (sodium_memcmp(hash, server + 8, 8) == 0) {
            return true;
        }
    }
    return false;
}

std::array<uint8_t, 16> parse_secret(const std::string& hex) {
    std::array<uint8_t, 16> out{};
    size_t bin_len = 0;
    if (hex.size() != 32 ||
        sodium_hex2bin(out.data(), out.size(), hex.c_str(), hex.size(), nullptr, &bin_len,
                       nullptr) != 0 ||
        bin_len != 16) {
        throw std::invalid_argument("expected 32 hexadecimal digits (a 128-bit secret)");
    }
    return out;
}

std::array<uint8_t, 16> random_secret() {
    if (sodium_init() < 0) {
        throw std::runtime_error("libsodium failed to initialise");
    }
    std::array<uint8_t, 16> out{};
    randombytes_buf(out.data(), out.size());
    return out;
}

}  // namespace dnslb::server
