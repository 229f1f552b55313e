// The query-path defences in isolation: the RRL token buckets (burst, refill, slip, the client
// network and response class as separate keys, the log events) and RFC 9018 server cookies
// (round trip, tampering, address binding, timestamp window, secret rotation, shared secrets).
#include "dnslb/answer/guard.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstring>

using dnslb::server::CookieSettings;
using dnslb::server::LimitedEvent;
using dnslb::server::RrlClass;
using dnslb::server::RrlSettings;
using dnslb::server::ThreadGuard;
using Verdict = dnslb::server::ThreadGuard::Verdict;

namespace {

struct V4 {
    uint8_t b[16] = {};
    V4(uint8_t a, uint8_t b1, uint8_t c, uint8_t d) : b{a, b1, c, d} {}
};

RrlSettings rrl_settings(uint32_t rate, uint32_t slip) {
    RrlSettings s;
    s.enabled = true;
    s.responses_per_second = rate;
    s.nxdomains_per_second = rate;
    s.errors_per_second = rate;
    s.referrals_per_second = rate;
    s.slip = slip;
    return s;
}

// Counts the verdicts of `n` responses at the same instant.
struct Tally {
    int send = 0;
    int slip = 0;
    int drop = 0;
};
Tally run(ThreadGuard& g, const RrlSettings& s, const V4& a, RrlClass k, uint64_t key, int n,
          uint64_t now_ms, bool attack = false, uint32_t divisor = 4) {
    Tally t;
    for (int i = 0; i < n; ++i) {
        switch (g.rrl(s, attack, divisor, 4, a.b, k, key, now_ms)) {
            case Verdict::kSend:
                ++t.send;
                break;
            case Verdict::kSlip:
                ++t.slip;
                break;
            case Verdict::kDrop:
                ++t.drop;
                break;
        }
    }
    return t;
}

constexpr uint64_t kT0 = 1'000'000;  // ms; any start will do, the table starts empty

CookieSettings cookie_settings(uint8_t seed, uint32_t rotate_s = 3600) {
    CookieSettings s;
    s.enabled = true;
    for (size_t i = 0; i < s.master.size(); ++i) {
        s.master[i] = static_cast<uint8_t>(seed + i * 7);
    }
    s.rotate_s = rotate_s;
    return s;
}

// Client cookie (8) followed by the server cookie we issue for it (16).
std::array<uint8_t, 24> issue(ThreadGuard& g, const CookieSettings& s, const V4& client,
                              uint32_t now_s, uint8_t client_seed = 0x42) {
    std::array<uint8_t, 24> c{};
    for (size_t i = 0; i < 8; ++i) {
        c[i] = static_cast<uint8_t>(client_seed + i);
    }
    g.make_server_cookie(s, c.data(), 4, client.b, now_s, c.data() + 8);
    return c;
}

// A realistic wall-clock second (2023-11), well inside one 86400 s rotation window.
constexpr uint32_t kNow = 1'700'006'400;

}  // namespace

TEST_CASE("RRL: a burst of the rate, then limited; refills at the rate", "[guard][rrl]") {
    ThreadGuard g(1024);
    RrlSettings s = rrl_settings(5, 0);
    V4 a(198, 51, 100, 7);
    Tally t = run(g, s, a, RrlClass::kPositive, 1, 20, kT0);
    CHECK(t.send == 5);
    CHECK(t.drop == 15);
    CHECK(t.slip == 0);
    // 5 per second: one token every 200 ms.
    CHECK(run(g, s, a, RrlClass::kPositive, 1, 3, kT0 + 100).send == 0);
    CHECK(run(g, s, a, RrlClass::kPositive, 3, 1, kT0 + 100).send == 1);  // another name
    CHECK(run(g, s, a, RrlClass::kPositive, 1, 3, kT0 + 200).send == 1);
    CHECK(run(g, s, a, RrlClass::kPositive, 1, 3, kT0 + 600).send == 2);
    // A long pause refills to the burst, not beyond.
    CHECK(run(g, s, a, RrlClass::kPositive, 1, 20, kT0 + 60'000).send == 5);
    CHECK(g.rrl_counters.limited[0].load() > 0);
    CHECK(g.rrl_counters.dropped.load() == g.rrl_counters.limited[0].load());
}

TEST_CASE("RRL: every slip-th limited response is slipped", "[guard][rrl]") {
    for (uint32_t slip : {1U, 2U, 3U}) {
        INFO("slip " << slip);
        ThreadGuard g(1024);
        RrlSettings s = rrl_settings(2, slip);
        V4 a(203, 0, 113, 9);
        Tally t = run(g, s, a, RrlClass::kPositive, 9, 2 + 30, kT0);
        CHECK(t.send == 2);
        CHECK(t.slip == static_cast<int>(30 / slip));
        CHECK(t.drop == 30 - static_cast<int>(30 / slip));
        CHECK(g.rrl_counters.slipped.load() == 30 / slip);
    }
    // The first limited response of a bucket is dropped, the second slipped (slip 2).
    ThreadGuard g(1024);
    RrlSettings s = rrl_settings(1, 2);
    V4 a(203, 0, 113, 9);
    CHECK(g.rrl(s, false, 1, 4, a.b, RrlClass::kPositive, 5, kT0) == Verdict::kSend);
    CHECK(g.rrl(s, false, 1, 4, a.b, RrlClass::kPositive, 5, kT0) == Verdict::kDrop);
    CHECK(g.rrl(s, false, 1, 4, a.b, RrlClass::kPositive, 5, kT0) == Verdict::kSlip);
    CHECK(g.rrl(s, false, 1, 4, a.b, RrlClass::kPositive, 5, kT0) == Verdict::kDrop);
}

TEST_CASE("RRL: the client network is the /24, another /24 has its own bucket", "[guard][rrl]") {
    ThreadGuard g(1 << 16);
    RrlSettings s = rrl_settings(4, 0);
    // Addresses of one /24 share the bucket.
    int sent = 0;
    for (uint8_t host = 1; host <= 40; ++host) {
        sent += run(g, s, V4(192, 0, 2, host), RrlClass::kPositive, 7, 1, kT0).send;
    }
    CHECK(sent == 4);
    // A neighbouring /24 starts full.
    CHECK(run(g, s, V4(192, 0, 3, 1), RrlClass::kPositive, 7, 10, kT0).send == 4);
    CHECK(run(g, s, V4(10, 0, 2, 1), RrlClass::kPositive, 7, 10, kT0).send == 4);
    // A /16 setting joins them.
    ThreadGuard g16(1 << 16);
    RrlSettings s16 = s;
    s16.ipv4_prefix = 16;
    CHECK(run(g16, s16, V4(192, 0, 2, 1), RrlClass::kPositive, 7, 10, kT0).send == 4);
    CHECK(run(g16, s16, V4(192, 0, 3, 1), RrlClass::kPositive, 7, 10, kT0).send == 0);
    // IPv6: one /56 shares, the next /56 does not.
    ThreadGuard g6(1 << 16);
    uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0x11};
    uint8_t b6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0x22};
    uint8_t c6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 1, 0x11};
    int v6_sent = 0;
    for (int i = 0; i < 10; ++i) {
        v6_sent += g6.rrl(s, false, 1, 6, i % 2 == 0 ? a6 : b6, RrlClass::kPositive, 7, kT0) ==
                   Verdict::kSend;
    }
    CHECK(v6_sent == 4);
    int other = 0;
    for (int i = 0; i < 10; ++i) {
        other += g6.rrl(s, false, 1, 6, c6, RrlClass::kPositive, 7, kT0) == Verdict::kSend;
    }
    CHECK(other == 4);
}

TEST_CASE("RRL: classes and keys are separate buckets; rates per class", "[guard][rrl]") {
    ThreadGuard g(1 << 16);
    RrlSettings s = rrl_settings(3, 0);
    s.nxdomains_per_second = 1;
    s.errors_per_second = 2;
    V4 a(192, 0, 2, 50);
    CHECK(run(g, s, a, RrlClass::kPositive, 11, 10, kT0).send == 3);
    CHECK(run(g, s, a, RrlClass::kNxDomain, 11, 10, kT0).send == 1);
    CHECK(run(g, s, a, RrlClass::kError, 11, 10, kT0).send == 2);
    CHECK(run(g, s, a, RrlClass::kReferral, 11, 10, kT0).send == 3);
    // Another name (key) of the same class: its own bucket.
    CHECK(run(g, s, a, RrlClass::kPositive, 12, 10, kT0).send == 3);
    CHECK(g.rrl_counters.limited[static_cast<size_t>(RrlClass::kNxDomain)].load() == 9);
    CHECK(g.rrl_counters.limited[static_cast<size_t>(RrlClass::kError)].load() == 8);
}

TEST_CASE("RRL: under attack the rates are divided", "[guard][rrl]") {
    ThreadGuard g(1024);
    RrlSettings s = rrl_settings(20, 0);
    V4 a(192, 0, 2, 60);
    CHECK(run(g, s, a, RrlClass::kPositive, 1, 50, kT0, true, 4).send == 5);
    ThreadGuard g2(1024);
    // Never below one per second.
    CHECK(run(g2, s, a, RrlClass::kPositive, 1, 50, kT0, true, 1000).send == 1);
}

TEST_CASE("RRL: each newly limited network is reported once", "[guard][rrl]") {
    ThreadGuard g(1 << 16);
    RrlSettings s = rrl_settings(2, 2);
    LimitedEvent e;
    CHECK_FALSE(g.pop_event(e));
    run(g, s, V4(198, 51, 100, 1), RrlClass::kPositive, 1, 100, kT0);
    run(g, s, V4(198, 51, 100, 200), RrlClass::kPositive, 1, 100, kT0);  // same /24
    run(g, s, V4(203, 0, 113, 5), RrlClass::kNxDomain, 2, 100, kT0);
    run(g, s, V4(192, 0, 2, 1), RrlClass::kPositive, 1, 2, kT0);  // within its rate
    REQUIRE(g.pop_event(e));
    CHECK(e.family == 4);
    CHECK(e.prefix == 24);
    CHECK(e.bytes[0] == 198);
    CHECK(e.bytes[1] == 51);
    CHECK(e.bytes[2] == 100);
    CHECK(e.bytes[3] == 0);  // the network, not the host
    CHECK(e.klass == RrlClass::kPositive);
    REQUIRE(g.pop_event(e));
    CHECK(e.bytes[0] == 203);
    CHECK(e.bytes[3] == 0);
    CHECK(e.klass == RrlClass::kNxDomain);
    CHECK_FALSE(g.pop_event(e));
    // Limited again after having recovered: a new event.
    run(g, s, V4(198, 51, 100, 1), RrlClass::kPositive, 1, 10, kT0 + 60'000);
    REQUIRE(g.pop_event(e));
    CHECK(e.bytes[0] == 198);
    CHECK_FALSE(g.pop_event(e));
}

TEST_CASE("RRL: the event ring drops when full instead of overwriting", "[guard][rrl]") {
    ThreadGuard g(1 << 16);
    RrlSettings s = rrl_settings(1, 0);
    size_t networks = ThreadGuard::kEvents + 20;
    for (size_t i = 0; i < networks; ++i) {
        run(g, s, V4(10, static_cast<uint8_t>(i / 256), static_cast<uint8_t>(i % 256), 1),
            RrlClass::kPositive, 1, 3, kT0);
    }
    LimitedEvent e;
    size_t popped = 0;
    while (popped < 1000 && g.pop_event(e)) {
        if (popped == 0) {
            CHECK(e.bytes[2] == 0);  // the oldest first
        }
        ++popped;
    }
    CHECK(popped == ThreadGuard::kEvents);
}

TEST_CASE("cookies: issued cookies verify; tampering and other clients do not",
          "[guard][cookies]") {
    ThreadGuard g;
    CookieSettings s = cookie_settings(1);
    V4 client(192, 0, 2, 33);
    auto c = issue(g, s, client, kNow);
    // RFC 9018 section 4.2: version 1, reserved 0, the timestamp in network order.
    CHECK(c[8] == 1);
    CHECK(c[9] == 0);
    CHECK(c[10] == 0);
    CHECK(c[11] == 0);
    uint32_t ts =
        (uint32_t{c[12]} << 24) | (uint32_t{c[13]} << 16) | (uint32_t{c[14]} << 8) | c[15];
    CHECK(ts == kNow);
    CHECK(g.valid_cookie(s, c.data(), c.size(), 4, client.b, kNow));
    CHECK(g.valid_cookie(s, c.data(), c.size(), 4, client.b, kNow + 1800));
    // Deterministic: the same inputs give the same cookie.
    CHECK(issue(g, s, client, kNow) == c);
    // Another client cookie gives another hash.
    auto other = issue(g, s, client, kNow, 0x10);
    CHECK(std::memcmp(other.data() + 16, c.data() + 16, 8) != 0);

    // Any bit changed anywhere (client cookie, version, reserved, timestamp, hash): rejected.
    for (size_t byte = 0; byte < 24; ++byte) {
        auto bad = c;
        bad[byte] ^= 0x01;
        INFO("flipped byte " << byte);
        CHECK_FALSE(g.valid_cookie(s, bad.data(), bad.size(), 4, client.b, kNow));
    }
    // Bound to the client address (RFC 9018 section 4.4).
    V4 neighbour(192, 0, 2, 34);
    CHECK_FALSE(g.valid_cookie(s, c.data(), c.size(), 4, neighbour.b, kNow));
    uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8};
    CHECK_FALSE(g.valid_cookie(s, c.data(), c.size(), 6, v6, kNow));
    // Only client (8) + server (16) of our format.
    CHECK_FALSE(g.valid_cookie(s, c.data(), 8, 4, client.b, kNow));
    CHECK_FALSE(g.valid_cookie(s, c.data(), 16, 4, client.b, kNow));
    // Another master secret: not ours.
    ThreadGuard g2;
    CHECK_FALSE(g2.valid_cookie(cookie_settings(2), c.data(), c.size(), 4, client.b, kNow));
}

TEST_CASE("cookies: IPv6 clients", "[guard][cookies]") {
    ThreadGuard g;
    CookieSettings s = cookie_settings(3);
    uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    std::array<uint8_t, 24> c{1, 2, 3, 4, 5, 6, 7, 8};
    g.make_server_cookie(s, c.data(), 6, a, kNow, c.data() + 8);
    CHECK(g.valid_cookie(s, c.data(), c.size(), 6, a, kNow));
    CHECK_FALSE(g.valid_cookie(s, c.data(), c.size(), 6, b, kNow));
}

TEST_CASE("cookies: the timestamp window is one hour back, five minutes ahead",
          "[guard][cookies]") {
    ThreadGuard g;
    // A day-long rotation, so only the timestamp window decides here.
    CookieSettings s = cookie_settings(4, 86400);
    uint32_t day = kNow - kNow % 86400;
    uint32_t issued = day + 40'000;
    V4 client(198, 51, 100, 2);
    auto c = issue(g, s, client, issued);
    CHECK(g.valid_cookie(s, c.data(), c.size(), 4, client.b, issued + 3600));
    CHECK_FALSE(g.valid_cookie(s, c.data(), c.size(), 4, client.b, issued + 3601));
    CHECK_FALSE(g.valid_cookie(s, c.data(), c.size(), 4, client.b, issued + 20'000));
    CHECK(g.valid_cookie(s, c.data(), c.size(), 4, client.b, issued - 300));
    CHECK_FALSE(g.valid_cookie(s, c.data(), c.size(), 4, client.b, issued - 301));
    CHECK_FALSE(g.valid_cookie(s, c.data(), c.size(), 4, client.b, issued - 20'000));
}

TEST_CASE("cookies: the previous rotation's secret still counts, older ones do not",
          "[guard][cookies]") {
    ThreadGuard g;
    CookieSettings s = cookie_settings(5, 600);
    uint32_t epoch_start = kNow - kNow % 600;
    uint32_t issued = epoch_start + 550;
    V4 client(203, 0, 113, 77);
    auto c = issue(g, s, client, issued);
    CHECK(g.valid_cookie(s, c.data(), c.size(), 4, client.b, issued));
    CHECK(g.valid_cookie(s, c.data(), c.size(), 4, client.b, issued + 100));        // next epoch
    CHECK(g.valid_cookie(s, c.data(), c.size(), 4, client.b, issued + 600));        // next epoch
    CHECK_FALSE(g.valid_cookie(s, c.data(), c.size(), 4, client.b, issued + 700));  // +2
    // Issued in the next epoch at the same offset: a different hash (the secret rotated).
    auto next = issue(g, s, client, issued + 600);
    auto same_ts = next;
    std::memcpy(same_ts.data() + 12, c.data() + 12, 4);  // the old timestamp, the new hash
    CHECK_FALSE(g.valid_cookie(s, same_ts.data(), same_ts.size(), 4, client.b, issued + 600));
}

TEST_CASE("cookies: servers sharing the master secret accept each other's cookies",
          "[guard][cookies]") {
    ThreadGuard a;
    ThreadGuard b(2048);
    CookieSettings sa = cookie_settings(6);
    CookieSettings sb = cookie_settings(6);
    V4 client(192, 0, 2, 99);
    auto ca = issue(a, sa, client, kNow);
    auto cb = issue(b, sb, client, kNow);
    CHECK(ca == cb);
    CHECK(b.valid_cookie(sb, ca.data(), ca.size(), 4, client.b, kNow + 5));
    CHECK(a.valid_cookie(sa, cb.data(), cb.size(), 4, client.b, kNow + 5));
    // Changing the master of one (configuration reload) invalidates the other's cookies.
    CookieSettings sc = cookie_settings(7);
    CHECK_FALSE(b.valid_cookie(sc, ca.data(), ca.size(), 4, client.b, kNow + 5));
    CHECK(b.valid_cookie(sb, ca.data(), ca.size(), 4, client.b, kNow + 5));
}

TEST_CASE("cookies: secrets parse from 32 hex digits", "[guard][cookies]") {
    auto m = dnslb::server::parse_secret("000102030405060708090a0b0c0d0e0f");
    for (size_t i = 0; i < m.size(); ++i) {
        CHECK(m[i] == i);
    }
    CHECK_THROWS(dnslb::server::parse_secret("00010203"));
    CHECK_THROWS(dnslb::server::parse_secret("zz0102030405060708090a0b0c0d0e0f"));
    CHECK(dnslb::server::random_secret() != dnslb::server::random_secret());
}
