// The server's picture of its demand: the counts the query threads recorded (answer/demand.hpp),
// merged by the control thread per located network and origin, with answer counters by
// continent and country and a short history (one hour at 10 s) of the answers per origin.
//
// Bounded: at most `max_entries` (network, origin) pairs; counts for a pair that does not fit
// are dropped and counted. Origins are identified by their stable answer-counter slot, so the
// book survives reloads unchanged.
//
// Thread contract: add(), name_origin(), tick(), load() on the control thread; the readers
// (json, metrics, points, save) from any thread. One mutex guards everything; it is never
// taken on the query path.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "dnslb/geo/geo.hpp"
#include "dnslb/plan/plan.hpp"

namespace dnslb::plan {

class DemandBook {
public:
    static constexpr int64_t kBucketMs = 10000;
    static constexpr size_t kBuckets = 360;  // one hour
    static constexpr size_t kDefaultEntries = 4096;

    explicit DemandBook(size_t max_entries = kDefaultEntries) : max_entries_(max_entries) {}

    // Control thread.
    void name_origin(int32_t slot, const std::string& zone, const std::string& pool,
                     const std::string& origin);
    void add(int family, const uint8_t* addr, uint8_t prefix, int32_t slot, uint64_t count,
             const geo::Resolver* geo);
    void set_table_drops(uint64_t n);
    void set_table_bytes(size_t n);
    // Closes the current history bucket when its 10 s are over (unix ms).
    void tick(int64_t now_ms);

    // Any thread.
    std::string json() const;
    std::string metrics() const;
    // The located demand of one pool (zone origin text "example.com." and pool name).
    std::vector<Point> points(const std::string& zone, const std::string& pool) const;
    size_t entries() const;
    size_t bytes() const;
    uint64_t dropped() const;

    // The file format: JSON with the entries and the counters (not the history). save() writes
    // a temporary file and renames it. Both throw std::runtime_error naming the file.
    void save(const std::string& path) const;
    // Control thread, before the server answers: adds what the file holds.
    void load(const std::string& path, const geo::Resolver* geo);

private:
    struct Key {
        std::array<uint8_t, 16> addr{};
        int32_t slot = -1;
        uint8_t family = 0;
        uint8_t prefix = 0;
        bool operator==(const Key&) const = default;
    };
    struct KeyHash {
        size_t operator()(const Key& k) const noexcept;
    };
    struct Entry {
        uint64_t queries = 0;
        bool has_coords = false;
        double lat = 0;
        double lon = 0;
        geo::CountryCode country = 0;
        geo::CountryCode continent = 0;
    };
    struct Name {
        std::string zone;
        std::string pool;
        std::string origin;
    };
    struct Bucket {
        int64_t start_ms = 0;
        std::map<int32_t, uint64_t> answers;  // by slot
    };

    void add_locked(const Key& k, uint64_t count, const geo::Resolver* geo);
    std::string name_of(int32_t slot) const;
    size_t bytes_locked() const;

    size_t max_entries_;
    mutable std::mutex mutex_;
    std::unordered_map<Key, Entry, KeyHash> entries_;
    std::map<int32_t, Name> names_;
    std::map<std::pair<int32_t, geo::CountryCode>, uint64_t> by_continent_;
    std::map<std::pair<int32_t, geo::CountryCode>, uint64_t> by_country_;
    std::deque<Bucket> history_;
    Bucket current_;
    uint64_t book_drops_ = 0;
    uint64_t table_drops_ = 0;
    size_t table_bytes_ = 0;
};

}  // namespace dnslb::plan
