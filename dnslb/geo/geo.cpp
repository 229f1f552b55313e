// Asker location: nets overrides, then MaxMind-format databases read with libmaxminddb.
//
// Query-path budget (lookup): no allocation, no lock, no exception. libmaxminddb's tree walk
// (MMDB_lookup_sockaddr) and MMDB_aget_value read the mmap'ed file without allocating; the
// variadic MMDB_get_value is avoided because it callocs its path array.
//
// ECS scope (RFC 7871 section 7.2.1): Location::prefix_len is the length of the network over
// which the answer holds. It starts from the database network (or the nets entry, or the
// special-purpose block) and is capped by the source prefix. A nets override that lies inside
// that network but does not contain the asker would be wrongly covered by such a scope, so the
// scope is lengthened until it excludes every such entry: for each entry E that overlaps the
// asker's network without containing the asker, the first bit where E and the asker differ is
// at position d (p <= d < E's prefix), and a scope of d + 1 bits leaves E out. The result is
// the maximum over those entries, still capped by the source prefix (when the client subnet
// itself straddles an override, no scope can separate them; the source prefix is the most
// precise answer we can give).
#include "dnslb/geo/geo.hpp"

#include <arpa/inet.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "dnslb/base/errno_text.hpp"
#include "dnslb/geo/resolver_impl.hpp"

namespace dnslb::geo {

namespace {

// ISO 3166-1 alpha-2 by continent, following the GeoNames/GeoIP2 assignment (Turkey, the
// Caucasus and Cyprus as GeoNames has them; Central America and the Caribbean in NA). XK is
// the user-assigned code commonly used for Kosovo.
struct ContinentList {
    char continent[3];
    const char* countries;
};
constexpr ContinentList kContinents[] = {
    {"AF",
     "AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW KE KM LR LS LY MA MG "
     "ML MR MU MW MZ NA NE NG RE RW SC SD SH SL SN SO SS ST SZ TD TG TN TZ UG YT ZA ZM ZW"},
    {"AN", "AQ BV GS HM TF"},
    {"AS",
     "AE AF AM AZ BD BH BN BT CC CN CX GE HK ID IL IN IO IQ IR JO JP KG KH KP KR KW KZ LA LB LK "
     "MM MN MO MV MY NP OM PH PK PS QA SA SG SY TH TJ TM TR TW UZ VN YE"},
    {"EU",
     "AD AL AT AX BA BE BG BY CH CY CZ DE DK EE ES FI FO FR GB GG GI GR HR HU IE IM IS IT JE LI "
     "LT LU LV MC MD ME MK MT NL NO PL PT RO RS RU SE SI SJ SK SM UA VA XK"},
    {"NA",
     "AG AI AW BB BL BM BQ BS BZ CA CR CU CW DM DO GD GL GP GT HN HT JM KN KY LC MF MQ MS MX NI "
     "PA PM PR SV SX TC TT US VC VG VI"},
    {"OC", "AS AU CK FJ FM GU KI MH MP NC NF NR NU NZ PF PG PN PW SB TK TL TO TV UM VU WF WS"},
    {"SA", "AR BO BR CL CO EC FK GF GY PE PY SR UY VE"},
};

// 26 x 26 table indexed by the two letters, built at compile time from the lists above.
constexpr std::array<CountryCode, size_t{26} * 26> build_continent_table() {
    std::array<CountryCode, size_t{26} * 26> table{};
    for (const auto& list : kContinents) {
        const CountryCode cont = country_code(list.continent[0], list.continent[1]);
        for (const char* p = list.countries; p[0] != '\0' && p[1] != '\0';) {
            table[static_cast<size_t>(p[0] - 'A') * 26 + static_cast<size_t>(p[1] - 'A')] = cont;
            p += 2;
            while (*p == ' ') {
                ++p;
            }
        }
    }
    return table;
}
constexpr auto kContinentTable = build_continent_table();

constexpr bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }

// "de" / "DE" (two ASCII letters) -> packed upper-case code; 0 for anything else.
CountryCode parse_code(const char* s, size_t len) noexcept {
    if (len != 2) {
        return 0;
    }
    char c0 = s[0];
    char c1 = s[1];
    if (c0 >= 'a' && c0 <= 'z') {
        c0 = static_cast<char>(c0 - 'a' + 'A');
    }
    if (c1 >= 'a' && c1 <= 'z') {
        c1 = static_cast<char>(c1 - 'a' + 'A');
    }
    return is_upper(c0) && is_upper(c1) ? country_code(c0, c1) : 0;
}

}  // namespace

// Keeps the first `bits` bits of `in`, zeroes the rest.
Bytes masked(const uint8_t* in, size_t len, unsigned bits) noexcept {
    Bytes out{};
    for (size_t i = 0; i < len; ++i) {
        const unsigned first = static_cast<unsigned>(i) * 8;
        if (bits >= first + 8) {
            out[i] = in[i];
        } else if (bits > first) {
            out[i] = static_cast<uint8_t>(in[i] & (0xFFU << (8 - (bits - first))));
        }
    }
    return out;
}

// Index of the first bit where a and b differ within the first `bits` bits; `bits` if none.
unsigned first_difference(const Bytes& a, const Bytes& b, unsigned bits) noexcept {
    for (unsigned i = 0; i * 8 < bits; ++i) {
        const unsigned x = static_cast<unsigned>(a[i] ^ b[i]) & 0xFFU;
        if (x != 0) {
            const unsigned d = i * 8 + static_cast<unsigned>(__builtin_clz(x)) - 24;
            return std::min(d, bits);
        }
    }
    return bits;
}

namespace {

int special_v4(const Bytes& a, unsigned src) noexcept {
    for (const auto& b : kSpecialV4) {
        if (b.prefix <= src) {
            const Bytes net = masked(b.bytes, 4, b.prefix);
            if (first_difference(a, net, b.prefix) == b.prefix) {
                return b.prefix;
            }
        }
    }
    return -1;
}

int special_v6(const Bytes& a, unsigned src) noexcept {
    for (const auto& b : kSpecialV6) {
        if (b.prefix <= src && (a[0] & b.first_mask) == b.first &&
            (a[1] & b.second_mask) == b.second) {
            return b.prefix;
        }
    }
    if (src == 128) {
        bool zero_head = true;
        for (size_t i = 0; i < 15; ++i) {
            zero_head = zero_head && a[i] == 0;
        }
        if (zero_head && a[15] <= 1) {  // :: and ::1
            return 128;
        }
    }
    return -1;
}

bool has_ipv4_subtree(const MMDB_s& mmdb) {
    uint32_t node = 0;
    for (int depth = 0; depth < 96; ++depth) {
        MMDB_search_node_s sn{};
        if (MMDB_read_node(&mmdb, node, &sn) != MMDB_SUCCESS) {
            return false;
        }
        if (sn.left_record_type == MMDB_RECORD_TYPE_DATA) {
            return true;  // one record covers a network containing all of ::/96
        }
        if (sn.left_record_type != MMDB_RECORD_TYPE_SEARCH_NODE) {
            return false;
        }
        node = static_cast<uint32_t>(sn.left_record);
    }
    return true;
}

bool get_value(MMDB_entry_s* entry, MMDB_entry_data_s* data, const char* const* path) noexcept {
    return MMDB_aget_value(entry, data, path) == MMDB_SUCCESS && data->has_data;
}

bool get_double(MMDB_entry_s* entry, const char* const* path, double* out) noexcept {
    MMDB_entry_data_s d{};
    if (!get_value(entry, &d, path)) {
        return false;
    }
    switch (d.type) {
        case MMDB_DATA_TYPE_DOUBLE:
            *out = d.double_value;
            return true;
        case MMDB_DATA_TYPE_FLOAT:
            *out = static_cast<double>(d.float_value);
            return true;
        case MMDB_DATA_TYPE_INT32:
            *out = d.int32;
            return true;
        case MMDB_DATA_TYPE_UINT16:
            *out = d.uint16;
            return true;
        case MMDB_DATA_TYPE_UINT32:
            *out = d.uint32;
            return true;
        default:
            return false;
    }
}

CountryCode get_code(MMDB_entry_s* entry, const char* const* path) noexcept {
    MMDB_entry_data_s d{};
    if (!get_value(entry, &d, path) || d.type != MMDB_DATA_TYPE_UTF8_STRING) {
        return 0;
    }
    return parse_code(d.utf8_string, d.data_size);
}

constexpr const char* kCityCountry[] = {"country", "iso_code", nullptr};
constexpr const char* kCityRegistered[] = {"registered_country", "iso_code", nullptr};
constexpr const char* kCityContinent[] = {"continent", "code", nullptr};
constexpr const char* kCityLat[] = {"location", "latitude", nullptr};
constexpr const char* kCityLon[] = {"location", "longitude", nullptr};
constexpr const char* kFlatCountry[] = {"country_code", nullptr};
constexpr const char* kFlatLat[] = {"latitude", nullptr};
constexpr const char* kFlatLon[] = {"longitude", nullptr};

}  // namespace

bool read_record(MMDB_entry_s* entry, Schema schema, Location* loc) noexcept {
    const bool city = schema == Schema::kCity;
    double lat = 0;
    double lon = 0;
    CountryCode country = get_code(entry, city ? kCityCountry : kFlatCountry);
    if (country == 0 && city) {
        country = get_code(entry, kCityRegistered);
    }
    const bool coords = get_double(entry, city ? kCityLat : kFlatLat, &lat) &&
                        get_double(entry, city ? kCityLon : kFlatLon, &lon) && std::isfinite(lat) &&
                        std::isfinite(lon) && std::fabs(lat) <= 90 && std::fabs(lon) <= 180;
    if (country == 0 && !coords) {
        return false;
    }
    loc->country = country;
    loc->continent = city ? get_code(entry, kCityContinent) : 0;
    if (coords) {
        loc->has_coords = true;
        loc->lat = lat;
        loc->lon = lon;
    }
    return true;
}

namespace {

std::string format_address(int family, const Bytes& b) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(family == 4 ? AF_INET : AF_INET6, b.data(), buf, sizeof buf);
    return buf;
}

std::string format_code(CountryCode c) {
    return std::string{static_cast<char>(c >> 8), static_cast<char>(c & 0xFF)};
}

}  // namespace

CountryCode continent_of(CountryCode country) noexcept {
    const char c0 = static_cast<char>(country >> 8);
    const char c1 = static_cast<char>(country & 0xFF);
    if (!is_upper(c0) || !is_upper(c1)) {
        return 0;
    }
    return kContinentTable[static_cast<size_t>(c0 - 'A') * 26 + static_cast<size_t>(c1 - 'A')];
}

double distance_km(double lat1, double lon1, double lat2, double lon2) noexcept {
    constexpr double kEarthRadiusKm = 6371.0088;  // IUGG mean radius
    constexpr double kRad = M_PI / 180.0;
    const double dlat = (lat2 - lat1) * kRad;
    const double dlon = (lon2 - lon1) * kRad;
    const double s1 = std::sin(dlat / 2);
    const double s2 = std::sin(dlon / 2);
    double h = s1 * s1 + std::cos(lat1 * kRad) * std::cos(lat2 * kRad) * s2 * s2;
    h = std::clamp(h, 0.0, 1.0);
    return 2 * kEarthRadiusKm * std::asin(std::sqrt(h));
}

int Resolver::Impl::match_net(int family, const Bytes& a) const noexcept {
    for (size_t i = 0; i < nets.size(); ++i) {
        const Net& n = nets[i];
        if (n.family == family && first_difference(a, n.bytes, n.prefix) == n.prefix) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

bool Resolver::Impl::from_nets(int family, const Bytes& a, unsigned src, Detail* detail,
                               Location& loc) const noexcept {
    const int net = match_net(family, a);
    if (net < 0) {
        return false;
    }
    const auto& n = nets[static_cast<size_t>(net)];
    loc = n.where;
    loc.prefix_len = static_cast<uint8_t>(exclude_nets(family, a, n.prefix, src));
    if (detail != nullptr) {
        detail->net = net;
    }
    return true;
}

unsigned Resolver::Impl::exclude_nets(int family, const Bytes& a, unsigned prefix,
                                      unsigned src) const noexcept {
    unsigned p = prefix;
    for (const Net& n : nets) {
        if (n.family != family || n.prefix <= p) {
            continue;
        }
        const unsigned d = first_difference(a, n.bytes, n.prefix);
        if (d < n.prefix && d >= p) {  // overlaps a/p, does not contain a
            p = d + 1;
        }
    }
    return std::min(p, src);
}

Location Resolver::Impl::from_database(int family, const Bytes& a, unsigned src,
                                       Detail* detail) const noexcept {
    Location loc;
    const int index = family == 4 ? v4_db : v6_db;
    if (index < 0) {
        if (detail != nullptr) {
            detail->no_db = true;
        }
        return loc;  // prefix 0: the answer is the same for every address without a nets entry
    }
    const Database& db = *dbs[static_cast<size_t>(index)];
    sockaddr_storage ss{};
    if (family == 4) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
        sin->sin_family = AF_INET;
        std::memcpy(&sin->sin_addr, a.data(), 4);
    } else {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
        sin6->sin6_family = AF_INET6;
        std::memcpy(&sin6->sin6_addr, a.data(), 16);
    }
    int error = MMDB_SUCCESS;
    MMDB_lookup_result_s r =
        MMDB_lookup_sockaddr(&db.mmdb, reinterpret_cast<const sockaddr*>(&ss), &error);
    if (error != MMDB_SUCCESS) {
        return loc;
    }
    // An IPv4 address in an IPv6 database: the netmask counts the 96 bits of ::/96.
    int netmask = r.netmask;
    if (family == 4 && db.mmdb.metadata.ip_version == 6) {
        netmask = std::max(0, netmask - 96);
    }
    loc.prefix_len = static_cast<uint8_t>(std::min<unsigned>(static_cast<unsigned>(netmask), src));
    if (detail != nullptr) {
        detail->db = index;
        detail->db_prefix = netmask;
    }
    if (!r.found_entry) {
        return loc;
    }
    const Schema other = db.hint == Schema::kCity ? Schema::kFlat : Schema::kCity;
    if (read_record(&r.entry, db.hint, &loc) || read_record(&r.entry, other, &loc)) {
        loc.known = true;
        loc.source = Location::Source::kDatabase;
        if (loc.continent == 0) {
            loc.continent = continent_of(loc.country);
        }
    }
    return loc;
}

Location Resolver::Impl::from_special_or_database(int family, const Bytes& a, int special,
                                                  unsigned src, Detail* detail) const noexcept {
    Location loc;
    if (special >= 0) {
        if (detail != nullptr) {
            detail->special = special;
        }
    } else {
        loc = from_database(family, a, src, detail);
    }
    const unsigned base = special >= 0 ? static_cast<unsigned>(special) : loc.prefix_len;
    loc.prefix_len = static_cast<uint8_t>(exclude_nets(family, a, base, src));
    return loc;
}

Location Resolver::Impl::lookup_v4(const Bytes& a, unsigned src, Detail* detail) const noexcept {
    Location loc;
    if (from_nets(4, a, src, detail, loc)) {
        return loc;
    }
    return from_special_or_database(4, a, special_v4(a, src), src, detail);
}

Location Resolver::Impl::lookup_v6(const Bytes& a, unsigned src, Detail* detail) const noexcept {
    Location loc;
    if (from_nets(6, a, src, detail, loc)) {
        return loc;
    }

    // Addresses that carry an IPv4 address are placed by that address.
    Embedded kind = Embedded::kNone;
    Bytes v4{};
    unsigned v4_src = 0;
    static constexpr uint8_t kMappedHead[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (src >= 96 && std::memcmp(a.data(), kMappedHead, 12) == 0) {
        kind = Embedded::kMapped;  // RFC 4291 2.5.5.2
        std::memcpy(v4.data(), a.data() + 12, 4);
        v4_src = src - 96;
    } else if (src >= 16 && a[0] == 0x20 && a[1] == 0x02) {
        kind = Embedded::kSixToFour;  // RFC 3056: 2002:V4ADDR::/48
        std::memcpy(v4.data(), a.data() + 2, 4);
        v4_src = std::min(src - 16, 32U);
    } else if (src > 96 && a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0) {
        kind = Embedded::kTeredo;  // RFC 4380 section 4: client address is obfuscated
        for (size_t i = 0; i < 4; ++i) {
            v4[i] = static_cast<uint8_t>(a[12 + i] ^ 0xFF);
        }
        v4_src = src - 96;
    }
    if (kind != Embedded::kNone) {
        v4 = masked(v4.data(), 4, v4_src);
        if (detail != nullptr) {
            detail->embedded = kind;
            detail->v4 = v4;
        }
        loc = lookup_v4(v4, v4_src, detail);
        unsigned p = src;  // Teredo: one client's addresses are not one IPv6 prefix
        if (kind == Embedded::kMapped) {
            p = 96 + loc.prefix_len;
        } else if (kind == Embedded::kSixToFour) {
            p = 16 + loc.prefix_len;
        }
        loc.prefix_len = static_cast<uint8_t>(exclude_nets(6, a, std::min(p, src), src));
        return loc;
    }

    return from_special_or_database(6, a, special_v6(a, src), src, detail);
}

Location Resolver::Impl::lookup(int family, const uint8_t* addr, uint8_t source_prefix,
                                Detail* detail) const noexcept {
    if (addr == nullptr || (family != 4 && family != 6)) {
        return Location{};
    }
    const unsigned bits = family == 4 ? 32 : 128;
    const unsigned src = std::min<unsigned>(source_prefix, bits);
    const Bytes a = masked(addr, family == 4 ? 4 : 16, src);
    Location loc = family == 4 ? lookup_v4(a, src, detail) : lookup_v6(a, src, detail);
    if (!loc.known && has_default) {
        loc.has_coords = true;
        loc.lat = default_lat;
        loc.lon = default_lon;
        loc.source = Location::Source::kDefault;
    }
    return loc;
}

void Resolver::set_default_location(double lat, double lon) noexcept {
    impl_->has_default = true;
    impl_->default_lat = lat;
    impl_->default_lon = lon;
}

Resolver::Resolver() : impl_(std::make_unique<Impl>()) {}
Resolver::~Resolver() = default;

void Resolver::open_database(const std::string& path) {
    auto db = std::make_unique<Database>();
    const int status = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &db->mmdb);
    if (status != MMDB_SUCCESS) {
        std::string reason = MMDB_strerror(status);
        if (status == MMDB_IO_ERROR) {
            reason += std::string(": ") + base::errno_text(errno);
        }
        throw std::runtime_error(path + ": cannot open MaxMind database: " + reason);
    }
    db->opened = true;
    db->path = path;
    const size_t slash = path.find_last_of('/');
    db->name = slash == std::string::npos ? path : path.substr(slash + 1);
    const MMDB_metadata_s& meta = db->mmdb.metadata;
    if (meta.ip_version == 4) {
        db->ipv4 = true;
    } else if (meta.ip_version == 6) {
        db->ipv6 = true;
        db->ipv4 = has_ipv4_subtree(db->mmdb);
    } else {
        throw std::runtime_error(path + ": unsupported ip_version " +
                                 std::to_string(meta.ip_version));
    }
    // GeoIP2/GeoLite2 and DB-IP's own City files use the nested schema; the flat one comes
    // from the ip-location-db packages (database_type "city ipv4"). Lookups try the other
    // schema when the expected one has no fields.
    const std::string type = meta.database_type != nullptr ? meta.database_type : "";
    db->hint = type.rfind("city ", 0) == 0 ? Schema::kFlat : Schema::kCity;

    // Warm-up lookup on the control thread, so that anything libmaxminddb computes lazily
    // (the IPv4 start node in older releases) is done before workers share the handle.
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    int error = 0;
    (void)MMDB_lookup_sockaddr(&db->mmdb, reinterpret_cast<const sockaddr*>(&sin), &error);

    const int index = static_cast<int>(impl_->dbs.size());
    if (db->ipv4 && impl_->v4_db < 0) {
        impl_->v4_db = index;
    }
    if (db->ipv6 && impl_->v6_db < 0) {
        impl_->v6_db = index;
    }
    impl_->dbs.push_back(std::move(db));
}

void Resolver::add_net(std::string_view cidr, const Location& where) {
    const std::string text(cidr);
    const size_t slash = text.find('/');
    if (slash == std::string::npos || slash + 1 >= text.size()) {
        throw std::invalid_argument("'" + text + "': expected an address/prefix network");
    }
    const std::string host = text.substr(0, slash);
    const std::string len = text.substr(slash + 1);
    Net n;
    Bytes raw{};
    if (inet_pton(AF_INET, host.c_str(), raw.data()) == 1) {
        n.family = 4;
    } else if (inet_pton(AF_INET6, host.c_str(), raw.data()) == 1) {
        n.family = 6;
    } else {
        throw std::invalid_argument("'" + text + "': '" + host + "' is not an IP address");
    }
    const unsigned max_bits = n.family == 4 ? 32 : 128;
    unsigned prefix = 0;
    for (char c : len) {
        if (c < '0' || c > '9' || prefix > max_bits) {
            throw std::invalid_argument("'" + text + "': bad prefix length");
        }
        prefix = prefix * 10 + static_cast<unsigned>(c - '0');
    }
    if (prefix > max_bits) {
        throw std::invalid_argument("'" + text + "': prefix length above " +
                                    std::to_string(max_bits));
    }
    n.bytes = masked(raw.data(), n.family == 4 ? 4 : 16, prefix);
    if (n.bytes != raw) {
        throw std::invalid_argument("'" + text + "': host bits set (did you mean " +
                                    format_address(n.family, n.bytes) + "/" + len + "?)");
    }
    // An IPv4-mapped network is the IPv4 network it maps: lookups of mapped addresses use it.
    static constexpr uint8_t kMappedHead[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (n.family == 6 && prefix >= 96 && std::memcmp(n.bytes.data(), kMappedHead, 12) == 0) {
        n.family = 4;
        prefix -= 96;
        Bytes v4{};
        std::memcpy(v4.data(), n.bytes.data() + 12, 4);
        n.bytes = v4;
    }
    n.prefix = static_cast<uint8_t>(prefix);
    for (const Net& other : impl_->nets) {
        if (other.family == n.family && other.prefix == n.prefix && other.bytes == n.bytes) {
            throw std::invalid_argument("'" + text + "': network listed twice");
        }
    }
    n.where = where;
    n.where.known = true;
    n.where.source = Location::Source::kNets;
    if (n.where.continent == 0) {
        n.where.continent = continent_of(n.where.country);
    }
    auto pos = std::find_if(impl_->nets.begin(), impl_->nets.end(), [&](const Net& o) {
        return o.family > n.family || (o.family == n.family && o.prefix < n.prefix);
    });
    impl_->nets.insert(pos, n);
}

bool Resolver::has_database() const noexcept { return !impl_->dbs.empty(); }

Location Resolver::lookup(int family, const uint8_t* addr, uint8_t source_prefix) const noexcept {
    return impl_->lookup(family, addr, source_prefix, nullptr);
}

std::string Resolver::describe(int family, const uint8_t* addr, uint8_t source_prefix) const {
    Detail d;
    const Location loc = impl_->lookup(family, addr, source_prefix, &d);
    if (addr == nullptr || (family != 4 && family != 6)) {
        return "unknown (not an IPv4 or IPv6 address)";
    }
    std::string out;
    int fam = family;
    if (d.embedded != Embedded::kNone) {
        static constexpr const char* kNames[] = {"", "IPv4-mapped", "6to4", "Teredo"};
        out = std::string(kNames[static_cast<int>(d.embedded)]) + " address, looked up as " +
              format_address(4, d.v4) + ": ";
        fam = 4;
    }
    char num[96];
    if (d.net >= 0) {
        const Net& n = impl_->nets[static_cast<size_t>(d.net)];
        out += "nets " + format_address(n.family, n.bytes) + "/" + std::to_string(n.prefix) + ":";
    } else if (d.special >= 0) {
        return out + "unknown (special-purpose address range, /" + std::to_string(d.special) +
               "), scope /" + std::to_string(loc.prefix_len);
    } else if (d.no_db) {
        return out + "unknown (no database for IPv" + std::to_string(fam) + ")";
    } else if (!loc.known) {
        out += "unknown (no database match), scope /" + std::to_string(loc.prefix_len);
        if (loc.source == Location::Source::kDefault) {
            out += "; default_location " + std::to_string(loc.lat) + ", " + std::to_string(loc.lon);
        }
        return out;
    } else {
        const bool embedded = d.embedded != Embedded::kNone;
        const Bytes net = masked(embedded ? d.v4.data() : addr, fam == 4 ? 4 : 16,
                                 static_cast<unsigned>(d.db_prefix));
        out += "database network " + format_address(fam, net) + "/" + std::to_string(d.db_prefix) +
               " (" + impl_->dbs[static_cast<size_t>(d.db)]->name + "),";
    }
    const char* sep = " ";
    if (loc.country != 0) {
        out += sep + std::string("country ") + format_code(loc.country);
        sep = ", ";
    }
    if (loc.continent != 0) {
        out += sep + std::string("continent ") + format_code(loc.continent);
        sep = ", ";
    }
    if (loc.has_coords) {
        std::snprintf(num, sizeof num, "lat %.2f lon %.2f", loc.lat, loc.lon);
        out += sep + std::string(num);
    }
    out += "; scope /" + std::to_string(loc.prefix_len);
    return out;
}

}  // namespace dnslb::geo
