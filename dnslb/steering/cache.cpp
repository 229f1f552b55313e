#include "dnslb/steering/cache.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "dnslb/base/hash.hpp"

namespace dnslb::steering {

namespace {

uint64_t fold(uint64_t h, uint64_t v) noexcept { return hash::mul_fold(h ^ v, hash::kStep); }

}  // namespace

// Way order packed two bits per position; 0b11'10'01'00 lists ways 0, 1, 2, 3.
constexpr uint8_t kInitialOrder = 0xE4;

DecisionCache::DecisionCache(size_t entries) {
    sets_ = 1;
    while (sets_ * kWays < entries) {
        sets_ *= 2;
    }
    table_ = std::make_unique<Entry[]>(sets_ * kWays);
    tags_ = std::make_unique<uint64_t[]>(sets_);
    order_ = std::make_unique<uint8_t[]>(sets_);
    std::fill_n(order_.get(), sets_, kInitialOrder);
}

void DecisionCache::validate(uint64_t generation, uint64_t health_epoch) noexcept {
    if (primed_ && generation == generation_ && health_epoch == epoch_) {
        return;
    }
    primed_ = true;
    generation_ = generation;
    epoch_ = health_epoch;
    if (++stamp_ == 0) {  // wrapped: old stamps could come back, so really empty the table
        std::fill_n(table_.get(), sets_ * kWays, Entry{});
        std::fill_n(tags_.get(), sets_, 0);
        stamp_ = 1;
    }
}

DecisionCache::Slot DecisionCache::slot_of(const Key& k) const noexcept {
    uint64_t h = fold(reinterpret_cast<uintptr_t>(k.zone), static_cast<uint32_t>(k.pool));
    h = fold(h, hash::load64(k.addr) ^ (static_cast<uint64_t>(k.prefix) << 56));
    h = fold(h, hash::load64(k.addr + 8) ^ (static_cast<uint64_t>(k.qfamily) << 8) ^ k.family);
    return {static_cast<size_t>(h) & (sets_ - 1), static_cast<uint16_t>((h >> 48) | 1)};
}

bool DecisionCache::same_key(const Entry& e, const Key& k) const noexcept {
    return e.zone == k.zone && e.pool == k.pool && e.qfamily == k.qfamily && e.family == k.family &&
           e.prefix == k.prefix && e.ecs == static_cast<uint8_t>(k.ecs) &&
           std::memcmp(e.addr, k.addr, 16) == 0;
}

// Moves `way` to the front of its set's recency order.
void DecisionCache::touch(size_t set, unsigned way) noexcept {
    unsigned order = order_[set];
    unsigned out = way;
    for (unsigned pos = 0, shift = 2; pos < kWays; ++pos) {
        const unsigned w = (order >> (2 * pos)) & 3;
        if (w != way) {
            out |= w << shift;
            shift += 2;
        }
    }
    order_[set] = static_cast<uint8_t>(out);
}

bool DecisionCache::find(const Key& k, Steered* out) noexcept {
    const Slot s = slot_of(k);
    const uint64_t tags = tags_[s.set];
    for (unsigned way = 0; way < kWays; ++way) {
        if (static_cast<uint16_t>(tags >> (16 * way)) != s.tag) {
            continue;
        }
        const Entry& e = table_[s.set * kWays + way];
        if (e.stamp != stamp_ || !same_key(e, k)) {
            continue;
        }
        touch(s.set, way);
        Decision& d = out->d;
        d = Decision{};
        d.kind = static_cast<Decision::Kind>(e.kind);
        d.pool = e.answer_pool;
        d.degraded = (e.flags & 1) != 0;
        d.all_down = (e.flags & 2) != 0;
        d.location_used = (e.flags & 4) != 0;
        d.count = e.count;
        for (size_t i = 0; i < e.count; ++i) {
            d.origins[i] = e.origins[i];
        }
        out->prefix_len = e.prefix_len;
        ++hits_;
        return true;
    }
    ++misses_;
    return false;
}

void DecisionCache::store(const Key& k, const Steered& s) noexcept {
    const Slot slot = slot_of(k);
    uint64_t& tags = tags_[slot.set];
    // The way this key had (an older stamp), else an empty one, else the least recently used;
    // it is not moved to the front (see the header).
    unsigned way = kWays;
    for (unsigned w = 0; w < kWays && way == kWays; ++w) {
        const uint16_t t = static_cast<uint16_t>(tags >> (16 * w));
        if (t == slot.tag && same_key(table_[slot.set * kWays + w], k)) {
            way = w;
        }
    }
    for (unsigned w = 0; w < kWays && way == kWays; ++w) {
        const uint16_t t = static_cast<uint16_t>(tags >> (16 * w));
        if (t == 0 || table_[slot.set * kWays + w].stamp != stamp_) {
            way = w;
        }
    }
    if (way == kWays) {
        way = (order_[slot.set] >> (2 * (kWays - 1))) & 3;
    }
    tags = (tags & ~(uint64_t{0xFFFF} << (16 * way))) | (uint64_t{slot.tag} << (16 * way));
    Entry& e = table_[slot.set * kWays + way];
    e.stamp = stamp_;
    e.pool = k.pool;
    e.zone = k.zone;
    std::memcpy(e.addr, k.addr, 16);
    e.qfamily = k.qfamily;
    e.family = k.family;
    e.prefix = k.prefix;
    e.ecs = static_cast<uint8_t>(k.ecs);
    const Decision& d = s.d;
    e.kind = static_cast<uint8_t>(d.kind);
    e.flags = static_cast<uint8_t>((d.degraded ? 1 : 0) | (d.all_down ? 2 : 0) |
                                   (d.location_used ? 4 : 0));
    e.count = std::min<uint8_t>(d.count, kMaxAnswers);
    e.prefix_len = s.prefix_len;
    e.answer_pool = d.pool;
    for (size_t i = 0; i < e.count; ++i) {
        e.origins[i] = static_cast<uint8_t>(d.origins[i]);
    }
}

Steered steer_for(const zone::Zone& zone, int32_t pool, const geo::Resolver* geo,
                  const Asker& asker, int qfamily, const probes::HealthTable* health,
                  DecisionCache* cache, uint64_t generation, const ZoneGeoMap* maps) noexcept {
    DecisionCache::Key key;
    Steered s;
    if (cache != nullptr) {
        cache->validate(generation, health != nullptr ? health->epoch() : 0);
        key.zone = &zone;
        key.pool = pool;
        key.qfamily = static_cast<uint8_t>(qfamily);
        key.family = static_cast<uint8_t>(asker.family);
        key.prefix = asker.prefix;
        key.ecs = asker.ecs;
        std::memcpy(key.addr, asker.addr, asker.family == 4 ? 4 : 16);
        if (cache->find(key, &s)) {
            return s;
        }
    }
    geo::Location where;
    // Source prefix 0: the client asks for no location to be used (RFC 7871 section 7.1.2).
    if (geo != nullptr && !(asker.ecs && asker.prefix == 0)) {
        if (maps == nullptr) {
            where = geo->lookup(asker.family, asker.addr, asker.prefix);
        } else if (const PoolGeoMap* map = maps->pool(pool); map != nullptr) {
            where = map->lookup(asker.family, asker.addr, asker.prefix);
        }
    }
    uint64_t subnet = asker.ecs ? client_subnet_hash(asker.addr, 0, true, asker.prefix)
                                : client_subnet_hash(asker.addr, asker.family, false, 0);
    s.d = steer(zone, pool, where, subnet, qfamily, health);
    s.prefix_len = where.prefix_len;
    if (cache != nullptr) {
        // A random pool answers differently every time: never from the cache.
        const bool random =
            s.d.pool >= 0 && static_cast<size_t>(s.d.pool) < zone.pools.size() &&
            zone.pools[static_cast<size_t>(s.d.pool)].steering == zone::Steering::kRandom;
        if (!random) {
            cache->store(key, s);
        }
    }
    return s;
}

}  // namespace dnslb::steering
