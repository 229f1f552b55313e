// Settings of the query-path defences (rate limiting, cookies, under-attack mode), as read
// from the server configuration ("rrl", "cookies", "attack").
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace dnslb::config {

struct RrlSettings {
    bool enabled = false;
    uint32_t responses_per_second = 20;  // positive answers, per (client network, name)
    uint32_t nxdomains_per_second = 10;  // per (client network, zone)
    uint32_t errors_per_second = 10;     // REFUSED/FORMERR/SERVFAIL/NOTIMP, per client network
    uint32_t referrals_per_second = 20;  // per (client network, cut)
    uint32_t slip = 2;                   // every Nth limited response goes out with TC=1; 0: none
    uint8_t ipv4_prefix = 24;
    uint8_t ipv6_prefix = 56;
    uint32_t table_size = 65536;  // buckets per worker
};

struct CookieSettings {
    bool enabled = true;
    // Master secret (16 bytes). Servers of one NS set configured with the same master derive the
    // same rotating secret, so a cookie from one is valid at the others (RFC 9018 section 4).
    std::array<uint8_t, 16> master{};
    uint32_t rotate_s = 3600;  // the secret changes every rotate_s; the previous one still counts
};

struct AttackSettings {
    uint64_t auto_qps = 0;          // switch on above this rate (all workers); 0: never automatic
    uint32_t tc_above_bytes = 512;  // UDP answers larger than this get TC=1 without a cookie
    uint32_t rrl_divisor = 4;       // RRL rates are divided by this while on
};

// The "tcp" key (RFC 7766 section 6.2); tcp_idle_timeout and tcp_max_connections are its
// deprecated aliases.
struct TcpSettings {
    uint32_t idle_timeout_ms = 10000;
    uint32_t max_connections = 4096;   // in total, shared out between the workers; past it
                                       // the least recently active connection goes first
    uint32_t max_per_source = 64;      // per client address, per worker
    uint32_t max_queries = 10000;      // per connection, then it is closed
    uint32_t query_timeout_ms = 2000;  // to receive one whole query once it has begun
};

struct GuardConfig {
    RrlSettings rrl;
    std::vector<std::string> rrl_exempt;  // CIDRs
    CookieSettings cookies;
    bool cookie_secret_set = false;  // else a random master secret at start
    AttackSettings attack;
};

}  // namespace dnslb::config
