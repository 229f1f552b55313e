#include "dnslb/import/zone_json.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "dnslb/zone/loader.hpp"

namespace dnslb::import {

namespace {

std::string type_text(ldns_rr_type type) {
    char* s = ldns_rr_type2str(type);
    std::string out = s != nullptr ? s : "TYPE" + std::to_string(type);
    free(s);  // NOLINT(cppcoreguidelines-no-malloc): ldns allocates with malloc
    return out;
}

// Uncompressed wire RDATA, the loader's form.
std::string rdata_wire(const ldns_rr* rr) {
    std::string out;
    for (size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
        const ldns_rdf* rdf = ldns_rr_rdf(rr, i);
        out.append(reinterpret_cast<const char*>(ldns_rdf_data(rdf)), ldns_rdf_size(rdf));
    }
    return out;
}

// Lower-cased wire name: the loader's node key (RFC 4343).
std::string name_key(const ldns_rdf* name) {
    std::string out(reinterpret_cast<const char*>(ldns_rdf_data(name)), ldns_rdf_size(name));
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

std::string rr_text(const ldns_rr* rr) {
    return rdf_text(ldns_rr_owner(rr)) + " " + type_text(ldns_rr_get_type(rr)) + " " +
           rdata_text(rr);
}

struct Set {
    ldns_rr_type type = LDNS_RR_TYPE_A;
    std::vector<const SourceRecord*> rrs;
    std::vector<std::string> wires;
};

struct Node {
    const ldns_rdf* owner = nullptr;
    std::map<uint16_t, Set> sets;  // by type number
};

bool is_dnssec_only(ldns_rr_type t) {
    // Signatures and denial records belong to a signed zone, which dnslb does not serve:
    // without the signer they would be stale on the first change.
    return t == LDNS_RR_TYPE_RRSIG || t == LDNS_RR_TYPE_NSEC || t == LDNS_RR_TYPE_NSEC3 ||
           t == LDNS_RR_TYPE_NSEC3PARAM;
}

class Builder {
public:
    Builder(const std::vector<SourceRecord>& records, std::vector<std::string>& notes)
        : records_(records), notes_(notes) {}
    ZoneJson build();

private:
    void collect();
    void prune();
    void drop(Node& node, uint16_t type, const std::string& why);
    Json soa_json() const;
    Json rrset_json(const Set& set, uint32_t zone_ttl);
    uint32_t common_ttl() const;

    const std::vector<SourceRecord>& records_;
    std::vector<std::string>& notes_;
    const SourceRecord* soa_ = nullptr;
    std::map<std::string, Node> nodes_;  // by name_key
    std::vector<const ldns_rr*> kept_;
};

void Builder::collect() {
    for (const auto& r : records_) {
        if (r.rr && ldns_rr_get_type(r.rr.get()) == LDNS_RR_TYPE_SOA &&
            ldns_rr_get_class(r.rr.get()) == LDNS_RR_CLASS_IN) {
            soa_ = &r;
            break;
        }
    }
    if (soa_ == nullptr) {
        throw ImportError((records_.empty() ? std::string("the input") : records_[0].place.file) +
                          ": no SOA record of class IN: not a zone");
    }
    const ldns_rdf* apex = ldns_rr_owner(soa_->rr.get());
    if (!ldns_dname_str_absolute(rdf_text(apex).c_str())) {
        throw ImportError(soa_->place.str() +
                          ": the SOA owner is not absolute: give the zone's name with --origin");
    }
    for (const auto& r : records_) {
        if (!r.rr || &r == soa_) {
            continue;
        }
        const ldns_rr* rr = r.rr.get();
        const ldns_rr_type type = ldns_rr_get_type(rr);
        const std::string where = r.place.str() + ": " + rr_text(rr) + ": ";
        if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
            notes_.push_back(where + "class other than IN, not converted");
        } else if (ldns_dname_compare(ldns_rr_owner(rr), apex) != 0 &&
                   !ldns_dname_is_subdomain(ldns_rr_owner(rr), apex)) {
            notes_.push_back(where + "outside the zone " + rdf_text(apex) + ", not converted");
        } else if (type == LDNS_RR_TYPE_SOA) {
            notes_.push_back(where + "a second SOA record, not converted");
        } else if (is_dnssec_only(type)) {
            notes_.push_back(where + "DNSSEC signing data; dnslb serves the zone unsigned");
        } else {
            Node& node = nodes_[name_key(ldns_rr_owner(rr))];
            node.owner = ldns_rr_owner(rr);
            Set& set = node.sets[type];
            set.type = type;
            std::string wire = rdata_wire(rr);
            if (std::find(set.wires.begin(), set.wires.end(), wire) == set.wires.end()) {
                set.wires.push_back(std::move(wire));
                set.rrs.push_back(&r);
            }
        }
    }
    nodes_[name_key(apex)].owner = apex;
}

void Builder::drop(Node& node, uint16_t type, const std::string& why) {
    const Set& set = node.sets.at(type);
    for (const auto* r : set.rrs) {
        notes_.push_back(r->place.str() + ": " + rr_text(r->rr.get()) + ": " + why +
                         ", not converted");
    }
    node.sets.erase(type);
}

// The zone's structure as a server enforces it (RFC 1034 sections 3.6.2 and 4.2.1): what
// NSD or BIND would not serve either is noted rather than written.
void Builder::prune() {
    const std::string apex = name_key(ldns_rr_owner(soa_->rr.get()));
    std::set<std::string> ns_targets;
    for (const auto& [key, node] : nodes_) {
        const auto ns = node.sets.find(LDNS_RR_TYPE_NS);
        if (ns != node.sets.end()) {
            for (const auto* r : ns->second.rrs) {
                ns_targets.insert(name_key(ldns_rr_rdf(r->rr.get(), 0)));
            }
        }
    }
    auto is_cut = [&](const std::string& key) {
        const auto it = nodes_.find(key);
        return key != apex && it != nodes_.end() && it->second.sets.count(LDNS_RR_TYPE_NS) != 0;
    };
    for (auto& [key, node] : nodes_) {
        std::string cut;
        for (size_t at = static_cast<uint8_t>(key[0]) + 1; at < key.size() - apex.size();
             at += static_cast<uint8_t>(key[at]) + 1) {
            if (is_cut(key.substr(at))) {
                cut = key.substr(at);
            }
        }
        const bool glue = ns_targets.count(key) != 0;
        std::vector<uint16_t> types;
        for (const auto& [t, s] : node.sets) {
            types.push_back(t);
        }
        for (const uint16_t t : types) {
            const bool address = t == LDNS_RR_TYPE_A || t == LDNS_RR_TYPE_AAAA;
            if (!cut.empty() && !(glue && address)) {
                drop(node, t,
                     "below the zone cut at " + rdf_text(nodes_[cut].owner) +
                         " and not glue (occluded)");
            } else if (cut.empty() && is_cut(key) && t != LDNS_RR_TYPE_NS && t != LDNS_RR_TYPE_DS &&
                       !(glue && address)) {
                drop(node, t, "at the delegation point beside NS (occluded)");
            } else if (t == LDNS_RR_TYPE_DS && !is_cut(key)) {
                drop(node, t, "DS where there is no delegation");
            }
        }
        const auto cname = node.sets.find(LDNS_RR_TYPE_CNAME);
        if (cname != node.sets.end()) {
            if (key == apex) {
                drop(node, LDNS_RR_TYPE_CNAME, "CNAME at the zone apex");
                continue;
            }
            while (cname->second.rrs.size() > 1) {
                notes_.push_back(cname->second.rrs.back()->place.str() + ": " +
                                 rr_text(cname->second.rrs.back()->rr.get()) +
                                 ": a second CNAME at one name, not converted");
                cname->second.rrs.pop_back();
                cname->second.wires.pop_back();
            }
            types.clear();
            for (const auto& [t, s] : node.sets) {
                if (t != LDNS_RR_TYPE_CNAME) {
                    types.push_back(t);
                }
            }
            for (const uint16_t t : types) {
                drop(node, t, "beside a CNAME");
            }
        }
    }
}

// The TTL most record sets have: the zone's default, so that few sets need their own.
uint32_t Builder::common_ttl() const {
    std::map<uint32_t, size_t> count;
    for (const auto& [key, node] : nodes_) {
        for (const auto& [t, set] : node.sets) {
            ++count[ldns_rr_ttl(set.rrs.front()->rr.get())];
        }
    }
    uint32_t best = ldns_rr_ttl(soa_->rr.get());
    size_t best_n = 0;
    for (const auto& [ttl, n] : count) {
        if (n > best_n) {
            best = ttl;
            best_n = n;
        }
    }
    return best;
}

Json Builder::soa_json() const {
    const ldns_rr* rr = soa_->rr.get();
    Json soa = Json::object();
    soa["mname"] = rdf_text(ldns_rr_rdf(rr, 0));
    soa["rname"] = rdf_text(ldns_rr_rdf(rr, 1));
    const char* keys[] = {"serial", "refresh", "retry", "expire", "minimum"};
    for (size_t i = 0; i < 5; ++i) {
        soa[keys[i]] = ldns_rdf2native_int32(ldns_rr_rdf(rr, i + 2));
    }
    return soa;
}

Json Builder::rrset_json(const Set& set, uint32_t zone_ttl) {
    // One TTL per RRset (RFC 2181 section 5.2): the lowest, as resolvers treat a mixed set.
    uint32_t ttl = UINT32_MAX;
    for (const auto* r : set.rrs) {
        ttl = std::min(ttl, ldns_rr_ttl(r->rr.get()));
    }
    std::vector<std::pair<std::string, const SourceRecord*>> sorted;
    for (size_t i = 0; i < set.rrs.size(); ++i) {
        sorted.emplace_back(set.wires[i], set.rrs[i]);
        if (ldns_rr_ttl(set.rrs[i]->rr.get()) != ttl) {
            notes_.push_back(set.rrs[i]->place.str() + ": " + rr_text(set.rrs[i]->rr.get()) +
                             ": TTL " + std::to_string(ldns_rr_ttl(set.rrs[i]->rr.get())) +
                             " differs within its RRset (RFC 2181 section 5.2); converted with " +
                             std::to_string(ttl));
        }
    }
    std::sort(sorted.begin(), sorted.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    Json rdata = Json::array();
    for (const auto& [wire, r] : sorted) {
        rdata.push_back(rdata_text(r->rr.get()));
        kept_.push_back(r->rr.get());
    }
    if (ttl == zone_ttl) {
        return rdata;
    }
    return Json{{"ttl", ttl}, {"rdata", std::move(rdata)}};
}

ZoneJson Builder::build() {
    collect();
    prune();
    const ldns_rdf* apex = ldns_rr_owner(soa_->rr.get());
    const uint32_t ttl = common_ttl();
    ZoneJson out;
    Json& z = out.zone;
    z["origin"] = rdf_text(apex);
    z["ttl"] = ttl;
    z["soa"] = soa_json();
    if (ldns_rr_ttl(soa_->rr.get()) != ttl) {
        z["soa"]["ttl"] = ldns_rr_ttl(soa_->rr.get());
    }
    kept_.push_back(soa_->rr.get());
    std::vector<const Node*> order;
    for (const auto& [key, node] : nodes_) {
        if (!node.sets.empty()) {
            order.push_back(&node);
        }
    }
    // Canonical order (RFC 4034 section 6.1): the apex first, a parent before its children.
    std::sort(order.begin(), order.end(), [](const Node* a, const Node* b) {
        return ldns_dname_compare(a->owner, b->owner) < 0;
    });
    Json records = Json::object();
    for (const Node* node : order) {
        Json sets = Json::object();
        for (const auto& [t, set] : node->sets) {
            sets[type_text(set.type)] = rrset_json(set, ttl);
        }
        records[relative_name(node->owner, apex)] = std::move(sets);
    }
    z["records"] = std::move(records);
    out.kept = std::move(kept_);
    return out;
}

}  // namespace

std::string relative_name(const ldns_rdf* name, const ldns_rdf* origin) {
    if (ldns_dname_compare(name, origin) == 0) {
        return "@";
    }
    if (!ldns_dname_is_subdomain(name, origin)) {
        return rdf_text(name);
    }
    const size_t labels = ldns_dname_label_count(name) - ldns_dname_label_count(origin);
    std::string out;
    for (size_t i = 0; i < labels; ++i) {
        ldns_rdf* label = ldns_dname_label(name, static_cast<uint8_t>(i));
        std::string text = rdf_text(label);
        ldns_rdf_deep_free(label);
        if (!text.empty() && text.back() == '.') {
            text.pop_back();
        }
        out += (i == 0 ? "" : ".") + text;
    }
    return out;
}

ZoneJson build_zone(const std::vector<SourceRecord>& records, std::vector<std::string>& notes) {
    return Builder(records, notes).build();
}

std::string zone_text(const Json& zone) {
    std::string out = "{\n";
    bool first = true;
    for (const auto& [key, value] : zone.items()) {
        out += first ? "" : ",\n";
        first = false;
        out += "  " + Json(key).dump() + ": ";
        if ((key == "records" || key == "pools" || key == "monitors") && value.is_object() &&
            !value.empty()) {
            out += "{\n";
            bool inner_first = true;
            for (const auto& [name, node] : value.items()) {
                out += inner_first ? "" : ",\n";
                inner_first = false;
                out += "    " + Json(name).dump() + ": " + node.dump();
            }
            out += "\n  }";
        } else if (key == "notes" && value.is_array()) {
            out += "[\n";
            for (size_t i = 0; i < value.size(); ++i) {
                out += "    " + value[i].dump() + (i + 1 < value.size() ? ",\n" : "\n");
            }
            out += "  ]";
        } else {
            out += value.dump();
        }
    }
    return out + "\n}\n";
}

void verify(const std::string& text, const std::string& label,
            const std::vector<const ldns_rr*>& kept) {
    std::unique_ptr<zone::Zone> z;
    try {
        z = zone::load_zone_text(text, label);
    } catch (const zone::LoadError& e) {
        throw ImportError(std::string("the converted zone does not load: ") + e.what());
    }
    for (const ldns_rr* rr : kept) {
        const zone::Node* node = z->find(name_key(ldns_rr_owner(rr)));
        const auto type = static_cast<uint16_t>(ldns_rr_get_type(rr));
        const zone::RRset* set = node != nullptr ? node->find(type) : nullptr;
        const std::string wire = rdata_wire(rr);
        if (set == nullptr ||
            std::find(set->rdata.begin(), set->rdata.end(), wire) == set->rdata.end()) {
            throw ImportError("the converted zone lost the record " + rr_text(rr));
        }
    }
}

}  // namespace dnslb::import
