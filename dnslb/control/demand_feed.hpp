// Demand recording, control side: one DemandTable per query thread, drained into the
// DemandBook once a second; the book is named after every snapshot (counter slots to zone,
// pool and origin) and saved to / loaded from the "demand" file when one is configured.
//
// Thread contract: the control thread alone calls every member; the book is read by the API
// thread through its own lock.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dnslb/answer/demand.hpp"
#include "dnslb/answer/snapshot.hpp"
#include "dnslb/plan/demand_book.hpp"

namespace dnslb::server {

class DemandFeed {
public:
    // `threads` tables of `entries` slots each (per half); the merged book holds up to
    // `entries` * 4 (network, origin) pairs.
    DemandFeed(size_t threads, size_t entries);

    std::vector<DemandTable*> tables() const;
    const plan::DemandBook& book() const noexcept { return book_; }
    plan::DemandBook& book() noexcept { return book_; }

    // Names the counter slots of every origin of `snap`.
    void name(const Snapshot& snap);
    // Drains every table that has switched halves; closes history buckets.
    void collect(const geo::Resolver* geo, int64_t now_ms);
    // After the query threads have stopped: everything left in the tables.
    void collect_stopped(const geo::Resolver* geo);

private:
    std::vector<std::unique_ptr<DemandTable>> tables_;
    plan::DemandBook book_;
};

}  // namespace dnslb::server
