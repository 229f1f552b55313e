// Tests for dnslb/answer/query_log.hpp: the ring between a query thread (producer) and the control
// thread (consumer), its bound, its sampling rate and the documented line format.
#include "dnslb/answer/query_log.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "dnslb/base/ldns.hpp"
#include "tests/support/packets.hpp"

using dnslb::server::QueryLogRecord;
using dnslb::server::QueryLogRing;
using dnslb::test::make_query;
using dnslb::test::v4;

TEST_CASE("query log ring: bounded, drops counted, lines as documented", "[querylog]") {
    QueryLogRing ring(1.0, 7);
    const auto client = v4(192, 0, 2, 9);
    const auto q = make_query("WWW.Example.", LDNS_RR_TYPE_AAAA);
    dnslb::server::AnswerNote note;
    note.rcode = 3;
    size_t pushed = 0;
    for (size_t i = 0; i < QueryLogRing::kCapacity + 10; ++i) {
        REQUIRE(ring.sample());
        pushed += ring.push(q.data(), q.size(), client, dnslb::server::Transport::kTcp, note);
    }
    CHECK(pushed == QueryLogRing::kCapacity);
    CHECK(ring.dropped() == 10);
    std::vector<std::string> lines;
    CHECK(ring.drain([&](const QueryLogRecord& r) {
        lines.push_back(dnslb::server::format_query_record(r));
    }) == QueryLogRing::kCapacity);
    REQUIRE(!lines.empty());
    CHECK(lines[0] ==
          "query client=192.0.2.9/32 name=www.example. type=AAAA rcode=NXDOMAIN "
          "pool=- origin=- scope=0 transport=tcp");
    CHECK(ring.drain([](const auto&) {}) == 0);
}

TEST_CASE("query log ring: sampling follows the rate", "[querylog]") {
    QueryLogRing tenth(0.1, 99);
    int hits = 0;
    for (int i = 0; i < 100000; ++i) {
        hits += tenth.sample() ? 1 : 0;
    }
    CHECK(hits > 9000);
    CHECK(hits < 11000);
    CHECK_FALSE(QueryLogRing(0, 1).sample());
}

// Each record carries its sequence number in the client address: the consumer must see exactly
// the records the producer had accepted, each once and in order, with nothing torn.
TEST_CASE("query log ring: a concurrent consumer gets every accepted record once, in order",
          "[querylog]") {
    // The producer pushes until the ring has wrapped many times (a full ring makes it yield so
    // that the consumer runs even on a loaded machine), bounded in attempts and time.
    constexpr uint32_t kWanted = QueryLogRing::kCapacity * 8;
    constexpr uint32_t kMaxPushes = 4000000;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    QueryLogRing busy(1.0, 3);
    const auto q = make_query("www.example.", LDNS_RR_TYPE_A);
    dnslb::server::AnswerNote note;
    std::vector<uint32_t> accepted;
    accepted.reserve(kWanted);
    std::vector<uint32_t> seen;
    seen.reserve(kWanted);
    std::atomic<bool> done{false};
    std::thread consumer([&] {
        auto take = [&](const QueryLogRecord& r) {
            seen.push_back(static_cast<uint32_t>(r.addr[1]) << 16 |
                           static_cast<uint32_t>(r.addr[2]) << 8 | r.addr[3]);
        };
        while (!done.load()) {
            busy.drain(take);
        }
        busy.drain(take);
    });
    uint32_t pushes = 0;
    for (uint32_t i = 0;
         i < kMaxPushes && accepted.size() < kWanted && std::chrono::steady_clock::now() < deadline;
         ++i) {
        ++pushes;
        const auto client = v4(10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8),
                               static_cast<uint8_t>(i));
        if (busy.push(q.data(), q.size(), client, dnslb::server::Transport::kUdp, note)) {
            accepted.push_back(i);
        } else {
            std::this_thread::yield();
        }
    }
    done = true;
    consumer.join();
    // The ring wrapped many times while the consumer drained it, and every refused push was
    // counted as dropped.
    CHECK(accepted.size() == kWanted);
    CHECK(busy.dropped() == pushes - accepted.size());
    REQUIRE(seen.size() == accepted.size());
    CHECK(seen == accepted);
}
