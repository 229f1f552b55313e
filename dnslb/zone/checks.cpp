// The checks of a zone: parsed JSON (zone/reader.*) to an immutable Zone. Runs on the control
// thread. ldns turns each RDATA presentation string into wire format; everything else (names,
// cuts, pools) is checked here so that a bad file never becomes a snapshot.
#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <set>
#include <unordered_map>
#include <utility>

#include "dnslb/base/ldns.hpp"
#include "dnslb/zone/loader.hpp"
#include "dnslb/zone/loader_detail.hpp"
#include "dnslb/zone/reader.hpp"

namespace dnslb::zone {

namespace {

using detail::Ctx;
using detail::Json;
using detail::ptr_join;
using detail::RecordsInfo;
using detail::stream_records;

constexpr uint32_t kDefaultTtl = 3600;

struct RdfFree {
    void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
struct RrFree {
    void operator()(ldns_rr* r) const { ldns_rr_free(r); }
};
using RdfPtr = std::unique_ptr<ldns_rdf, RdfFree>;
using RrPtr = std::unique_ptr<ldns_rr, RrFree>;

// Where a node came from in the file, for messages about relations between nodes. Found again
// by reading the records once more (see locate()): keeping it for every node cost more memory
// and time than the rest of the load.
struct Source {       // NOLINT(bugprone-exception-escape): nlohmann::json moves do not throw
    std::string ptr;  // /records/<key>, empty for an apex that only has the SOA
    Json value;       // the member's value

    std::string type_ptr(uint16_t type) const;  // /records/<key>/<TYPE as written>
    std::string pool_ptr() const { return ptr_join(ptr, "pool"); }
};

std::string Source::type_ptr(uint16_t type) const {
    if (value.is_object()) {
        for (const auto& [key, v] : value.items()) {
            if (key != "$comment" && key != "ttl" && key != "pool" &&
                ldns_get_rr_type_by_name(key.c_str()) == static_cast<ldns_rr_type>(type)) {
                return ptr_join(ptr, key);
            }
        }
    }
    return ptr;
}

class ZoneBuilder {
public:
    ZoneBuilder(const Ctx& ctx, Zone& zone, RecordsInfo& records)
        : ctx_(ctx), zone_(zone), records_(records) {}

    void build(const Json& root);

private:
    void parse_origin(const Json& root);
    void check_notes(const Json& root) const;
    void parse_soa(const Json& root);
    void parse_dnssec(const Json& root);
    void parse_records(const Json& root);
    void parse_node(const std::string& key, const Json& v, const std::string& ptr);
    void parse_rrset(Node& node, const std::string& type_key, const Json& v,
                     const std::string& owner_text, uint32_t default_ttl, const std::string& ptr);
    std::string rdata_wire(const std::string& owner_text, uint16_t type,
                           const std::string& type_name, const std::string& rdata,
                           const std::string& ptr) const;
    std::string owner_name(const std::string& key, const std::string& ptr, std::string& wire) const;

    Source locate(std::string_view wire) const;
    std::string type_ptr(const Node& node, uint16_t type) const {
        if (type == dns::kTypeSOA && node.name == zone_.origin) {
            return "/soa";
        }
        return locate(node.name).type_ptr(type);
    }
    const std::string& type_name(uint16_t type);

    void check_cname(const Node& node) const;
    template <class Nodes>
    void check_cuts(const Nodes& nodes) const;
    template <class Nodes>
    void check_glue(const Nodes& nodes) const;
    void add_empty_non_terminals();
    void finish();

    const Ctx& ctx_;
    Zone& zone_;
    RecordsInfo& records_;
    std::unordered_map<std::string, int32_t> pool_index_;  // pool name -> index in zone_.pools
    RdfPtr origin_rdf_;
    uint32_t default_ttl_ = kDefaultTtl;
    uint32_t expire_ = 0;
    bool apex_in_records_ = false;
    std::unordered_map<uint16_t, std::string> type_names_;
};

template <class T>
const T& deref(const T& v) {
    return v;
}
template <class T>
const T& deref(const T* v) {
    return *v;
}

std::string type_text(uint16_t type) {
    char* s = ldns_rr_type2str(static_cast<ldns_rr_type>(type));
    std::string out = s != nullptr ? s : "TYPE" + std::to_string(type);
    free(s);  // NOLINT(cppcoreguidelines-no-malloc): ldns allocates with malloc
    return out;
}

std::string trim(const std::string& s) {
    const size_t b = s.find_first_not_of(" \t");
    const size_t e = s.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// Types that are queries or transport, never data (RFC 6895 section 3.1).
bool is_meta_type(uint16_t type) {
    return type == 0 || type == dns::kTypeOPT || (type >= 128 && type <= 255);
}

void ZoneBuilder::parse_origin(const Json& root) {
    const auto it = root.find("origin");
    if (it == root.end()) {
        ctx_.fail("/origin", "missing 'origin' (the zone's absolute name, e.g. \"example.com.\")");
    }
    const std::string& text = ctx_.string(*it, "/origin");
    std::string why;
    if (!detail::text_to_wire(text, true, true, zone_.origin, why)) {
        ctx_.fail("/origin", why);
    }
    zone_.origin_text = wire_to_text(zone_.origin);
    origin_rdf_.reset(ldns_dname_new_frm_str(zone_.origin_text.c_str()));
    if (!origin_rdf_) {
        ctx_.fail("/origin", "'" + text + "' is not a valid name");
    }
}

// /notes: what `dnslb import` could not convert, for the operator; not served.
void ZoneBuilder::check_notes(const Json& root) const {
    const auto it = root.find("notes");
    if (it == root.end()) {
        return;
    }
    if (!it->is_array()) {
        ctx_.fail("/notes", std::string("expected a list of strings, got ") + it->type_name());
    }
    for (size_t i = 0; i < it->size(); ++i) {
        ctx_.string((*it)[i], ptr_join("/notes", i));
    }
}

void ZoneBuilder::parse_soa(const Json& root) {
    const auto it = root.find("soa");
    if (it == root.end()) {
        ctx_.fail("/soa", "missing 'soa' (mname, rname, serial, refresh, retry, expire, minimum)");
    }
    const Json& soa = ctx_.object(*it, "/soa");
    ctx_.check_keys(soa, "/soa",
                    {"mname", "rname", "serial", "refresh", "retry", "expire", "minimum", "ttl"});
    for (const char* key : {"mname", "rname", "serial"}) {
        if (!soa.contains(key)) {
            ctx_.fail("/soa", std::string("missing '") + key + "'");
        }
    }
    // Relative mname/rname take the origin, as in a master file (RFC 1035 section 5.1).
    const std::string mname = ctx_.string(soa["mname"], "/soa/mname");
    const std::string rname = ctx_.string(soa["rname"], "/soa/rname");
    for (const auto& [name, ptr] : {std::pair{mname, "/soa/mname"}, {rname, "/soa/rname"}}) {
        std::string wire;
        std::string why;
        if (!detail::text_to_wire(name, false, false, wire, why)) {
            ctx_.fail(ptr, why);
        }
    }
    const auto serial =
        static_cast<uint32_t>(ctx_.integer(soa["serial"], "/soa/serial", 0, UINT32_MAX));
    auto timer = [&](const char* key, uint32_t dflt) {
        return soa.contains(key) ? ctx_.ttl(soa[key], std::string("/soa/") + key) : dflt;
    };
    const uint32_t refresh = timer("refresh", 3600);
    const uint32_t retry = timer("retry", 600);
    expire_ = timer("expire", 1209600);
    const uint32_t minimum = timer("minimum", 60);
    const uint32_t ttl = timer("ttl", default_ttl_);
    zone_.serial = serial;
    zone_.neg_ttl_s = std::min(ttl, minimum);

    const std::string rdata = mname + " " + rname + " " + std::to_string(serial) + " " +
                              std::to_string(refresh) + " " + std::to_string(retry) + " " +
                              std::to_string(expire_) + " " + std::to_string(minimum);
    RRset rrset;
    rrset.type = dns::kTypeSOA;
    rrset.ttl = ttl;
    rrset.rdata.push_back(rdata_wire(zone_.origin_text, dns::kTypeSOA, "SOA", rdata, "/soa"));
    Node& apex = zone_.nodes[zone_.origin];
    apex.name = zone_.origin;
    apex.rrsets.push_back(std::move(rrset));
}

// A records key to its absolute presentation name, checked to lie inside the origin.
std::string ZoneBuilder::owner_name(const std::string& key, const std::string& ptr,
                                    std::string& wire) const {
    std::string text;
    if (key == "@") {
        text = zone_.origin_text;
    } else if (detail::ends_with_dot(key)) {
        text = key;
    } else {
        text = key + "." + (zone_.origin_text == "." ? "" : zone_.origin_text);
    }
    std::string why;
    if (!detail::text_to_wire(text, true, true, wire, why)) {
        ctx_.fail(ptr, why);
    }
    if (!is_subdomain(wire, zone_.origin)) {
        ctx_.fail(ptr, "'" + key + "' is outside the zone " + zone_.origin_text);
    }
    // RFC 4592 section 2.1.1: '*' is a wildcard only as the leftmost label.
    for (std::string_view rest = detail::parent_name(wire); !rest.empty() && rest[0] != 0;
         rest = detail::parent_name(rest)) {
        if (rest[0] == 1 && rest[1] == '*') {
            ctx_.fail(ptr, "'*' is a wildcard only as the leftmost label");
        }
    }
    return text;
}

std::string ZoneBuilder::rdata_wire(const std::string& owner_text, uint16_t type,
                                    const std::string& type_name, const std::string& rdata,
                                    const std::string& ptr) const {
    if (std::any_of(rdata.begin(), rdata.end(), [](char c) { return c == '\n' || c == '\r'; })) {
        ctx_.fail(ptr, "RDATA must be on one line");
    }
    if (rdata.find_first_not_of(" \t") == std::string::npos) {
        ctx_.fail(ptr, "empty RDATA");
    }
    if (type == dns::kTypeA ||
        type == dns::kTypeAAAA) {  // a clearer message than ldns's for the commonest
        const std::string addr = trim(rdata);
        uint8_t buf[16];
        if (inet_pton(type == dns::kTypeA ? AF_INET : AF_INET6, addr.c_str(), buf) != 1) {
            ctx_.fail(ptr, "'" + rdata + "' is not an " + (type == dns::kTypeA ? "IPv4" : "IPv6") +
                               " address");
        }
        // The whole RDATA is one address, so it is also what ldns would make of it.
        return std::string(reinterpret_cast<const char*>(buf), type == dns::kTypeA ? 4 : 16);
    }
    const std::string line = owner_text + " 0 IN " + type_name + " " + rdata;
    ldns_rr* raw = nullptr;
    ldns_rdf* prev = nullptr;
    const ldns_status st = ldns_rr_new_frm_str(&raw, line.c_str(), 0, origin_rdf_.get(), &prev);
    const RdfPtr prev_guard(prev);
    const RrPtr rr(raw);
    if (st != LDNS_STATUS_OK) {
        ctx_.fail(ptr,
                  "bad " + type_name + " RDATA '" + rdata + "': " + ldns_get_errorstr_by_id(st));
    }
    if (ldns_rr_get_type(rr.get()) != type) {
        ctx_.fail(ptr, "RDATA '" + rdata + "' does not parse as " + type_name);
    }
    std::string out;
    for (size_t i = 0; i < ldns_rr_rd_count(rr.get()); ++i) {
        const ldns_rdf* rdf = ldns_rr_rdf(rr.get(), i);
        out.append(reinterpret_cast<const char*>(ldns_rdf_data(rdf)), ldns_rdf_size(rdf));
    }
    if (out.size() > 65535) {
        ctx_.fail(ptr, "RDATA longer than 65535 bytes");
    }
    return out;
}

void ZoneBuilder::parse_rrset(Node& node, const std::string& type_key, const Json& v,
                              const std::string& owner_text, uint32_t default_ttl,
                              const std::string& ptr) {
    const auto type = static_cast<uint16_t>(ldns_get_rr_type_by_name(type_key.c_str()));
    if (type == 0) {
        ctx_.fail(ptr, "unknown RR type '" + type_key + "'");
    }
    if (type == dns::kTypeSOA) {
        ctx_.fail(ptr, "SOA belongs in the top-level 'soa' object");
    }
    if (is_meta_type(type)) {
        ctx_.fail(ptr, "'" + type_key + "' is not a data type");
    }
    if (node.find(type) != nullptr) {
        ctx_.fail(ptr, type_key + " is given twice at this name");
    }
    RRset rrset;
    rrset.type = type;
    rrset.ttl = default_ttl;
    const Json* list = &v;
    std::string list_ptr = ptr;
    if (v.is_object()) {
        ctx_.check_keys(v, ptr, {"ttl", "rdata"});
        if (v.contains("ttl")) {
            rrset.ttl = ctx_.ttl(v["ttl"], ptr_join(ptr, "ttl"));
        }
        if (!v.contains("rdata")) {
            ctx_.fail(ptr, "missing 'rdata'");
        }
        list = &v["rdata"];
        list_ptr = ptr_join(ptr, "rdata");
    }
    if (!list->is_array()) {
        ctx_.fail(list_ptr,
                  std::string("expected a list of RDATA strings, got ") + list->type_name());
    }
    if (list->empty()) {
        ctx_.fail(list_ptr, "empty record set");
    }
    const std::string& name = type_name(type);
    rrset.rdata.reserve(list->size());
    for (size_t i = 0; i < list->size(); ++i) {
        const std::string iptr = ptr_join(list_ptr, i);
        std::string wire = rdata_wire(owner_text, type, name, ctx_.string((*list)[i], iptr), iptr);
        if (std::find(rrset.rdata.begin(), rrset.rdata.end(), wire) != rrset.rdata.end()) {
            ctx_.fail(iptr, "duplicate RDATA in one record set");
        }
        rrset.rdata.push_back(std::move(wire));
    }
    if (rrset.ttl > expire_) {
        ctx_.warn(ptr, "TTL " + std::to_string(rrset.ttl) + " is above the SOA expire (" +
                           std::to_string(expire_) + ")");
    }
    zone_.record_count += rrset.rdata.size();
    node.rrsets.push_back(std::move(rrset));
}

void ZoneBuilder::parse_node(const std::string& key, const Json& v, const std::string& ptr) {
    std::string wire;
    const std::string owner_text = owner_name(key, ptr, wire);
    const bool apex = wire == zone_.origin;
    if (zone_.nodes.count(wire) != 0 && (!apex || apex_in_records_)) {
        ctx_.fail(ptr, "the same name as " + locate(wire).ptr);
    }
    apex_in_records_ = apex_in_records_ || apex;
    ctx_.object(v, ptr);
    Node& node = zone_.nodes[wire];
    node.name = wire;
    node.rrsets.reserve(v.size());
    uint32_t default_ttl = default_ttl_;
    if (v.contains("ttl")) {  // the pool answer TTL, and the default of this name's RRsets
        default_ttl = ctx_.ttl(v["ttl"], ptr_join(ptr, "ttl"));
        node.pool_ttl_s = default_ttl;
    }
    for (const auto& [type_key, rrs] : v.items()) {
        const std::string tptr = ptr_join(ptr, type_key);
        if (type_key == "$comment" || type_key == "ttl") {
            continue;
        }
        if (type_key == "pool") {
            const std::string& pool = ctx_.string(rrs, tptr);
            const auto it = pool_index_.find(pool);
            if (it == pool_index_.end()) {
                ctx_.fail(tptr, "unknown pool '" + pool + "' (not defined in /pools)");
            }
            node.pool = it->second;
            continue;
        }
        parse_rrset(node, type_key, rrs, owner_text, default_ttl, tptr);
    }
    if (node.pool < 0) {
        node.pool_ttl_s = 0;
    }
}

void ZoneBuilder::parse_records(const Json& root) {
    const auto it = root.find("records");
    if (it == root.end()) {
        return;
    }
    ctx_.object(*it, "/records");  // when it is an object, pass 1 left an empty one here
    for (size_t i = 0; i < zone_.pools.size(); ++i) {
        pool_index_.emplace(zone_.pools[i].name, static_cast<int32_t>(i));  // first one wins
    }
    zone_.nodes.reserve(records_.members + 1);
    stream_records(records_, [this](const std::string& key, const Json& v) {
        parse_node(key, v, ptr_join("/records", key));
        return true;
    });
}

// The records member that made the node `wire` (the first one, as parse_node rejects a second).
// Only for messages: it reads the records again.
Source ZoneBuilder::locate(std::string_view wire) const {
    Source out;
    if (records_.occurrences == 0) {
        return out;
    }
    const std::string suffix = zone_.origin_text == "." ? "" : zone_.origin_text;
    stream_records(records_, [&](const std::string& key, const Json& v) {
        std::string text = key == "@"                   ? zone_.origin_text
                           : detail::ends_with_dot(key) ? key
                                                        : key + "." + suffix;
        std::string w;
        std::string why;
        if (!detail::text_to_wire(text, true, true, w, why) || w != wire) {
            return true;
        }
        out.ptr = ptr_join("/records", key);
        out.value = v;
        return false;
    });
    return out;
}

const std::string& ZoneBuilder::type_name(uint16_t type) {
    auto [it, fresh] = type_names_.try_emplace(type);
    if (fresh) {
        it->second = type_text(type);
    }
    return it->second;
}

// RFC 1034 section 3.6.2 / RFC 2181 section 10.1: a CNAME owner has no other data, and one
// CNAME RR.
void ZoneBuilder::check_cname(const Node& node) const {
    const RRset* cname = node.find(dns::kTypeCNAME);
    if (cname == nullptr) {
        return;
    }
    const std::string ptr = type_ptr(node, dns::kTypeCNAME);
    if (cname->rdata.size() > 1) {
        ctx_.fail(ptr_join(ptr, size_t{1}), "more than one CNAME record at one name");
    }
    if (node.name == zone_.origin) {
        ctx_.fail(ptr, "CNAME at the zone apex (beside SOA and NS, RFC 1034 section 3.6.2)");
    }
    if (node.pool >= 0) {
        ctx_.fail(locate(node.name).pool_ptr(), "'pool' beside CNAME (RFC 1034 section 3.6.2)");
    }
    if (node.rrsets.size() > 1) {
        ctx_.fail(ptr, "CNAME beside other data at the same name (RFC 1034 section 3.6.2)");
    }
}

// RFC 1034 section 4.2.1: below a zone cut only glue is authoritative-adjacent data; anything
// else there would never be served (occluded). `nodes`: (name, Node) pairs.
template <class Nodes>
void ZoneBuilder::check_cuts(const Nodes& nodes) const {
    std::set<std::string, std::less<>> ns_targets;
    for (const auto& [name, node] : zone_.nodes) {
        if (const RRset* ns = node.find(dns::kTypeNS)) {
            for (const auto& rd : ns->rdata) {
                ns_targets.insert(detail::lower_wire(rd));
            }
        }
    }
    for (const auto& entry : nodes) {
        const std::string& name = deref(entry).first;
        const Node& node = deref(entry).second;
        if (node.pool >= 0) {
            if (node.find(dns::kTypeA) != nullptr || node.find(dns::kTypeAAAA) != nullptr) {
                const uint16_t t = node.find(dns::kTypeA) != nullptr ? dns::kTypeA : dns::kTypeAAAA;
                ctx_.fail(type_ptr(node, t), "address records beside 'pool' at the same name");
            }
        }
        check_cname(node);
        if (node.find(dns::kTypeDS) != nullptr && !node.delegation) {
            ctx_.fail(type_ptr(node, dns::kTypeDS),
                      "DS only belongs at a delegation (a name with NS)");
        }
        const bool glue_ok = ns_targets.count(name) != 0;
        if (node.delegation) {
            if (node.pool >= 0) {
                ctx_.fail(locate(name).pool_ptr(), "'pool' at a delegation point");
            }
            for (const auto& rrset : node.rrsets) {
                const bool ok =
                    rrset.type == dns::kTypeNS || rrset.type == dns::kTypeDS ||
                    (glue_ok && (rrset.type == dns::kTypeA || rrset.type == dns::kTypeAAAA));
                if (!ok) {
                    ctx_.fail(type_ptr(node, rrset.type),
                              type_text(rrset.type) + " at the delegation point " +
                                  wire_to_text(name) + " (only NS, DS and glue belong there)");
                }
            }
        }
        for (std::string_view up = detail::parent_name(name); up.size() > zone_.origin.size();
             up = detail::parent_name(up)) {
            const Node* cut = zone_.find(up);
            if (cut == nullptr || !cut->delegation) {
                continue;
            }
            const bool only_glue =
                glue_ok && node.pool < 0 &&
                std::all_of(node.rrsets.begin(), node.rrsets.end(), [](const RRset& r) {
                    return r.type == dns::kTypeA || r.type == dns::kTypeAAAA;
                });
            if (!only_glue) {
                ctx_.fail(locate(name).ptr,
                          "'" + wire_to_text(name) + "' is below the zone cut at '" +
                              wire_to_text(up) +
                              "' (occluded; only A/AAAA glue for NS targets is allowed)");
            }
        }
    }
}

// RFC 1034 section 4.2.1: an NS target inside the child it serves needs glue here.
template <class Nodes>
void ZoneBuilder::check_glue(const Nodes& nodes) const {
    for (const auto& entry : nodes) {
        const std::string& name = deref(entry).first;
        const Node& node = deref(entry).second;
        const RRset* ns = node.find(dns::kTypeNS);
        if (ns == nullptr) {
            continue;
        }
        for (size_t i = 0; i < ns->rdata.size(); ++i) {
            const std::string target = detail::lower_wire(ns->rdata[i]);
            const Node* t = zone_.find(target);
            const bool has_addr =
                t != nullptr && (t->find(dns::kTypeA) != nullptr ||
                                 t->find(dns::kTypeAAAA) != nullptr || t->pool >= 0);
            if (has_addr) {
                continue;
            }
            const std::string iptr = ptr_join(type_ptr(node, dns::kTypeNS), i);
            if (node.delegation && is_subdomain(target, name)) {
                ctx_.fail(iptr, "NS target " + wire_to_text(target) +
                                    " is inside the delegated zone and has no glue A/AAAA");
            }
            if (!node.delegation && is_subdomain(target, zone_.origin)) {
                ctx_.warn(iptr, "NS target " + wire_to_text(target) +
                                    " is in this zone but has no A/AAAA record");
            }
        }
    }
}

// RFC 4592 section 2.2.2: names between an owner and the origin exist (as empty
// non-terminals), so they answer NODATA rather than NXDOMAIN and block wildcard synthesis.
void ZoneBuilder::add_empty_non_terminals() {
    std::vector<std::string> owners;
    owners.reserve(zone_.nodes.size());
    for (const auto& [name, node] : zone_.nodes) {
        owners.push_back(name);
    }
    for (const auto& owner : owners) {
        for (std::string_view up = detail::parent_name(owner); up.size() > zone_.origin.size();
             up = detail::parent_name(up)) {
            auto [it, inserted] = zone_.nodes.try_emplace(std::string(up));
            if (!inserted) {
                break;  // its ancestors are already there
            }
            it->second.name = std::string(up);
        }
    }
}

// "dnssec": {"algorithm": 13|15, "keys": "csk"|"ksk-zsk", "denial": "nsec"|"nsec3"}; the
// keys themselves come from the server's key directory when the zone is signed.
void ZoneBuilder::parse_dnssec(const Json& root) {
    const auto it = root.find("dnssec");
    if (it == root.end()) {
        return;
    }
    const Json& d = *it;
    if (!d.is_object()) {
        ctx_.fail("/dnssec", "expected an object, e.g. {\"algorithm\": 13}");
    }
    ctx_.check_keys(d, "/dnssec", {"algorithm", "keys", "denial"});
    DnssecPolicy& p = zone_.dnssec;
    p.on = true;
    if (const auto a = d.find("algorithm"); a != d.end()) {
        if (!a->is_number_unsigned() || (a->get<uint64_t>() != 13 && a->get<uint64_t>() != 15)) {
            ctx_.fail("/dnssec/algorithm",
                      "unknown algorithm (13 ECDSAP256SHA256 or 15 Ed25519 are supported)");
        }
        p.algorithm = static_cast<uint8_t>(a->get<uint64_t>());
    }
    if (const auto k = d.find("keys"); k != d.end()) {
        const std::string& v = ctx_.string(*k, "/dnssec/keys");
        if (v != "csk" && v != "ksk-zsk") {
            ctx_.fail("/dnssec/keys", "expected \"csk\" or \"ksk-zsk\", not '" + v + "'");
        }
        p.split = v == "ksk-zsk";
    }
    if (const auto n = d.find("denial"); n != d.end()) {
        const std::string& v = ctx_.string(*n, "/dnssec/denial");
        if (v != "nsec" && v != "nsec3") {
            ctx_.fail("/dnssec/denial", "expected \"nsec\" or \"nsec3\", not '" + v + "'");
        }
        p.nsec3 = v == "nsec3";
    }
}

void ZoneBuilder::finish() {
    for (auto& [name, node] : zone_.nodes) {
        node.delegation = name != zone_.origin && node.find(dns::kTypeNS) != nullptr;
    }
    // The checks name the first problem in name order, as the same zone must always give the
    // same message. Sorting every name costs more than the checks, so they run in table order
    // first and in name order only when that finds a problem.
    try {
        check_cuts(zone_.nodes);
        check_glue(zone_.nodes);
    } catch (const LoadError&) {
        std::vector<const std::pair<const std::string, Node>*> sorted;
        sorted.reserve(zone_.nodes.size());
        for (const auto& entry : zone_.nodes) {
            sorted.push_back(&entry);
        }
        std::sort(sorted.begin(), sorted.end(),
                  [](const auto* a, const auto* b) { return a->first < b->first; });
        check_cuts(sorted);
        check_glue(sorted);
        throw;
    }
    const Node& apex = zone_.apex();
    if (apex.find(dns::kTypeNS) == nullptr) {
        ctx_.warn("/records", "the apex has no NS record set");
    }
    add_empty_non_terminals();
    for (auto& [name, node] : zone_.nodes) {
        for (auto& rrset : node.rrsets) {
            rrset.render();
        }
    }
    zone_.index.build(zone_.nodes);  // last: the node table does not change after this
}

void ZoneBuilder::build(const Json& root) {
    if (!root.is_object()) {
        ctx_.fail("", "a zone file is a JSON object");
    }
    ctx_.check_keys(
        root, "",
        {"$schema", "origin", "ttl", "soa", "records", "pools", "monitors", "notes", "dnssec"});
    zone_.file = ctx_.file();
    check_notes(root);
    parse_origin(root);
    if (root.contains("ttl")) {
        default_ttl_ = ctx_.ttl(root["ttl"], "/ttl");
    }
    parse_dnssec(root);
    detail::load_monitors(ctx_, root, zone_);
    detail::load_pools(ctx_, root, zone_);
    parse_soa(root);
    zone_.record_count = 1;  // the SOA
    parse_records(root);
    finish();
}

}  // namespace

std::unique_ptr<Zone> load_zone_text(std::string_view json_text, const std::string& file,
                                     std::vector<Diagnostic>* warnings) {
    Json root;
    detail::RecordsInfo records;
    detail::read_zone_json(json_text, file, root, records);
    std::vector<Diagnostic> local;  // published only if the whole zone loads
    const Ctx ctx(file, &local);
    auto zone = std::make_unique<Zone>();
    try {
        ZoneBuilder(ctx, *zone, records).build(root);
    } catch (const nlohmann::json::exception& e) {  // a bug in a check above, never a crash
        throw LoadError(file + ": " + e.what());
    }
    if (warnings != nullptr) {
        warnings->insert(warnings->end(), local.begin(), local.end());
    }
    return zone;
}

}  // namespace dnslb::zone
