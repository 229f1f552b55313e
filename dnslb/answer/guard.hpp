// Defences of the query path against floods and reflection: Response Rate Limiting (as BIND,
// Knot and NSD define it), DNS Cookies (RFC 7873, server cookies per RFC 9018) and the
// under-attack mode.
//
// Thread contract: GuardSettings are immutable (part of a Snapshot). AttackState is shared:
// written by the control thread (API, automatic trigger), read relaxed by workers. Every
// worker owns one ThreadGuard (its RRL table and cookie-secret cache): no locks, no
// allocation after construction.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "dnslb/config/guard_settings.hpp"

namespace dnslb::server {

struct Network;

using config::AttackSettings;
using config::CookieSettings;
using config::RrlSettings;

struct GuardSettings {
    RrlSettings rrl;
    CookieSettings cookies;
    AttackSettings attack;
};

// Shared, process-wide.
struct AttackState {
    std::atomic<bool> manual{false};     // switched on through the API
    std::atomic<bool> automatic{false};  // switched on by the rate trigger
    bool on() const noexcept {
        return manual.load(std::memory_order_relaxed) || automatic.load(std::memory_order_relaxed);
    }
};

// Response classes of RRL (BIND's "responses", "nxdomains", "errors", "referrals").
enum class RrlClass : uint8_t { kPositive = 0, kNxDomain = 1, kError = 2, kReferral = 3 };

struct RrlCounters {
    std::atomic<uint64_t> limited[4] = {};  // by class
    std::atomic<uint64_t> slipped = {};
    std::atomic<uint64_t> dropped = {};
    std::atomic<uint64_t> exempt_cookie = {};  // not rate-limited: the client had a valid cookie
};

struct CookieCounters {
    std::atomic<uint64_t> client_only = {};
    std::atomic<uint64_t> valid = {};
    std::atomic<uint64_t> invalid = {};
    std::atomic<uint64_t> badcookie = {};
};

// A newly limited network, reported to the control thread for a log line.
struct LimitedEvent {
    uint8_t family = 0;
    uint8_t prefix = 0;
    uint8_t bytes[16] = {};
    RrlClass klass = RrlClass::kPositive;
};

class ThreadGuard {
public:
    explicit ThreadGuard(uint32_t table_size = 65536);

    enum class Verdict : uint8_t { kSend, kSlip, kDrop };
    // RRL decision for one UDP response. `key` identifies the name/zone/cut of the class.
    Verdict rrl(const RrlSettings& s, bool attack, uint32_t divisor, int family,
                const uint8_t* addr, RrlClass klass, uint64_t key, uint64_t now_ms) noexcept;

    // RFC 9018 server cookie for (client cookie, client address) at `now_s`; writes 16 bytes.
    void make_server_cookie(const CookieSettings& s, const uint8_t* client_cookie, int family,
                            const uint8_t* addr, uint32_t now_s, uint8_t* out) noexcept;
    // True when `cookie` (client 8 + server 16) is one we issued within the last hour (or
    // 5 minutes ahead), under the current or the previous secret.
    bool valid_cookie(const CookieSettings& s, const uint8_t* cookie, size_t len, int family,
                      const uint8_t* addr, uint32_t now_s) noexcept;

    RrlCounters rrl_counters;
    CookieCounters cookie_counters;

    // Single-producer (this worker) / single-consumer (control thread) ring of newly limited
    // networks; full: the event is dropped (the log is itself rate-limited).
    static constexpr size_t kEvents = 64;
    bool pop_event(LimitedEvent& out) noexcept;

private:
    struct Bucket {
        uint64_t key = 0;
        int64_t tokens_milli = 0;  // thousandths of a response
        uint64_t last_ms = 0;
        uint32_t slip_count = 0;
        bool limited = false;
    };
    const std::array<uint8_t, 16>& secret_for(const CookieSettings& s, uint64_t epoch) noexcept;
    void push_event(int family, const uint8_t* addr, uint8_t prefix, RrlClass k) noexcept;

    std::vector<Bucket> table_;
    uint64_t mask_;
    // Derived secrets cached per rotation epoch (recomputed once per rotate_s).
    uint64_t cached_epoch_[2] = {UINT64_MAX, UINT64_MAX};
    std::array<uint8_t, 16> cached_secret_[2] = {};
    std::array<uint8_t, 16> cached_master_{};
    LimitedEvent events_[kEvents];
    std::atomic<uint64_t> ev_head_{0};
    std::atomic<uint64_t> ev_tail_{0};
};

// Parses 32 hex digits into a master secret; throws std::invalid_argument.
std::array<uint8_t, 16> parse_secret(const std::string& hex);
std::array<uint8_t, 16> random_secret();

}  // namespace dnslb::server
