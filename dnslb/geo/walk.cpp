// Resolver::walk(): the whole address space as ranges of constant location, for precomputed maps.
//
// A depth-first walk of each database's search tree (MMDB_read_node), left child first, so the
// ranges come out in address order. Each leaf is one database network; its record is decoded
// once per distinct data offset. The overlays that lookup() applies before the database are
// walked with it: a nets entry (longest first), then for IPv6 the ranges that embed an IPv4
// address, then the special-purpose blocks. A node is cut further while an overlay starts
// strictly inside it, and is emitted whole once no overlay does and either an overlay covers
// it or the database has a leaf there; so a database subtree under an overlay (the IPv4
// aliases an IPv6 file keeps at ::ffff:0:0/96 and 2002::/16) is not walked at all.
#include <cstring>
#include <unordered_map>

#include "dnslb/geo/resolver_impl.hpp"

namespace dnslb::geo {

namespace {

using U128 = Partition::U128;

constexpr uint32_t kNoOverlay = 0xFFFFFFF0U;  // below the Partition markers

struct Overlay {
    U128 bits = 0;  // the network, left-aligned in the family's width
    unsigned prefix = 0;
    bool net = false;  // a nets entry (else an embedding range or a special-purpose block)
    uint32_t loc = 0;  // index into Partition::locations, or a Partition marker
};

enum class Rec : uint8_t { kNode, kData, kEmpty };

U128 to_bits(const Bytes& b, unsigned width) {
    U128 v = 0;
    for (unsigned i = 0; i < width / 8; ++i) {
        v = (v << 8) | b[i];
    }
    return v;
}

class Walker {
public:
    Walker(const Database* db, Schema hint, unsigned width, Partition& out,
           std::vector<uint32_t>& starts4, std::vector<U128>& starts6, std::vector<uint32_t>& locs)
        : db_(db),
          hint_(hint),
          width_(width),
          out_(out),
          starts4_(starts4),
          starts6_(starts6),
          locs_(locs),
          child_lists_(width + 1) {}

    std::vector<Overlay> overlays;
    size_t networks = 0;

    void run(Rec kind, uint64_t value) {
        std::vector<uint16_t> all(overlays.size());
        for (size_t i = 0; i < all.size(); ++i) {
            all[i] = static_cast<uint16_t>(i);
        }
        for (auto& l : child_lists_) {
            l.reserve(overlays.size());
        }
        by_offset_.reserve(size_t{1} << 20);
        visit(0, 0, kind, value, all.data(), all.size(), -1, kNoOverlay);
    }

private:
    const Database* db_;
    Schema hint_;
    unsigned width_;
    Partition& out_;
    std::vector<uint32_t>& starts4_;
    std::vector<U128>& starts6_;
    std::vector<uint32_t>& locs_;
    std::vector<std::vector<uint16_t>> child_lists_;  // per depth: the overlays of a child
    std::unordered_map<uint32_t, uint32_t> by_offset_;

    void emit(U128 start, uint32_t loc) {
        if (!locs_.empty() && locs_.back() == loc) {
            return;  // same location as the range before: one range
        }
        if (width_ == 32) {
            starts4_.push_back(static_cast<uint32_t>(start));
        } else {
            starts6_.push_back(start);
        }
        locs_.push_back(loc);
    }

    uint32_t record(uint32_t offset) {
        auto it = by_offset_.find(offset);
        if (it != by_offset_.end()) {
            return it->second;
        }
        MMDB_entry_s entry{&db_->mmdb, offset};
        Location loc;
        const Schema other = hint_ == Schema::kCity ? Schema::kFlat : Schema::kCity;
        uint32_t index = 0;  // a record that places nobody: "placed by nothing"
        if (read_record(&entry, hint_, &loc) || read_record(&entry, other, &loc)) {
            loc.known = true;
            loc.source = Location::Source::kDatabase;
            if (loc.continent == 0) {
                loc.continent = continent_of(loc.country);
            }
            index = static_cast<uint32_t>(out_.locations.size());
            out_.locations.push_back(loc);
            ++out_.records;
        }
        by_offset_.emplace(offset, index);
        return index;
    }

    // The two children of search node `node`.
    void read(uint64_t node, Rec* kinds, uint64_t* values) const {
        MMDB_search_node_s sn{};
        kinds[0] = kinds[1] = Rec::kEmpty;
        if (db_ == nullptr ||
            MMDB_read_node(&db_->mmdb, static_cast<uint32_t>(node), &sn) != MMDB_SUCCESS) {
            return;
        }
        const uint8_t types[2] = {sn.left_record_type, sn.right_record_type};
        for (int side = 0; side < 2; ++side) {
            if (types[side] == MMDB_RECORD_TYPE_SEARCH_NODE) {
                kinds[side] = Rec::kNode;
                values[side] = side == 0 ? sn.left_record : sn.right_record;
            } else if (types[side] == MMDB_RECORD_TYPE_DATA) {
                kinds[side] = Rec::kData;
                values[side] =
                    side == 0 ? sn.left_record_entry.offset : sn.right_record_entry.offset;
            }
        }
    }

    void visit(U128 bits, unsigned depth, Rec kind, uint64_t value, const uint16_t* list, size_t n,
               int best_net, uint32_t best_other) {
        bool inside = false;
        for (size_t i = 0; i < n; ++i) {
            const Overlay& o = overlays[list[i]];
            if (o.prefix == depth) {
                if (o.net) {
                    best_net = list[i];  // deeper than any net seen on the way down
                } else {
                    best_other = o.loc;
                }
            } else {
                inside = true;
            }
        }
        if (depth == width_ ||
            (!inside && (best_net >= 0 || best_other != kNoOverlay || kind != Rec::kNode))) {
            if (kind != Rec::kNode) {
                ++networks;
            }
            uint32_t loc = 0;
            if (best_net >= 0) {
                loc = overlays[static_cast<size_t>(best_net)].loc;
            } else if (best_other != kNoOverlay) {
                loc = best_other;
            } else if (kind == Rec::kData) {
                loc = record(static_cast<uint32_t>(value));
            }
            emit(bits, loc);
            return;
        }
        Rec kinds[2] = {kind, kind};
        uint64_t values[2] = {value, value};
        if (kind == Rec::kNode) {
            read(value, kinds, values);
        }
        const unsigned shift = width_ - 1 - depth;
        std::vector<uint16_t>& child = child_lists_[depth];
        for (unsigned side = 0; side < 2; ++side) {
            child.clear();
            for (size_t i = 0; i < n; ++i) {
                const Overlay& o = overlays[list[i]];
                if (o.prefix > depth && ((o.bits >> shift) & 1U) == side) {
                    child.push_back(list[i]);
                }
            }
            // The child fills child_lists_[depth + 1]: this list stays as it is until it returns.
            const U128 child_bits = bits | (static_cast<U128>(side) << shift);
            visit(child_bits, depth + 1, kinds[side], values[side], child.data(), child.size(),
                  best_net, best_other);
        }
    }
};

// The IPv4 tree of a database: its root, or the node 96 zero bits down in an IPv6 file.
Rec ipv4_root(const Database& db, uint64_t* node) {
    *node = 0;
    if (db.mmdb.metadata.ip_version == 4) {
        return Rec::kNode;
    }
    for (int depth = 0; depth < 96; ++depth) {
        MMDB_search_node_s sn{};
        if (MMDB_read_node(&db.mmdb, static_cast<uint32_t>(*node), &sn) != MMDB_SUCCESS) {
            return Rec::kEmpty;
        }
        if (sn.left_record_type == MMDB_RECORD_TYPE_DATA) {
            *node = sn.left_record_entry.offset;
            return Rec::kData;
        }
        if (sn.left_record_type != MMDB_RECORD_TYPE_SEARCH_NODE) {
            return Rec::kEmpty;
        }
        *node = sn.left_record;
    }
    return Rec::kNode;
}

Overlay block(const uint8_t* bytes, size_t len, unsigned prefix, unsigned width, uint32_t loc) {
    Bytes b{};
    std::memcpy(b.data(), bytes, len);
    Overlay o;
    o.bits = to_bits(masked(b.data(), 16, prefix), width);
    o.prefix = prefix;
    o.loc = loc;
    return o;
}

}  // namespace

Partition Resolver::walk() const {
    Partition out;
    out.locations.emplace_back();  // [0]: placed by nothing
    std::vector<uint32_t> net_loc(impl_->nets.size());
    for (size_t i = 0; i < impl_->nets.size(); ++i) {
        net_loc[i] = static_cast<uint32_t>(out.locations.size());
        Location loc = impl_->nets[i].where;
        loc.prefix_len = 0;
        out.locations.push_back(loc);
    }
    std::vector<U128> unused6;
    std::vector<uint32_t> unused4;
    for (int family : {4, 6}) {
        const unsigned width = family == 4 ? 32 : 128;
        const int index = family == 4 ? impl_->v4_db : impl_->v6_db;
        const Database* db = index >= 0 ? impl_->dbs[static_cast<size_t>(index)].get() : nullptr;
        Walker w(db, db != nullptr ? db->hint : Schema::kCity, width, out,
                 family == 4 ? out.v4_start : unused4, family == 4 ? unused6 : out.v6_start,
                 family == 4 ? out.v4_loc : out.v6_loc);
        for (size_t i = 0; i < impl_->nets.size(); ++i) {
            const Net& n = impl_->nets[i];
            if (n.family == family) {
                Overlay o = block(n.bytes.data(), 16, n.prefix, width, net_loc[i]);
                o.net = true;
                w.overlays.push_back(o);
            }
        }
        if (family == 4) {
            for (const auto& b : kSpecialV4) {
                w.overlays.push_back(block(b.bytes, 4, b.prefix, width, 0));
            }
        } else {
            static constexpr uint8_t kMappedHead[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
            static constexpr uint8_t kSixToFour[2] = {0x20, 0x02};
            static constexpr uint8_t kTeredo[4] = {0x20, 0x01, 0, 0};
            static constexpr uint8_t kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                                      0, 0, 0, 0, 0, 0, 0, 1};
            w.overlays.push_back(block(kMappedHead, 12, 96, width, Partition::kMapped));
            w.overlays.push_back(block(kSixToFour, 2, 16, width, Partition::kSixToFour));
            w.overlays.push_back(block(kTeredo, 4, 32, width, Partition::kTeredo));
            for (const auto& b : kSpecialV6) {
                const uint8_t head[2] = {b.first, b.second};
                w.overlays.push_back(block(head, 2, b.prefix, width, 0));
            }
            w.overlays.push_back(block(kLoopback, 16, 128, width, 0));  // ::1
            w.overlays.push_back(block(kLoopback, 0, 128, width, 0));   // ::
        }
        uint64_t root = 0;
        Rec kind = Rec::kEmpty;
        if (db != nullptr) {
            kind = family == 4 ? ipv4_root(*db, &root) : Rec::kNode;
        }
        w.run(kind, root);
        (family == 4 ? out.v4_networks : out.v6_networks) = w.networks;
    }
    if (impl_->has_default) {
        for (Location& loc : out.locations) {
            if (!loc.known) {
                loc.has_coords = true;
                loc.lat = impl_->default_lat;
                loc.lon = impl_->default_lon;
                loc.source = Location::Source::kDefault;
            }
        }
    }
    return out;
}

}  // namespace dnslb::geo
