#include "dnslb/control/sign.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>
#include <unordered_set>

#include "dnslb/dnssec/dnssec.hpp"
#include "dnslb/zone/loader.hpp"

namespace dnslb::server {

namespace {

using dnssec::Bytes;
using zone::LoadError;

constexpr uint16_t kTypeRRSIG = 46;
constexpr uint16_t kTypeNSEC = 47;
constexpr uint16_t kTypeDNSKEY = 48;
constexpr uint16_t kTypeNSEC3PARAM = 51;
constexpr uint16_t kTypeCDS = 59;
constexpr uint16_t kTypeCDNSKEY = 60;
constexpr uint16_t kTypeHINFO = 13;
constexpr uint16_t kTypeA = 1;
constexpr uint16_t kTypeAAAA = 28;
constexpr uint16_t kTypeNS = 2;
constexpr uint16_t kTypeDS = 43;

// What the key's timing metadata says at `now`.
bool published(const dnssec::Key& k, int64_t now) {
    return (k.publish == 0 || k.publish <= now) && (k.remove == 0 || now < k.remove);
}
bool active(const dnssec::Key& k, int64_t now) {
    return published(k, now) && (k.activate == 0 || k.activate <= now) &&
           (k.inactive == 0 || now < k.inactive);
}

std::string key_state(const dnssec::Key& k, int64_t now) {
    if (k.remove != 0 && k.remove <= now) {
        return "removed";
    }
    if (k.inactive != 0 && k.inactive <= now) {
        return "retired";
    }
    if (active(k, now)) {
        return "active";
    }
    return published(k, now) ? "published" : "created";
}

// Every key of the zone in `dir` with the zone's algorithm: K<zone>.+AAA+TTTTT.key files.
std::vector<dnssec::Key> read_keys(const zone::Zone& z, const std::string& dir) {
    namespace fs = std::filesystem;
    std::vector<dnssec::Key> keys;
    char alg[8];
    std::snprintf(alg, sizeof alg, "+%03u+", z.dnssec.algorithm);
    const std::string prefix = "k" + z.origin_text + alg;  // compared with the lower-cased name
    std::error_code ec;
    std::vector<std::string> bases;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::string name = it->path().filename().string();
        std::string lower = name;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (lower.size() > prefix.size() + 4 && lower.compare(0, prefix.size(), prefix) == 0 &&
            lower.compare(lower.size() - 4, 4, ".key") == 0) {
            bases.push_back(dir + "/" + name.substr(0, name.size() - 4));
        }
    }
    std::sort(bases.begin(), bases.end());
    for (const auto& base : bases) {
        try {
            keys.push_back(dnssec::load_key(base));
        } catch (const std::exception& e) {
            throw LoadError(z.file + ": /dnssec: key " + base + ": " + e.what());
        }
        if (keys.back().zone != z.origin_text) {
            throw LoadError(z.file + ": /dnssec: key " + base + " is for " + keys.back().zone);
        }
    }
    return keys;
}

struct Signer {
    zone::Zone& z;
    std::vector<const dnssec::Key*> zsks;  // sign every RRset but DNSKEY/CDS/CDNSKEY
    std::vector<const dnssec::Key*> ksks;  // sign DNSKEY, CDS and CDNSKEY
    dnssec::Validity validity;
    uint64_t signatures = 0;
    uint64_t bytes = 0;

    // The RRSIG RRs over one RRset of `owner` (lower-cased wire).
    zone::Signature sign(const std::string& owner, uint16_t type, uint32_t ttl,
                         const std::vector<std::string>& rdata, bool key_set = false) {
        dnssec::RRset set;
        set.owner = zone::wire_to_text(owner);
        set.type = type;
        set.ttl = ttl;
        for (const auto& rd : rdata) {
            set.rdata.emplace_back(rd.begin(), rd.end());
        }
        zone::Signature out;
        for (const dnssec::Key* k : key_set ? ksks : zsks) {
            Bytes rd = dnssec::sign_rrset(*k, set, validity.inception, validity.expiration);
            zone::RRset rr;
            rr.type = kTypeRRSIG;
            rr.ttl = ttl;
            rr.rdata.emplace_back(rd.begin(), rd.end());
            rr.render();
            out.wire += rr.wire;
            ++out.count;
            ++signatures;
        }
        bytes += out.wire.size();
        return out;
    }
    void sign(const std::string& owner, zone::RRset& set, bool key_set = false) {
        set.sig = sign(owner, set.type, set.ttl, set.rdata, key_set);
    }
};

std::string to_string(const Bytes& b) { return {b.begin(), b.end()}; }

zone::RRset make_rrset(uint16_t type, uint32_t ttl, std::vector<std::string> rdata) {
    zone::RRset s;
    s.type = type;
    s.ttl = ttl;
    s.rdata = std::move(rdata);
    std::sort(s.rdata.begin(), s.rdata.end());
    s.rdata.erase(std::unique(s.rdata.begin(), s.rdata.end()), s.rdata.end());
    return s;
}

// True when a cut lies strictly above `name` (names below a cut are glue: not signed).
bool below_cut(const zone::Zone& z, const std::string& name) {
    for (size_t pos = 0; name[pos] != 0 && name.size() - pos > z.origin.size();) {
        pos += 1 + static_cast<uint8_t>(name[pos]);
        auto it = z.nodes.find(std::string_view(name).substr(pos));
        if (it != z.nodes.end() && it->second.delegation) {
            return true;
        }
    }
    return false;
}

// The pools a pooled name answers from: its own, then the fallback chain.
std::vector<const zone::Pool*> pool_chain(const zone::Zone& z, int32_t first) {
    std::vector<const zone::Pool*> out;
    for (int32_t p = first; p >= 0 && static_cast<size_t>(p) < z.pools.size();
         p = z.pools[static_cast<size_t>(p)].fallback) {
        const zone::Pool* pool = &z.pools[static_cast<size_t>(p)];
        if (std::find(out.begin(), out.end(), pool) != out.end()) {
            break;
        }
        out.push_back(pool);
    }
    return out;
}

using AddressSet = std::vector<const zone::Address*>;

// Every set of addresses of `family` that `pool` can answer with: up to `answers` origins, each
// with any non-empty subset of its addresses (health is per address).
void pool_variants(const zone::Pool& pool, int family, const std::string& where,
                   std::vector<AddressSet>& out) {
    std::vector<std::vector<AddressSet>> options;  // per origin with the family
    for (const auto& o : pool.origins) {
        AddressSet fam;
        for (const auto& a : o.addresses) {
            if (a.family == family) {
                fam.push_back(&a);
            }
        }
        if (fam.empty()) {
            continue;
        }
        std::vector<AddressSet> subsets;
        if (fam.size() > 8) {
            subsets.push_back(fam);  // 2^n subsets would be too many: the whole set only
        } else {
            for (unsigned mask = 1; mask < (1U << fam.size()); ++mask) {
                AddressSet s;
                for (size_t i = 0; i < fam.size(); ++i) {
                    if ((mask & (1U << i)) != 0) {
                        s.push_back(fam[i]);
                    }
                }
                subsets.push_back(std::move(s));
            }
        }
        options.push_back(std::move(subsets));
    }
    const size_t limit = std::min<size_t>(pool.answers, options.size());
    // Choose origins (increasing indices, 1..limit of them), then one subset of each.
    std::vector<size_t> chosen;
    auto emit = [&](auto&& self, size_t depth, AddressSet& acc) -> void {
        if (depth == chosen.size()) {
            out.push_back(acc);
            if (out.size() > kMaxSignedVariants) {
                throw LoadError(where + ": more than " + std::to_string(kMaxSignedVariants) +
                                " distinct IPv" + std::to_string(family) +
                                " answers to sign; lower 'answers' or split the pool");
            }
            return;
        }
        for (const AddressSet& s : options[chosen[depth]]) {
            const size_t mark = acc.size();
            acc.insert(acc.end(), s.begin(), s.end());
            self(self, depth + 1, acc);
            acc.resize(mark);
        }
    };
    auto choose = [&](auto&& self, size_t from) -> void {
        if (!chosen.empty()) {
            AddressSet acc;
            emit(emit, 0, acc);
        }
        if (chosen.size() == limit) {
            return;
        }
        for (size_t i = from; i < options.size(); ++i) {
            chosen.push_back(i);
            self(self, i + 1);
            chosen.pop_back();
        }
    };
    choose(choose, 0);
}

// Presigns every answer of a pooled name; returns which families it can answer.
std::pair<bool, bool> sign_pool_name(Signer& s, zone::Node& node) {
    const zone::Zone& z = s.z;
    const zone::Pool& first = z.pools[static_cast<size_t>(node.pool)];
    const uint32_t ttl = node.pool_ttl_s != 0 ? node.pool_ttl_s : first.ttl_s;
    const std::string where =
        z.file + ": /dnssec: pool " + first.name + " at " + zone::wire_to_text(node.name);
    bool has[2] = {false, false};
    for (int family : {4, 6}) {
        std::vector<AddressSet> sets;
        for (const zone::Pool* p : pool_chain(z, node.pool)) {
            pool_variants(*p, family, where, sets);
        }
        std::unordered_set<uint64_t> seen;
        for (const AddressSet& set : sets) {
            const size_t len = family == 4 ? 4 : 16;
            uint64_t key = 0;
            std::vector<std::string> rdata;
            for (const zone::Address* a : set) {
                key += zone::address_key(a->bytes.data(), len);
                rdata.emplace_back(reinterpret_cast<const char*>(a->bytes.data()), len);
            }
            if (!seen.insert(key).second) {
                continue;  // the same set through another origin choice or pool
            }
            if (seen.size() > kMaxSignedVariants) {
                throw LoadError(where + ": more than " + std::to_string(kMaxSignedVariants) +
                                " distinct answers to sign; lower 'answers' or split the pool");
            }
            zone::SignedVariant v;
            v.key = key;
            v.family = static_cast<uint8_t>(family);
            v.rrs = static_cast<uint8_t>(std::min<size_t>(rdata.size(), 255));
            v.sig = s.sign(node.name, family == 4 ? kTypeA : kTypeAAAA, ttl, rdata);
            node.variants.push_back(std::move(v));
            has[family == 4 ? 0 : 1] = true;
        }
    }
    std::sort(node.variants.begin(), node.variants.end(), [](const auto& a, const auto& b) {
        return a.family != b.family ? a.family < b.family : a.key < b.key;
    });
    return {has[0], has[1]};
}

std::string nsec_rdata(const std::string& next, std::set<uint16_t> types) {
    types.insert(kTypeRRSIG);
    types.insert(kTypeNSEC);
    return next + to_string(dnssec::type_bitmap(types));
}

}  // namespace

void sign_zone(zone::Zone& z, const std::string& key_dir, int64_t now_s, bool create) {
    const auto started = std::chrono::steady_clock::now();
    const zone::DnssecPolicy& policy = z.dnssec;
    if (policy.nsec3) {
        throw LoadError(z.file + ": /dnssec/denial: nsec3 is not supported yet; use \"nsec\"");
    }
    std::vector<dnssec::Key> keys;
    try {
        if (create) {
            std::filesystem::create_directories(key_dir);
        }
        keys = read_keys(z, key_dir);
        const auto has = [&](uint16_t flags) {
            return std::any_of(keys.begin(), keys.end(), [&](const dnssec::Key& k) {
                return k.flags == flags && active(k, now_s);
            });
        };
        std::vector<uint16_t> missing;
        if (!has(dnssec::kFlagsCsk)) {
            missing.push_back(dnssec::kFlagsCsk);
        }
        if (policy.split && !has(dnssec::kFlagsZsk)) {
            missing.push_back(dnssec::kFlagsZsk);
        }
        if (!missing.empty() && !create) {
            throw LoadError(z.file + ": /dnssec: no active " +
                            std::string(missing.front() == dnssec::kFlagsZsk ? "ZSK" : "KSK/CSK") +
                            " in " + key_dir + " (dnslb keygen " + z.origin_text + " makes one)");
        }
        for (uint16_t flags : missing) {
            keys.push_back(dnssec::generate_key(z.origin_text, policy.algorithm, flags));
            dnssec::write_key(keys.back(), key_dir);
        }
    } catch (const dnssec::Error& e) {
        throw LoadError(z.file + ": /dnssec: " + key_dir + ": " + e.what());
    } catch (const std::filesystem::filesystem_error& e) {
        throw LoadError(z.file + ": /dnssec: " + e.what());
    }
    Signer s{z, {}, {}, dnssec::validity_for(now_s, zone::NameHash{}(z.origin))};
    for (const auto& k : keys) {
        if (!active(k, now_s)) {
            continue;
        }
        const bool sep = k.flags == dnssec::kFlagsCsk;
        if (sep) {
            s.ksks.push_back(&k);
        }
        if (!policy.split || !sep) {
            s.zsks.push_back(&k);
        }
    }
    if (s.zsks.empty()) {  // a split policy with only KSKs active: they sign everything
        s.zsks = s.ksks;
    }
    z.signing = {};
    for (const auto& k : keys) {
        z.signing.keys.push_back(std::to_string(dnssec::key_tag(dnssec::dnskey_rdata(k))) + " " +
                                 std::to_string(k.algorithm) + " " + std::to_string(k.flags) + " " +
                                 key_state(k, now_s));
    }
    zone::Node& apex = z.nodes.at(z.origin);
    const zone::RRset* soa = apex.find(dns::kTypeSOA);
    const uint32_t key_ttl = soa != nullptr ? soa->ttl : 3600;
    // The apex's key sets: DNSKEY of every published key; CDS/CDNSKEY of the published SEP keys.
    std::vector<std::string> dnskeys;
    std::vector<std::string> cds;
    std::vector<std::string> cdnskeys;
    for (const auto& k : keys) {
        if (!published(k, now_s)) {
            continue;
        }
        dnskeys.push_back(to_string(dnssec::dnskey_rdata(k)));
        if (k.flags == dnssec::kFlagsCsk) {
            cds.push_back(to_string(dnssec::cds_rdata(k)));
            cdnskeys.push_back(to_string(dnssec::cdnskey_rdata(k)));
        }
    }
    std::erase_if(apex.rrsets, [](const zone::RRset& r) {
        return r.type == kTypeDNSKEY || r.type == kTypeCDS || r.type == kTypeCDNSKEY ||
               r.type == kTypeNSEC || r.type == kTypeNSEC3PARAM;
    });
    apex.rrsets.push_back(make_rrset(kTypeDNSKEY, key_ttl, dnskeys));
    apex.rrsets.push_back(make_rrset(kTypeCDS, key_ttl, cds));
    apex.rrsets.push_back(make_rrset(kTypeCDNSKEY, key_ttl, cdnskeys));

    // The names of the chain: every authoritative owner (cuts included, glue and empty
    // non-terminals not), in canonical order.
    std::vector<zone::Node*> names;
    for (auto& [name, node] : z.nodes) {
        if (!node.empty() && !below_cut(z, name)) {
            names.push_back(&node);
        }
    }
    std::sort(names.begin(), names.end(), [](const zone::Node* a, const zone::Node* b) {
        return zone::canonical_compare(a->name, b->name) < 0;
    });
    for (size_t i = 0; i < names.size(); ++i) {
        zone::Node& node = *names[i];
        std::set<uint16_t> types;
        if (node.delegation) {
            types.insert(kTypeNS);
            if (node.find(kTypeDS) != nullptr) {
                types.insert(kTypeDS);
            }
        } else {
            if (node.pool >= 0) {
                if (node.rrsets.empty()) {  // RFC 8482's answer to ANY, signed like the rest
                    static const std::string kHinfo("\x07RFC8482\x00", 9);
                    node.rrsets.push_back(make_rrset(kTypeHINFO, 3600, {kHinfo}));
                }
                const auto [v4, v6] = sign_pool_name(s, node);
                if (v4) {
                    types.insert(kTypeA);
                }
                if (v6) {
                    types.insert(kTypeAAAA);
                }
            }
            for (const auto& set : node.rrsets) {
                types.insert(set.type);
            }
        }
        const std::string& next = names[(i + 1) % names.size()]->name;
        const uint32_t nsec_ttl = z.neg_ttl_s;
        if (node.pool >= 0 && !node.delegation) {
            std::set<uint16_t> without = types;
            without.erase(kTypeA);
            without.erase(kTypeAAAA);
            node.nodata_nsec = make_rrset(kTypeNSEC, nsec_ttl, {nsec_rdata(next, without)});
            s.sign(node.name, node.nodata_nsec);
            node.nodata_nsec.render();
        }
        node.rrsets.push_back(make_rrset(kTypeNSEC, nsec_ttl, {nsec_rdata(next, types)}));
        for (auto& set : node.rrsets) {
            if (node.delegation && set.type != kTypeDS && set.type != kTypeNSEC) {
                continue;  // the child signs its NS; glue is not signed
            }
            s.sign(node.name, set,
                   set.type == kTypeDNSKEY || set.type == kTypeCDS || set.type == kTypeCDNSKEY);
            set.render();
        }
    }
    z.denial.clear();
    for (zone::Node* node : names) {
        z.denial.push_back({node->name, node->find(kTypeNSEC)});
    }
    z.is_signed = true;
    z.index.build(z.nodes);  // the RRsets changed: the inline copies with them
    z.signing.expires = s.validity.expiration;
    z.signing.refresh_at = static_cast<int64_t>(s.validity.inception) + 3600 + 86400;
    z.signing.signatures = s.signatures;
    z.signing.signature_bytes = s.bytes;
    z.signing.signing_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
}

}  // namespace dnslb::server
