#include "dnslb/control/demand_feed.hpp"

namespace dnslb::server {

DemandFeed::DemandFeed(size_t threads, size_t entries) : book_(entries * 4) {
    for (size_t i = 0; i < threads; ++i) {
        tables_.push_back(std::make_unique<DemandTable>(entries));
    }
    size_t bytes = 0;
    for (const auto& t : tables_) {
        bytes += t->bytes();
    }
    book_.set_table_bytes(bytes);
}

std::vector<DemandTable*> DemandFeed::tables() const {
    std::vector<DemandTable*> out;
    for (const auto& t : tables_) {
        out.push_back(t.get());
    }
    return out;
}

void DemandFeed::name(const Snapshot& snap) {
    for (const auto& z : snap.zones) {
        for (const auto& p : z->pools) {
            for (const auto& o : p.origins) {
                if (o.counter >= 0) {
                    book_.name_origin(o.counter, z->origin_text, p.name, o.name);
                }
            }
        }
    }
}

void DemandFeed::collect(const geo::Resolver* geo, int64_t now_ms) {
    uint64_t dropped = 0;
    for (auto& t : tables_) {
        t->collect([&](const DemandEntry& e) {
            book_.add(e.family, e.addr, e.prefix, e.slot, e.count, geo);
        });
        dropped += t->dropped();
    }
    book_.set_table_drops(dropped);
    book_.tick(now_ms);
}

void DemandFeed::collect_stopped(const geo::Resolver* geo) {
    for (auto& t : tables_) {
        t->collect_stopped([&](const DemandEntry& e) {
            book_.add(e.family, e.addr, e.prefix, e.slot, e.count, geo);
        });
    }
}

}  // namespace dnslb::server
