// `dnslb import` end to end: a zone file with every common type, imported and served by the
// real dnslb, against NSD serving the original file, record by record over UDP and TCP; the
// same zone by AXFR from that NSD; a malformed file; and a gdnsd configuration converted and
// served with steering, monitors and the report of what had no equivalent.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>

#include "tests/e2e/checks.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/e2e/http_client.hpp"

using namespace dnslb::e2e;
using Json = nlohmann::ordered_json;

namespace {

constexpr const char* kNsd = "/usr/sbin/nsd";  // Debian's nsd package (tools/setup)

std::string data_dir() { return source_root() + "/tests/e2e/import"; }

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

struct Run {
    int status = -1;
    std::string out;
    std::string err;
};

// Runs `dnslb ARGS`, capturing stdout and stderr.
Run run_dnslb(const std::string& args) {
    TempDir tmp;
    Run r;
    r.out = run_command(std::string(DNSLB_BINARY) + " " + args + " 2>" + tmp.path() + "/err",
                        &r.status);
    r.err = slurp(tmp.path() + "/err");
    return r;
}

// A peer server started by the test is ready once it answers `name` SOA authoritatively; it
// is given `tries` attempts, 100 ms apart.
bool answers_authoritatively(uint16_t port, const std::string& name, int tries) {
    for (int i = 0; i < tries; ++i) {
        auto r = udp_exchange(port, make_query(name, LDNS_RR_TYPE_SOA), 200ms);
        if (r && header(*r).aa) {
            return true;
        }
        std::this_thread::sleep_for(100ms);
    }
    return false;
}

// SIGTERM to a peer server the test forked, and wait for it.
void stop_child(pid_t& pid) {
    if (pid > 0) {
        kill(pid, SIGTERM);
        int st = 0;
        waitpid(pid, &st, 0);
        pid = -1;
    }
}

// NSD on a free loopback port with its own configuration and directories, in the foreground.
class Nsd {
public:
    Nsd(const std::string& zone, const std::string& zone_text) {
        port_ = pick_free_port();
        dir_.write("zone", zone_text);
        const std::string d = dir_.path();
        dir_.write("nsd.conf", "server:\n  ip-address: 127.0.0.1@" + std::to_string(port_) +
                                   "\n  zonesdir: \"" + d + "\"\n  database: \"\"\n" +
                                   "  pidfile: \"" + d + "/nsd.pid\"\n  xfrdfile: \"" + d +
                                   "/xfrd.state\"\n  zonelistfile: \"" + d +
                                   "/zone.list\"\n  username: \"\"\n  chroot: \"\"\n" +
                                   "  logfile: \"" + d + "/nsd.log\"\n  server-count: 1\n" +
                                   "  verbosity: 1\nremote-control:\n  control-enable: no\n" +
                                   "zone:\n  name: " + zone + "\n  zonefile: \"" + d +
                                   "/zone\"\n  provide-xfr: 127.0.0.1 NOKEY\n");
    }
    ~Nsd() { stop(); }
    Nsd(const Nsd&) = delete;
    Nsd& operator=(const Nsd&) = delete;

    bool start(const std::string& probe_name) {
        pid_ = fork();
        if (pid_ == 0) {
            const std::string conf = dir_.path() + "/nsd.conf";
            execl(kNsd, kNsd, "-d", "-c", conf.c_str(), static_cast<char*>(nullptr));
            _exit(127);
        }
        return answers_authoritatively(port_, probe_name, 100);
    }
    void stop() { stop_child(pid_); }
    uint16_t port() const { return port_; }
    std::string log() const { return slurp(dir_.path() + "/nsd.log"); }

private:
    TempDir dir_;
    uint16_t port_ = 0;
    pid_t pid_ = -1;
};

// One record as a resolver compares it: owner (lower case), type, class, TTL, RDATA text.
using Rec = std::tuple<std::string, int, int, uint32_t, std::string>;
using RecSet = std::set<Rec>;

RecSet section(const Pkt& pkt, ldns_pkt_section s) {
    RecSet out;
    for (ldns_rr* rr : records(pkt, s)) {
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_OPT) {
            continue;
        }
        out.emplace(owner(rr), ldns_rr_get_type(rr), ldns_rr_get_class(rr), ldns_rr_ttl(rr),
                    rdata_text(rr));
    }
    return out;
}

std::string show(const RecSet& s) {
    std::string out;
    for (const auto& [o, t, c, ttl, rd] : s) {
        out += "  " + o + " " + std::to_string(ttl) + " " + std::to_string(t) + " " + rd + "\n";
    }
    return out;
}

RecSet minus(const RecSet& a, const RecSet& b) {
    RecSet out;
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()));
    return out;
}

// The names a positive answer refers to (RFC 1035 section 3.3: NS, MX and SRV targets), for
// which NSD adds addresses to the additional section (optional, RFC 2181 section 5.4.1).
std::set<std::string> targets(const RecSet& answer, const RecSet& authority) {
    std::set<std::string> out;
    for (const RecSet* s : {&answer, &authority}) {
        for (const auto& [o, t, c, ttl, rd] : *s) {
            const std::string last = rd.substr(rd.rfind(' ') + 1);
            if (t == LDNS_RR_TYPE_NS || t == LDNS_RR_TYPE_MX || t == LDNS_RR_TYPE_SRV) {
                out.insert(lower(last));
            }
        }
    }
    return out;
}

struct Tally {
    size_t compared = 0;   // (name, type, transport) questions
    size_t identical = 0;  // every section the same
    size_t explained = 0;  // same answer; NSD's extra optional data accounted for
};

// Compares NSD's and dnslb's replies to one question. dnslb sends minimal responses: with a
// positive answer NSD may add the apex NS RRset to the authority section and addresses of
// NS/MX/SRV targets to the additional section (both optional, RFC 1034 section 4.3.2 step 6,
// RFC 2181 section 5.4.1); such extras are checked to be exactly that, everything else must
// be equal.
void compare(Transport t, uint16_t nsd_port, uint16_t lb_port, const std::string& name,
             ldns_rr_type type, const RecSet& apex_ns, Tally& tally) {
    INFO(transport_name(t) << " " << name << " " << type_name(type));
    auto a = ask(t, nsd_port, name, type);
    auto b = ask(t, lb_port, name, type);
    REQUIRE(a);
    REQUIRE(b);
    INFO("NSD:\n" << to_text(a->wire) << "dnslb:\n" << to_text(b->wire));
    ++tally.compared;
    CHECK(a->msg.hdr.rcode == b->msg.hdr.rcode);
    CHECK(a->msg.hdr.aa == b->msg.hdr.aa);
    CHECK_FALSE(b->msg.hdr.tc);
    const RecSet an_a = section(a->pkt, LDNS_SECTION_ANSWER);
    const RecSet an_b = section(b->pkt, LDNS_SECTION_ANSWER);
    CHECK(show(an_a) == show(an_b));
    const RecSet ns_a = section(a->pkt, LDNS_SECTION_AUTHORITY);
    const RecSet ns_b = section(b->pkt, LDNS_SECTION_AUTHORITY);
    const RecSet ad_a = section(a->pkt, LDNS_SECTION_ADDITIONAL);
    const RecSet ad_b = section(b->pkt, LDNS_SECTION_ADDITIONAL);
    if (ns_a == ns_b && ad_a == ad_b) {
        tally.identical += an_a == an_b ? 1 : 0;
        return;
    }
    // Only a positive answer may carry optional extras.
    REQUIRE_FALSE(an_a.empty());
    CHECK(minus(ns_b, ns_a).empty());
    CHECK(minus(ad_b, ad_a).empty());
    const RecSet extra_ns = minus(ns_a, ns_b);
    CHECK((extra_ns.empty() || extra_ns == apex_ns));
    const auto names = targets(an_a, extra_ns.empty() ? ns_b : ns_a);
    for (const auto& [o, rtype, c, ttl, rd] : minus(ad_a, ad_b)) {
        INFO("NSD's additional " << o << " " << rd);
        CHECK((rtype == LDNS_RR_TYPE_A || rtype == LDNS_RR_TYPE_AAAA));
        CHECK(names.count(o) == 1);
    }
    tally.explained += an_a == an_b ? 1 : 0;
}

// Every (owner, type) of a zone file, read with ldns on the test side.
std::vector<std::pair<std::string, ldns_rr_type>> questions_of(const std::string& text) {
    std::vector<std::pair<std::string, ldns_rr_type>> out;
    FILE* f = fmemopen(const_cast<char*>(text.data()), text.size(), "r");
    REQUIRE(f != nullptr);
    ldns_zone* z = nullptr;
    int line = 0;
    const ldns_status st = ldns_zone_new_frm_fp_l(&z, f, nullptr, 3600, LDNS_RR_CLASS_IN, &line);
    std::fclose(f);
    REQUIRE(st == LDNS_STATUS_OK);
    std::set<std::pair<std::string, ldns_rr_type>> seen;
    auto add = [&](const ldns_rr* rr) {
        std::pair<std::string, ldns_rr_type> q{owner(rr), ldns_rr_get_type(rr)};
        if (seen.insert(q).second) {
            out.push_back(q);
        }
    };
    add(ldns_zone_soa(z));
    for (size_t i = 0; i < ldns_rr_list_rr_count(ldns_zone_rrs(z)); ++i) {
        add(ldns_rr_list_rr(ldns_zone_rrs(z), i));
    }
    ldns_zone_deep_free(z);
    return out;
}

Json parse_json(const std::string& text) { return Json::parse(text); }

}  // namespace

TEST_CASE("import: a zone file served by dnslb answers as NSD serving the file; AXFR agrees",
          "[e2e][import]") {
    REQUIRE(access(kNsd, X_OK) == 0);  // tools/setup installs nsd: missing is a failure
    const std::string file = data_dir() + "/example.org.zone";
    TempDir zones;
    Run imp = run_dnslb("import --output " + zones.path() + "/example.org.json " + file);
    INFO(imp.err);
    REQUIRE(imp.status == 0);
    CHECK(imp.out.empty());  // --output: nothing on stdout
    const std::string json_text = slurp(zones.path() + "/example.org.json");
    const Json zone = parse_json(json_text);

    // What could not be converted: the $GENERATE line, named with line and content, in the
    // file and on stderr. Nothing else is noted.
    REQUIRE(zone.contains("notes"));
    REQUIRE(zone["notes"].size() == 1);
    const std::string note = zone["notes"][0];
    CHECK(note.find("example.org.zone: line 36: $GENERATE") != std::string::npos);
    CHECK(note.find("'$GENERATE 1-4 host$ A 192.0.2.$'") != std::string::npos);
    CHECK(imp.err.find("note: " + note) != std::string::npos);
    // Escapes kept: '\.' inside a label, \DDD bytes in TXT.
    CHECK(zone["records"].contains("a\\.b"));
    CHECK(zone["records"]["a\\.b"]["TXT"][0].get<std::string>().find("\\200\\255") !=
          std::string::npos);

    Run check = run_dnslb("check " + zones.path() + "/example.org.json");
    INFO(check.err);
    CHECK(check.status == 0);
    CHECK(check.out.find("ok: 0 errors") != std::string::npos);

    // NSD 4.6 rejects the whole zone on $GENERATE ("Unknown directive"), so it serves the file
    // with that one line commented out. The four generated names are then in neither server
    // (dnslb left them out with the note above); BIND and Knot would expand them.
    std::string original = slurp(file);
    const size_t gen = original.find("\n$GENERATE");
    REQUIRE(gen != std::string::npos);
    std::string for_nsd = original;
    for_nsd.insert(gen + 1, ";");
    Nsd nsd("example.org", for_nsd);
    REQUIRE(nsd.start("example.org."));
    INFO(nsd.log());

    ServerOptions o;
    o.zones_dir = zones.path();
    Server lb(o);
    E2E_START(lb);

    auto questions = questions_of(for_nsd);
    // Negatives and synthesized names: NXDOMAIN, NODATA, an empty non-terminal, a wildcard
    // match (positive and NODATA), names at and under the delegation (referrals; glue is only
    // given in the referral), a name below a CNAME target's sibling.
    const std::vector<std::pair<std::string, ldns_rr_type>> extra = {
        {"nothere.example.org.", LDNS_RR_TYPE_A},   {"www.example.org.", LDNS_RR_TYPE_MX},
        {"sub.example.org.", LDNS_RR_TYPE_A},       {"x.wild.example.org.", LDNS_RR_TYPE_A},
        {"x.wild.example.org.", LDNS_RR_TYPE_TXT},  {"x.wild.example.org.", LDNS_RR_TYPE_MX},
        {"a.b.wild.example.org.", LDNS_RR_TYPE_A},  {"host1.example.org.", LDNS_RR_TYPE_A},
        {"www.child.example.org.", LDNS_RR_TYPE_A}, {"child.example.org.", LDNS_RR_TYPE_A},
        {"ftp.example.org.", LDNS_RR_TYPE_AAAA},    {"_tcp.www.example.org.", LDNS_RR_TYPE_TXT},
    };
    questions.insert(questions.end(), extra.begin(), extra.end());
    RecSet apex_ns;
    {
        auto ns = ask(Transport::kUdp, nsd.port(), "example.org.", LDNS_RR_TYPE_NS);
        REQUIRE(ns);
        apex_ns = section(ns->pkt, LDNS_SECTION_ANSWER);
        REQUIRE(apex_ns.size() == 2);
    }
    Tally tally;
    for (Transport t : kBoth) {
        for (const auto& [name, type] : questions) {
            compare(t, nsd.port(), lb.port(), name, type, apex_ns, tally);
        }
    }
    // The figures, for the record: every question agreed, most of them byte for byte in
    // every section.
    WARN("compared " << tally.compared << " questions (" << questions.size()
                     << " name/type pairs, UDP and TCP): " << tally.identical
                     << " identical in every section, " << tally.explained
                     << " with the same answer and only NSD's optional extras");
    CHECK(tally.identical + tally.explained == tally.compared);
    CHECK(questions.size() >= 40);

    // The same zone by zone transfer from NSD: the same JSON, without the note (the transfer
    // has no $GENERATE line to report).
    Run axfr = run_dnslb("import --axfr 127.0.0.1:" + std::to_string(nsd.port()) +
                         " --origin example.org");
    INFO(axfr.err);
    REQUIRE(axfr.status == 0);
    Json from_axfr = parse_json(axfr.out);
    Json from_file = zone;
    from_file.erase("notes");
    CHECK(from_axfr.dump(2) == from_file.dump(2));
    CHECK_FALSE(from_axfr.contains("notes"));
    // IPv6 in brackets is read as an address: nothing listens on [::1] there, so the
    // transfer fails with a message, exit 1.
    Run v6 =
        run_dnslb("import --axfr [::1]:" + std::to_string(nsd.port()) + " --origin example.org");
    CHECK(v6.status == 1);
    CHECK(v6.err.find("AXFR of example.org. from [::1]:") != std::string::npos);
    // --axfr needs --origin.
    CHECK(run_dnslb("import --axfr 127.0.0.1:" + std::to_string(nsd.port())).status == 2);

    E2E_STOP_CLEAN(lb);
    nsd.stop();
}

TEST_CASE("import: a malformed zone file names its line, exits 1 and writes nothing",
          "[e2e][import]") {
    TempDir out;
    const std::string target = out.path() + "/bad.json";
    Run r = run_dnslb("import --output " + target + " " + data_dir() + "/bad.zone");
    CHECK(r.status == 1);
    CHECK(r.err.find("bad.zone: line 7: ") != std::string::npos);
    CHECK(r.err.find("192.0.2.300") != std::string::npos);
    CHECK(r.out.empty());
    CHECK_FALSE(std::filesystem::exists(target));
    CHECK(std::filesystem::is_empty(out.path()));  // no temporary file left either
    // A file that does not exist, and no origin for relative names.
    CHECK(run_dnslb("import " + out.path() + "/missing.zone").status == 1);
    out.write("noorigin.zone", "@ 3600 IN SOA ns1 host 1 2 3 4 5\n");
    Run no = run_dnslb("import " + out.path() + "/noorigin.zone");
    CHECK(no.status == 1);
    CHECK(no.err.find("--origin") != std::string::npos);
    Run with = run_dnslb("import --origin example.net " + out.path() + "/noorigin.zone");
    INFO(with.err);
    CHECK(with.status == 0);
    CHECK(parse_json(with.out)["origin"] == "example.net.");
}

namespace {

constexpr uint16_t kOptionEcs = 8;  // RFC 7871 section 6

// A query whose EDNS Client Subnet option places the client in `v4_net`/24.
Bytes ecs_query(const std::string& name, ldns_rr_type type, const std::string& v4_net) {
    unsigned a = 0;
    unsigned b = 0;
    unsigned c = 0;
    REQUIRE(std::sscanf(v4_net.c_str(), "%u.%u.%u", &a, &b, &c) == 3);
    Edns e;
    e.options = {0,
                 kOptionEcs,
                 0,
                 7,
                 0,
                 1,
                 24,
                 0,
                 static_cast<uint8_t>(a),
                 static_cast<uint8_t>(b),
                 static_cast<uint8_t>(c)};
    QueryOptions q;
    q.edns = e;
    return make_query(name, type, q);
}

std::vector<std::string> addresses(Transport t, uint16_t port, const std::string& name,
                                   const std::string& net) {
    auto r = ask_wire(t, port, ecs_query(name, LDNS_RR_TYPE_A, net));
    REQUIRE(r);
    INFO(to_text(r->wire));
    CHECK(r->msg.hdr.aa);
    auto out = rdatas(r->pkt, LDNS_SECTION_ANSWER, LDNS_RR_TYPE_A);
    std::sort(out.begin(), out.end());
    return out;
}

using Addrs = std::vector<std::string>;

}  // namespace

TEST_CASE("import --gdnsd: geoip, metafo and multifo become pools, service types monitors",
          "[e2e][import][gdnsd]") {
    TempDir out;
    const std::string zones = out.path() + "/zones";
    Run r = run_dnslb("import --gdnsd " + data_dir() + "/gdnsd --output " + zones);
    INFO(r.err);
    REQUIRE(r.status == 0);
    const std::string file = zones + "/gslb.example.json";
    REQUIRE(std::filesystem::exists(file));
    const Json zone = parse_json(slurp(file));
    Run check = run_dnslb("check " + file);
    INFO(check.err);
    CHECK(check.status == 0);

    // The report: on stderr and in the zone's notes, what had no equivalent.
    const std::vector<std::string> reported = {
        "options/listen: a server setting",
        "service_types/script: plugin 'extmon' has no equivalent",
        "plugins/weighted: no dnslb equivalent",
        "service_types/web: ok_thresh has no equivalent",
        "maps/world: geoip2_db \"GeoIP2-City.mmdb\"",
        "maps/world: nets (networks to datacenters) has no equivalent",
        "map/EU/FR/IDF: subdivision and city entries have no equivalent",
        "service_types [web, ...]: dnslb checks an origin with one monitor; only 'web'",
        "dcmap/sgp: CNAME result 'cdn.example.net.' has no equivalent",
        "line 11: DYNC geoip!cdn: DYNC answers the pool's addresses",
        "resources/www: iad, sgp without IPv6: gdnsd answers AAAA queries steered there with "
        "no address",
        "line 12: DYNA weighted!shares: not converted",
    };
    const std::string notes = zone["notes"].dump();
    for (const auto& n : reported) {
        INFO(n);
        CHECK(notes.find(Json(n).dump().substr(1, Json(n).dump().size() - 2)) != std::string::npos);
        CHECK(r.err.find(n) != std::string::npos);
    }
    CHECK(zone["notes"].size() == 16);  // nothing else (the rest repeat the kinds above)
    // Monitors from service types, with gdnsd's parameters and defaults.
    const Json& web = zone["monitors"]["web"];
    CHECK(web["type"] == "http");
    CHECK(web["port"] == 8080);
    CHECK(web["path"] == "/healthz");
    CHECK(web["host"] == "www.example.com");
    CHECK(web["expect"] == Json::array({"200", "204"}));
    CHECK(web["rise"] == 3);
    CHECK(web["fall"] == 2);
    const Json& smtp = zone["monitors"]["smtp"];
    CHECK(smtp["type"] == "tcp");
    CHECK(smtp["port"] == 25);
    CHECK(smtp["rise"] == 20);      // gdnsd's default up_thresh
    CHECK(smtp["timeout"] == 3.0);  // interval / 2
    CHECK(zone["pools"]["www"]["steering"] == "geo");
    CHECK(zone["pools"]["api"]["steering"] == "proximity");
    CHECK(zone["pools"]["mail"]["steering"] == "failover");
    CHECK(zone["pools"]["static4"]["min_healthy"] == 3);  // ceil(0.7 x 3)
    CHECK(zone["pools"]["www"]["ttl_degraded"] == 30);    // DYNA 300/30
    CHECK(zone["records"]["www"]["ttl"] == 300);
    CHECK_FALSE(zone["records"].contains("shares"));

    // Served: clients placed by ECS subnets (nets: coordinates and countries).
    const std::string token = "import-test-token";
    const uint16_t http_port = pick_free_port();
    out.write("dnslb.json", R"({
  "http": "127.0.0.1:)" + std::to_string(http_port) +
                                R"(",
  "api_token": ")" + token + R"(",
  "nets": {
    "10.1.0.0/16": { "lat": 52.52, "lon": 13.40, "country": "DE" },
    "10.2.0.0/16": { "lat": 48.85, "lon": 2.35, "country": "FR" },
    "10.3.0.0/16": { "lat": 40.71, "lon": -74.01, "country": "US" },
    "10.4.0.0/16": { "lat": 35.68, "lon": 139.69, "country": "JP" },
    "10.5.0.0/16": { "lat": -33.87, "lon": 151.21, "country": "AU" },
    "10.6.0.0/16": { "lat": 41.90, "lon": 12.50, "country": "IT" }
  }
})");
    ServerOptions o;
    o.zones_dir = zones;
    o.config_file = out.path() + "/dnslb.json";
    Server lb(o);
    E2E_START(lb);

    // Every origin of every pool is checked by its monitor; the test's origins are TEST-NET
    // addresses nobody answers, so each is set up by the API before asking (the override is
    // what an operator uses for the same).
    HttpReply status = http("GET", http_port, "/status");
    REQUIRE(status.status == 200);
    const Json st = parse_json(status.body);
    size_t monitored = 0;
    for (const auto& pool : st["pools"]) {
        for (const auto& origin : pool["origins"]) {
            INFO(pool["name"] << "/" << origin["name"]);
            for (const auto& a : origin["addresses"]) {
                // cdn's service_types are gdnsd's default, "up": not monitored, as there.
                CHECK(a["monitored"] == (pool["name"] != "cdn"));
                monitored += a["monitored"] == true ? 1 : 0;
            }
            if (pool["name"] == "cdn") {
                continue;
            }
            HttpReply ov = http("POST", http_port,
                                "/origins/" + pool["name"].get<std::string>() + "/" +
                                    origin["name"].get<std::string>() + "/override",
                                "up", token);
            CHECK(ov.status == 200);
        }
    }
    CHECK(monitored == 16);  // www 5, api 3, api.fra 1, mail 4, static4 3

    for (Transport t : kBoth) {
        INFO(transport_name(t));
        // geoip with a map: country, then continent, then the default list.
        CHECK(addresses(t, lb.port(), "www.gslb.example.", "10.1.0") == Addrs{"192.0.2.10"});
        CHECK(addresses(t, lb.port(), "www.gslb.example.", "10.2.0") == Addrs{"192.0.2.10"});
        CHECK(addresses(t, lb.port(), "www.gslb.example.", "10.3.0") ==
              (Addrs{"192.0.2.20", "192.0.2.21"}));
        CHECK(addresses(t, lb.port(), "www.gslb.example.", "10.4.0") == Addrs{"192.0.2.30"});
        CHECK(addresses(t, lb.port(), "www.gslb.example.", "10.5.0") ==
              (Addrs{"192.0.2.20", "192.0.2.21"}));
        CHECK(addresses(t, lb.port(), "www.gslb.example.", "10.6.0") == Addrs{"192.0.2.10"});
        // geoip with auto_dc_coords: the nearest datacenter. cdn's sgp is a CNAME, left out,
        // so for Tokyo the alias goes to Frankfurt (9,300 km) rather than Ashburn (10,900 km).
        CHECK(addresses(t, lb.port(), "api.gslb.example.", "10.1.0") == Addrs{"198.51.100.10"});
        CHECK(addresses(t, lb.port(), "api.gslb.example.", "10.3.0") == Addrs{"198.51.100.20"});
        CHECK(addresses(t, lb.port(), "api.gslb.example.", "10.4.0") == Addrs{"198.51.100.30"});
        CHECK(addresses(t, lb.port(), "alias.gslb.example.", "10.3.0") == Addrs{"198.51.100.20"});
        CHECK(addresses(t, lb.port(), "alias.gslb.example.", "10.4.0") == Addrs{"198.51.100.10"});
        // The synthetic per-datacenter resource, metafo's first datacenter, multifo's set.
        CHECK(addresses(t, lb.port(), "api-fra.gslb.example.", "10.3.0") == Addrs{"198.51.100.10"});
        CHECK(addresses(t, lb.port(), "mx.gslb.example.", "10.3.0") == Addrs{"192.0.2.25"});
        CHECK(addresses(t, lb.port(), "static.gslb.example.", "10.3.0") ==
              (Addrs{"203.0.113.1", "203.0.113.2", "203.0.113.3"}));
        // The name whose plugin had no equivalent is not in the zone.
        auto shares = ask(t, lb.port(), "shares.gslb.example.", LDNS_RR_TYPE_A);
        REQUIRE(shares);
        CHECK(shares->msg.hdr.rcode == LDNS_RCODE_NXDOMAIN);
        // Static records of the gdnsd zone file stay as they were.
        auto mx = ask(t, lb.port(), "gslb.example.", LDNS_RR_TYPE_MX);
        REQUIRE(mx);
        CHECK(rdatas(mx->pkt, LDNS_SECTION_ANSWER, LDNS_RR_TYPE_MX) ==
              std::vector<std::string>{"10 mx.gslb.example."});
    }
    // metafo fails over: the primary down, the backup datacenter's three addresses answer.
    CHECK(http("POST", http_port, "/origins/mail/primary/override", "down", token).status == 200);
    std::this_thread::sleep_for(1500ms);
    CHECK(addresses(Transport::kUdp, lb.port(), "mx.gslb.example.", "10.3.0") ==
          (Addrs{"192.0.2.26", "192.0.2.27", "192.0.2.28"}));
    E2E_STOP_CLEAN(lb);
}

namespace {

constexpr const char* kGdnsd = "/usr/sbin/gdnsd";  // Debian's gdnsd package (tools/setup)

// gdnsd 3 in the foreground on a free loopback port, with the test's configuration directory.
class Gdnsd {
public:
    explicit Gdnsd(const std::string& dir) : dir_(dir) {}
    ~Gdnsd() { stop(); }
    Gdnsd(const Gdnsd&) = delete;
    Gdnsd& operator=(const Gdnsd&) = delete;

    bool start(uint16_t port, const std::string& probe_name) {
        port_ = port;
        pid_ = fork();
        if (pid_ == 0) {
            const std::string log = dir_ + "/gdnsd.log";
            std::freopen(log.c_str(), "w", stderr);
            std::freopen(log.c_str(), "a", stdout);
            execl(kGdnsd, kGdnsd, "-c", dir_.c_str(), "start", static_cast<char*>(nullptr));
            _exit(127);
        }
        // Its first round of monitoring comes before it answers.
        return answers_authoritatively(port_, probe_name, 150);
    }
    void stop() { stop_child(pid_); }
    std::string log() const { return slurp(dir_ + "/gdnsd.log"); }

private:
    std::string dir_;
    uint16_t port_ = 0;
    pid_t pid_ = -1;
};

// The answer to `type` at `name` for a client in `net` (ECS): sorted RDATA texts of every
// answer record (addresses, or a CNAME target).
std::vector<std::string> steered(uint16_t port, const std::string& name, ldns_rr_type type,
                                 const std::string& net) {
    auto r = ask_wire(Transport::kUdp, port, ecs_query(name, type, net));
    REQUIRE(r);
    INFO(to_text(r->wire));
    CHECK(r->msg.hdr.rcode == LDNS_RCODE_NOERROR);
    std::vector<std::string> out;
    for (ldns_rr* rr : records(r->pkt, LDNS_SECTION_ANSWER)) {
        out.push_back(rdata_text(rr));
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST_CASE("import --gdnsd: the converted zone steers as gdnsd does with the same database",
          "[e2e][import][gdnsd]") {
    REQUIRE(access(kGdnsd, X_OK) == 0);  // tools/setup installs gdnsd: missing is a failure
    const std::string db = std::string(DNSLB_TEST_GEODB_DIR) + "/test-city-v4.mmdb";
    REQUIRE(std::filesystem::exists(db));
    TempDir tmp;
    const std::string conf = tmp.path() + "/gdnsd";
    std::filesystem::copy(data_dir() + "/gdnsd", conf, std::filesystem::copy_options::recursive);
    std::filesystem::create_directories(conf + "/geoip");
    std::filesystem::create_directories(conf + "/state");
    std::filesystem::copy_file(db, conf + "/geoip/GeoIP2-City.mmdb");
    // Only the listener and the daemon's own directories differ from the sample.
    const uint16_t port = pick_free_port();
    std::string config = slurp(conf + "/config");
    const std::string listen = "listen => [ 127.0.0.1 ]";
    REQUIRE(config.find(listen) != std::string::npos);
    config.replace(config.find(listen), listen.size(),
                   "listen => [ 127.0.0.1:" + std::to_string(port) + " ]\n  run_dir => " + conf +
                       "/run\n  state_dir => " + conf + "/state");
    std::ofstream(conf + "/config") << config;
    // Every monitored address forced up, as the dnslb side does with its API.
    std::ofstream(conf + "/state/admin_state") << "*/web => UP\n*/smtp => UP\n";
    Gdnsd gdnsd(conf);
    REQUIRE(gdnsd.start(port, "gslb.example."));
    INFO(gdnsd.log());

    const std::string zones = tmp.path() + "/zones";
    Run r = run_dnslb("import --gdnsd " + data_dir() + "/gdnsd --output " + zones);
    REQUIRE(r.status == 0);
    const std::string token = "import-test-token";
    const uint16_t http_port = pick_free_port();
    tmp.write("dnslb.json", "{ \"http\": \"127.0.0.1:" + std::to_string(http_port) +
                                "\", \"api_token\": \"" + token + "\" }");
    ServerOptions o;
    o.zones_dir = zones;
    o.config_file = tmp.path() + "/dnslb.json";
    o.extra_args = {"--geoip", db};
    Server lb(o);
    E2E_START(lb);
    const Json st = parse_json(http("GET", http_port, "/status").body);
    for (const auto& pool : st["pools"]) {
        for (const auto& origin : pool["origins"]) {
            if (origin["addresses"][0]["monitored"] == false) {
                continue;  // cdn: not monitored in gdnsd either
            }
            CHECK(http("POST", http_port,
                       "/origins/" + pool["name"].get<std::string>() + "/" +
                           origin["name"].get<std::string>() + "/override",
                       "up", token)
                      .status == 200);
        }
    }

    // Subnets of the test database (tests/data/geo/test-geo.csv): Berlin, France without
    // coordinates, Ashburn, Tokyo, Sydney, London, Sao Paulo, Johannesburg, Singapore.
    const std::vector<std::string> nets = {"5.9.77.0",     "2.16.0.0", "3.80.0.0",
                                           "133.0.0.0",    "1.1.1.0",  "81.2.69.0",
                                           "177.71.128.0", "41.0.0.0", "13.250.0.0"};
    const std::vector<std::string> names = {"www", "api", "api-fra", "mx", "static", "alias"};
    size_t same = 0;
    size_t explained = 0;
    for (const auto& net : nets) {
        for (const auto& n : names) {
            for (ldns_rr_type type : {LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA}) {
                const std::string name = n + ".gslb.example.";
                INFO(name << " " << type_name(type) << " from " << net << "/24");
                const auto g = steered(port, name, type, net);
                const auto d = steered(lb.port(), name, type, net);
                if (g == d) {
                    ++same;
                    continue;
                }
                // Two differences, both in the report: cdn's sgp answers a CNAME in gdnsd,
                // which a dnslb pool cannot (dnslb answers from the next datacenter); and www
                // steered to a datacenter without IPv6 answers AAAA with nothing in gdnsd,
                // from the nearest datacenter with IPv6 (fra) in dnslb.
                INFO("gdnsd: " << (g.empty() ? "" : g[0]) << " dnslb: " << (d.empty() ? "" : d[0]));
                if (n == "alias") {
                    CHECK(g == std::vector<std::string>{"cdn.example.net."});
                } else {
                    CHECK(n == "www");
                    CHECK(type == LDNS_RR_TYPE_AAAA);
                    CHECK(g.empty());
                    CHECK(d == std::vector<std::string>{"2001:db8:f::10"});
                }
                ++explained;
            }
        }
    }
    WARN("gdnsd and dnslb agreed on " << same << " of " << same + explained
                                      << " steered questions; " << explained
                                      << " differ as the report says (CNAME datacenter, "
                                      << "datacenters without IPv6)");
    CHECK(same >= 90);
    // The world map's nets entry (10.0.0.0/8 to fra) has no equivalent: gdnsd answers fra,
    // dnslb goes by the database (New York: NA, iad) and said so in its report.
    CHECK(steered(port, "www.gslb.example.", LDNS_RR_TYPE_A, "10.1.2.0") ==
          std::vector<std::string>{"192.0.2.10"});
    CHECK(steered(lb.port(), "www.gslb.example.", LDNS_RR_TYPE_A, "10.1.2.0") ==
          (std::vector<std::string>{"192.0.2.20", "192.0.2.21"}));
    CHECK(r.err.find("nets (networks to datacenters) has no equivalent") != std::string::npos);
    E2E_STOP_CLEAN(lb);
    gdnsd.stop();
}

TEST_CASE("import: $INCLUDE with and without an origin, $TTL scoped to the included file",
          "[e2e][import]") {
    TempDir dir;
    std::filesystem::create_directories(dir.path() + "/inc");
    dir.write("main.zone",
              "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 host 1 7200 900 1209600 60\n"
              "  NS ns1\nns1 A 192.0.2.1\n$INCLUDE inc/hosts.zone hosts\n"
              "$INCLUDE inc/more.zone\nafter A 192.0.2.9\n");
    dir.write("inc/hosts.zone", "$TTL 60\na A 192.0.2.2\nb CNAME a\n");
    dir.write("inc/more.zone", "more A 192.0.2.3\n$GENERATE 1-2 g$ A 192.0.2.$\n");
    Run r = run_dnslb("import " + dir.path() + "/main.zone");
    INFO(r.err);
    REQUIRE(r.status == 0);
    const Json z = parse_json(r.out);
    const Json& rec = z["records"];
    CHECK(rec["a.hosts"]["A"] == Json({{"ttl", 60}, {"rdata", {"192.0.2.2"}}}));
    CHECK(rec["b.hosts"]["CNAME"] == Json({{"ttl", 60}, {"rdata", {"a.hosts.example.com."}}}));
    CHECK(rec["more"]["A"] == Json::array({"192.0.2.3"}));   // the including file's TTL
    CHECK(rec["after"]["A"] == Json::array({"192.0.2.9"}));  // its origin and TTL are back
    REQUIRE(z["notes"].size() == 1);  // the $GENERATE named with the included file's line
    CHECK(z["notes"][0].get<std::string>().find("inc/more.zone: line 2: $GENERATE") !=
          std::string::npos);
    // A missing included file is an error naming the $INCLUDE line.
    dir.write("broken.zone",
              "$ORIGIN example.com.\n@ SOA ns1 host 1 2 3 4 5\n"
              "$INCLUDE nowhere.zone\n");
    Run b = run_dnslb("import " + dir.path() + "/broken.zone");
    CHECK(b.status == 1);
    CHECK(b.err.find("broken.zone: line 3: $INCLUDE ") != std::string::npos);
    CHECK(b.err.find("nowhere.zone: cannot open") != std::string::npos);
}
