// The sampled query log: a worker records a sampled query into its own single-producer,
// single-consumer ring; the control loop drains every ring every 100 ms and prints one line per
// record. The query path thus never formats, allocates, locks or writes to a file descriptor.
//
// Thread contract: QueryLogRing::sample() and push() are called by exactly one worker (the
// producer); drain() by the control thread only (the consumer). The ring's storage is allocated
// at construction and never moves. A full ring drops the record and counts the drop: a slow
// log must not slow down answers.
#pragma once

#include <arpa/inet.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dnslb/answer/context.hpp"
#include "dnslb/dns/query.hpp"
#include "dnslb/zone/loader.hpp"

namespace dnslb::server {

// One sampled query, fixed size so that the ring holds plain values.
struct QueryLogRecord {
    int64_t time_ms = 0;  // unix ms
    uint8_t family = 4;   // 4 or 6: the client subnet (ECS) or the source address
    uint8_t prefix = 32;  // ECS source prefix, or the full length for an address
    bool from_ecs = false;
    uint8_t addr[16] = {};
    uint8_t transport = 0;  // Transport
    uint16_t qtype = 0;
    uint8_t rcode = 0;
    uint8_t scope = 0;
    uint8_t qname_len = 0;    // 0: no question parsed
    uint8_t qname[255] = {};  // lower-cased wire name
    char pool[64] = {};       // "" when no pool answered
    char origins[96] = {};    // comma-separated origin names, cut at the buffer end
};

class QueryLogRing {
public:
    static constexpr size_t kCapacity = 512;  // power of two

    // `rate` in [0, 1]: the share of queries recorded. `seed` varies the sampling per worker.
    explicit QueryLogRing(double rate = 0, uint64_t seed = 1)
        : slots_(std::make_unique<QueryLogRecord[]>(kCapacity)),
          rng_(seed == 0 ? 0x9E3779B97F4A7C15ULL : seed) {
        set_rate(rate);
    }

    void set_rate(double rate) noexcept {
        rate = std::clamp(rate, 0.0, 1.0);
        threshold_ = static_cast<uint64_t>(rate * 4294967296.0);
    }

    // Producer (query path): true when this query is to be recorded. xorshift64: no syscall,
    // no shared state.
    bool sample() noexcept {
        if (threshold_ == 0) {
            return false;
        }
        rng_ ^= rng_ << 13;
        rng_ ^= rng_ >> 7;
        rng_ ^= rng_ << 17;
        return (rng_ >> 32) < threshold_;
    }

    // Producer (query path): records the query `pkt` from `client` and what the responder
    // decided (`note`, filled by respond()). The snapshot that `note.zone` belongs to must still
    // be held by the caller. Returns false when the ring is full (the record is dropped).
    bool push(const uint8_t* pkt, size_t len, const ClientAddress& client, Transport transport,
              const AnswerNote& note) noexcept {
        uint64_t head = head_.load(std::memory_order_relaxed);
        if (head - tail_.load(std::memory_order_acquire) >= kCapacity) {
            dropped_.store(dropped_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
            return false;
        }
        fill(slots_[head & (kCapacity - 1)], pkt, len, client, transport, note);
        head_.store(head + 1, std::memory_order_release);
        return true;
    }

    // Consumer: calls `sink(const QueryLogRecord&)` for every record in order; returns how many.
    template <class Sink>
    size_t drain(Sink&& sink) {
        uint64_t tail = tail_.load(std::memory_order_relaxed);
        uint64_t head = head_.load(std::memory_order_acquire);
        size_t n = 0;
        for (; tail != head; ++tail, ++n) {
            sink(slots_[tail & (kCapacity - 1)]);
        }
        tail_.store(tail, std::memory_order_release);
        return n;
    }

    uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

private:
    static void copy_text(char* out, size_t cap, const std::string& text) noexcept {
        size_t n = std::min(cap - 1, text.size());
        std::memcpy(out, text.data(), n);
        out[n] = '\0';
    }

    static void fill(QueryLogRecord& r, const uint8_t* pkt, size_t len, const ClientAddress& client,
                     Transport transport, const AnswerNote& note) noexcept {
        r.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
        r.transport = static_cast<uint8_t>(transport);
        r.rcode = note.rcode;
        r.scope = note.scope;
        // The second parse touches only a sampled packet; it keeps the producer interface to
        // what the worker already has in hand.
        dns::Query q;
        dns::ParseStatus st = dns::parse_query(pkt, len, q);
        bool have_q = st != dns::ParseStatus::kDrop && q.question_end != 0;
        r.qname_len = have_q ? static_cast<uint8_t>(std::min<size_t>(q.qname_len, 255)) : 0;
        std::memcpy(r.qname, q.qname_lower, r.qname_len);
        r.qtype = have_q ? q.qtype : 0;
        r.from_ecs = q.has_ecs;
        if (q.has_ecs) {
            r.family = q.ecs.family == 1 ? 4 : 6;
            r.prefix = q.ecs.source_prefix;
            std::memcpy(r.addr, q.ecs.address, 16);
        } else {
            r.family = static_cast<uint8_t>(client.family);
            r.prefix = client.family == 4 ? 32 : 128;
            std::memcpy(r.addr, client.bytes, 16);
        }
        r.pool[0] = '\0';
        r.origins[0] = '\0';
        if (note.zone == nullptr || note.pool < 0 ||
            static_cast<size_t>(note.pool) >= note.zone->pools.size()) {
            return;
        }
        const zone::Pool& pool = note.zone->pools[static_cast<size_t>(note.pool)];
        copy_text(r.pool, sizeof(r.pool), pool.name);
        size_t pos = 0;
        for (uint8_t i = 0; i < note.origin_count && i < 16; ++i) {
            if (note.origins[i] >= pool.origins.size()) {
                continue;
            }
            const std::string& name = pool.origins[note.origins[i]].name;
            if (pos + name.size() + 2 > sizeof(r.origins)) {
                break;
            }
            if (pos != 0) {
                r.origins[pos++] = ',';
            }
            std::memcpy(r.origins + pos, name.data(), name.size());
            pos += name.size();
            r.origins[pos] = '\0';
        }
    }

    std::unique_ptr<QueryLogRecord[]> slots_;
    alignas(64) std::atomic<uint64_t> head_{0};  // written by the producer
    alignas(64) std::atomic<uint64_t> tail_{0};  // written by the consumer
    alignas(64) uint64_t rng_;                   // producer only
    uint64_t threshold_ = 0;                     // sample when the top 32 bits are below
    std::atomic<uint64_t> dropped_{0};
};

// The text of one record: "query client=192.0.2.0/24 ecs name=www.example. type=A
// rcode=NOERROR pool=web origin=fra scope=24 transport=udp".
inline std::string format_query_record(const QueryLogRecord& r) {
    char addr[INET6_ADDRSTRLEN] = {};
    inet_ntop(r.family == 4 ? AF_INET : AF_INET6, r.addr, addr, sizeof(addr));
    static constexpr const char* kRcodes[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                              "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                              "NXRRSET", "NOTAUTH", "NOTZONE"};
    std::string rcode =
        r.rcode < std::size(kRcodes) ? kRcodes[r.rcode] : "RCODE" + std::to_string(r.rcode);
    std::string type;
    switch (r.qtype) {
        case dns::kTypeA:
            type = "A";
            break;
        case dns::kTypeNS:
            type = "NS";
            break;
        case dns::kTypeCNAME:
            type = "CNAME";
            break;
        case dns::kTypeSOA:
            type = "SOA";
            break;
        case dns::kTypeMX:
            type = "MX";
            break;
        case dns::kTypeTXT:
            type = "TXT";
            break;
        case dns::kTypeAAAA:
            type = "AAAA";
            break;
        case dns::kTypeSRV:
            type = "SRV";
            break;
        case dns::kTypeANY:
            type = "ANY";
            break;
        default:
            type = "TYPE" + std::to_string(r.qtype);
            break;
    }
    std::string name = r.qname_len == 0 ? std::string("-")
                                        : zone::wire_to_text(std::string_view(
                                              reinterpret_cast<const char*>(r.qname), r.qname_len));
    std::string line = "query client=" + std::string(addr) + "/" + std::to_string(r.prefix) +
                       (r.from_ecs ? " ecs" : "") + " name=" + name + " type=" + type +
                       " rcode=" + rcode;
    line += " pool=" + std::string(r.pool[0] != '\0' ? r.pool : "-");
    line += " origin=" + std::string(r.origins[0] != '\0' ? r.origins : "-");
    line += " scope=" + std::to_string(r.scope);
    line +=
        r.transport == static_cast<uint8_t>(Transport::kTcp) ? " transport=tcp" : " transport=udp";
    return line;
}

// One ring per worker, created by the control thread before the workers start.
class QueryLog {
public:
    QueryLog(size_t workers, double rate) {
        for (size_t i = 0; i < workers; ++i) {
            rings_.push_back(std::make_unique<QueryLogRing>(rate, 0x2545F4914F6CDD1DULL * (i + 1)));
        }
    }
    size_t size() const noexcept { return rings_.size(); }
    QueryLogRing* ring(size_t worker) noexcept {
        return worker < rings_.size() ? rings_[worker].get() : nullptr;
    }
    // Consumer: formats every pending record of every ring and hands the lines to `sink`.
    template <class Sink>
    size_t drain(Sink&& sink) {
        size_t n = 0;
        for (auto& r : rings_) {
            n += r->drain([&](const QueryLogRecord& rec) { sink(format_query_record(rec)); });
        }
        return n;
    }
    uint64_t dropped() const noexcept {
        uint64_t n = 0;
        for (const auto& r : rings_) {
            n += r->dropped();
        }
        return n;
    }

private:
    std::vector<std::unique_ptr<QueryLogRing>> rings_;
};

}  // namespace dnslb::server
