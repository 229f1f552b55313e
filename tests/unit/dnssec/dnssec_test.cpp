// The signer checked against an independent implementation: ldns verifies every signature,
// ldns-keygen's keys are read back, and DS output matches ldns-key2ds.
#include "dnslb/dnssec/dnssec.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "dnslb/base/ldns.hpp"

using namespace dnslb::dnssec;

namespace {

Bytes a_rdata(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return {a, b, c, d}; }

ldns_rr* rr_from_wire(const std::string& owner, uint16_t type, uint32_t ttl, const Bytes& rd) {
    Bytes w = name_to_wire(owner);
    w.insert(w.end(), {static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type), 0, 1,
                       static_cast<uint8_t>(ttl >> 24), static_cast<uint8_t>(ttl >> 16),
                       static_cast<uint8_t>(ttl >> 8), static_cast<uint8_t>(ttl),
                       static_cast<uint8_t>(rd.size() >> 8), static_cast<uint8_t>(rd.size())});
    w.insert(w.end(), rd.begin(), rd.end());
    ldns_rr* rr = nullptr;
    size_t pos = 0;
    REQUIRE(ldns_wire2rr(&rr, w.data(), w.size(), &pos, LDNS_SECTION_ANSWER) == LDNS_STATUS_OK);
    return rr;
}

// ldns's verdict on our RRSIG over rrset with key.
ldns_status ldns_verify(const Key& key, const RRset& rrset, const Bytes& sig) {
    ldns_rr_list* rrs = ldns_rr_list_new();
    for (const auto& rd : rrset.rdata) {
        ldns_rr_list_push_rr(rrs, rr_from_wire(rrset.owner, rrset.type, rrset.ttl, rd));
    }
    ldns_rr* rrsig = rr_from_wire(rrset.owner, 46, rrset.ttl, sig);
    ldns_rr_list* keys = ldns_rr_list_new();
    ldns_rr_list_push_rr(keys, rr_from_wire(key.zone, 48, 3600, dnskey_rdata(key)));
    ldns_rr_list* good = ldns_rr_list_new();
    ldns_status st = ldns_verify_rrsig_keylist(rrs, rrsig, keys, good);
    ldns_rr_list_free(good);
    ldns_rr_list_deep_free(keys);
    ldns_rr_free(rrsig);
    ldns_rr_list_deep_free(rrs);
    return st;
}

std::string run(const std::string& cmd) {
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[512];
    while (fgets(buf, sizeof buf, p) != nullptr) {
        out += buf;
    }
    REQUIRE(pclose(p) == 0);
    return out;
}

std::filesystem::path temp_dir() {
    char tmpl[] = "/tmp/dnslb-dnssec-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    return tmpl;
}

uint32_t now32() { return static_cast<uint32_t>(std::time(nullptr)); }

RRset sample() {
    // Mixed case and a duplicate: the canonical form lower-cases and deduplicates.
    return RRset{"WWW.Example.test",
                 1,
                 1,
                 300,
                 {a_rdata(192, 0, 2, 2), a_rdata(192, 0, 2, 1), a_rdata(192, 0, 2, 2)}};
}

}  // namespace

TEST_CASE("key tag and DNSKEY RDATA follow RFC 4034 appendix B") {
    // RFC 4034 §5.4 example key tag input built by hand: flags 256, proto 3, alg 5, key 01 02.
    Bytes rd{0x01, 0x00, 0x03, 0x05, 0x01, 0x02};
    CHECK(key_tag(rd) == static_cast<uint16_t>(0x0100 + 0x0305 + 0x0102));
}

TEST_CASE("signatures of both algorithms verify in ldns; tampering fails") {
    for (uint8_t alg : {kEcdsaP256Sha256, kEd25519}) {
        Key key = generate_key("Example.test", alg, kFlagsCsk);
        CHECK(key.public_key.size() == (alg == kEd25519 ? 32U : 64U));
        RRset rrset = sample();
        Bytes sig = sign_rrset(key, rrset, now32() - 3600, now32() + 86400);
        CHECK(sig.size() == 18 + 14 + 64);  // fixed fields + "example.test." + signature
        // The RRset as a resolver sees it: other order and case, no duplicate (ldns keeps
        // duplicates, so it rejects the RRset as given: ours dropped one).
        CHECK(ldns_verify(key, rrset, sig) != LDNS_STATUS_OK);
        RRset seen{"www.example.TEST", 1, 1, 300, {a_rdata(192, 0, 2, 1), a_rdata(192, 0, 2, 2)}};
        CHECK(ldns_verify(key, seen, sig) == LDNS_STATUS_OK);
        Bytes bad = sig;
        bad.back() ^= 1;
        CHECK(ldns_verify(key, seen, bad) != LDNS_STATUS_OK);
        RRset changed = seen;
        changed.rdata[0][3] = 9;
        CHECK(ldns_verify(key, changed, sig) != LDNS_STATUS_OK);
    }
}

TEST_CASE("names in RDATA are lower-cased and wildcards counted per RFC 4034") {
    Key key = generate_key("example.test", kEcdsaP256Sha256, kFlagsCsk);
    Bytes mx{0, 10};
    Bytes n = name_to_wire("mail.example.test");
    mx.insert(mx.end(), n.begin(), n.end());
    Bytes mx_upper = mx;
    for (size_t i = 2; i < mx_upper.size(); ++i) {
        mx_upper[i] = static_cast<uint8_t>(std::toupper(mx_upper[i]));
    }
    RRset upper{"*.example.test", 15, 1, 300, {mx_upper}};
    Bytes sig = sign_rrset(key, upper, now32() - 60, now32() + 3600);
    CHECK(sig[3] == 2);  // labels: "*" is not counted
    RRset lower{"*.example.test", 15, 1, 300, {mx}};
    CHECK(ldns_verify(key, lower, sig) == LDNS_STATUS_OK);
}

TEST_CASE("keys written by dnslb and by ldns-keygen load and sign; DS matches ldns-key2ds") {
    auto dir = temp_dir();
    for (const char* alg : {"ECDSAP256SHA256", "ED25519"}) {
        std::string base = run("cd " + dir.string() + " && ldns-keygen -a " + alg + " -k lb.test");
        base.erase(base.find_last_not_of("\n") + 1);
        Key key = load_key((dir / base).string());
        CHECK(key.zone == "lb.test.");
        CHECK(key.flags == 257);
        RRset rrset = sample();
        rrset.owner = "www.lb.test";
        rrset.rdata.pop_back();  // ldns keeps duplicates
        CHECK(ldns_verify(key, rrset, sign_rrset(key, rrset, now32() - 60, now32() + 60)) ==
              LDNS_STATUS_OK);
        std::string ds = run("cd " + dir.string() + " && ldns-key2ds -n -2 " + base + ".key");
        std::istringstream in(ds);
        std::string o, ttl_or_class, t;
        std::vector<std::string> tok;
        for (std::string x; in >> x;) {
            tok.push_back(x);
        }
        REQUIRE(tok.size() >= 4);
        std::string theirs = tok[tok.size() - 4] + " " + tok[tok.size() - 3] + " " +
                             tok[tok.size() - 2] + " " + tok.back();
        std::string ours = ds_text(key);
        ours = ours.substr(ours.find("DS\t") + 3);
        for (auto& c : theirs) {
            c = static_cast<char>(std::toupper(c));
        }
        CHECK(ours == theirs);
    }
    // Our own key files: the private one is 0600, and they load back with the same key tag.
    Key made = generate_key("lb.test", kEd25519, kFlagsZsk);
    std::string base = write_key(made, dir.string());
    struct stat st {};
    REQUIRE(stat((dir / (base + ".private")).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    Key back = load_key((dir / base).string());
    CHECK(key_tag(dnskey_rdata(back)) == key_tag(dnskey_rdata(made)));
    CHECK_THROWS_AS(write_key(made, dir.string()), Error);  // O_EXCL: never overwrites
    CHECK(back.publish == 0);
    // BIND's timing metadata lines.
    std::ofstream(dir / (base + ".private"), std::ios::app)
        << "Created: 20260101000000\nPublish: 20260101000000\nActivate: 20260102000000\n"
        << "Inactive: 20270101000000\nDelete: 20270201000000\n";
    Key timed = load_key((dir / base).string());
    CHECK(timed.publish == 1767225600);
    CHECK(timed.activate == 1767225600 + 86400);
    CHECK(timed.inactive == 1798761600);
    CHECK(timed.remove == 1798761600 + 31 * 86400);
    std::filesystem::remove_all(dir);
}

TEST_CASE("type bitmap windows per RFC 4034 §4.1.2") {
    // RFC 4034 §4.3 example: A MX RRSIG NSEC TYPE1234.
    Bytes bm = type_bitmap({1, 15, 46, 47, 1234});
    Bytes want{0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03, 0x04, 0x1b};
    want.resize(want.size() + 26, 0);
    want.push_back(0x20);
    CHECK(bm == want);
}

TEST_CASE("validity buckets agree across nodes and roll per name") {
    Validity a = validity_for(1'800'000'000, 12345);
    Validity b = validity_for(1'800'000'000 + 600, 12345);
    CHECK(a.inception == b.inception);
    CHECK(a.expiration - a.inception == 8 * 86400 + 3600);
    CHECK(a.inception <= 1'800'000'000 - 3600);
    Validity next = validity_for(a.inception + 3600 + 86400, 12345);
    CHECK(next.inception == a.inception + 86400);
}

TEST_CASE("a signed zone with an NSEC chain passes ldns-verify-zone") {
    auto dir = temp_dir();
    Key key = generate_key("lb.test", kEcdsaP256Sha256, kFlagsCsk);
    Validity v{now32() - 3600, now32() + 7 * 86400};
    std::vector<RRset> sets;
    Bytes soa = name_to_wire("ns1.lb.test");
    Bytes mbox = name_to_wire("hostmaster.lb.test");
    soa.insert(soa.end(), mbox.begin(), mbox.end());
    for (uint32_t x : {1U, 3600U, 600U, 86400U, 60U}) {
        soa.insert(soa.end(), {static_cast<uint8_t>(x >> 24), static_cast<uint8_t>(x >> 16),
                               static_cast<uint8_t>(x >> 8), static_cast<uint8_t>(x)});
    }
    sets.push_back({"lb.test", 6, 1, 3600, {soa}});
    sets.push_back({"lb.test", 2, 1, 3600, {name_to_wire("ns1.lb.test")}});
    sets.push_back({"lb.test", 48, 1, 3600, {dnskey_rdata(key)}});
    sets.push_back({"ns1.lb.test", 1, 1, 3600, {a_rdata(127, 0, 0, 1)}});
    sets.push_back({"www.lb.test", 1, 1, 300, {a_rdata(192, 0, 2, 1), a_rdata(192, 0, 2, 2)}});
    sets.push_back({"*.w.lb.test", 1, 1, 300, {a_rdata(192, 0, 2, 3)}});
    std::vector<NameTypes> names{
        {"lb.test", {6, 2, 48}}, {"ns1.lb.test", {1}}, {"www.lb.test", {1}}, {"*.w.lb.test", {1}}};
    for (auto& n : nsec_chain(names, 60)) {
        sets.push_back(n);
    }
    std::ofstream zf(dir / "lb.test.zone");
    for (const auto& s : sets) {
        ldns_rr_list* l = ldns_rr_list_new();
        for (const auto& rd : s.rdata) {
            ldns_rr_list_push_rr(l, rr_from_wire(s.owner, s.type, s.ttl, rd));
        }
        ldns_rr_list_push_rr(
            l, rr_from_wire(s.owner, 46, s.ttl, sign_rrset(key, s, v.inception, v.expiration)));
        char* text = ldns_rr_list2str(l);
        zf << text;
        free(text);  // NOLINT(cppcoreguidelines-no-malloc)
        ldns_rr_list_deep_free(l);
    }
    zf.close();
    std::ofstream(dir / "ta.key") << dnskey_text(key, 3600) << "\n";
    std::string zone = (dir / "lb.test.zone").string();
    std::string ta = (dir / "ta.key").string();
    std::string out = run("ldns-verify-zone -k " + ta + " " + zone + " 2>&1");
    CHECK(out.find("Zone is verified and complete") != std::string::npos);
    // The same zone with one address altered must fail.
    std::string edit = "sed -i 's/192\\.0\\.2\\.3/192.0.2.4/' " + zone;
    REQUIRE(std::system(edit.c_str()) == 0);
    CHECK(std::system(("ldns-verify-zone -k " + ta + " " + zone + " >/dev/null 2>&1").c_str()) !=
          0);
    std::filesystem::remove_all(dir);
}

TEST_CASE("NSEC3 owner labels match ldns (RFC 9276: 0 iterations, empty salt)") {
    for (const char* name : {"lb.test.", "www.lb.test.", "*.w.lb.test."}) {
        ldns_rdf* n = ldns_dname_new_frm_str(name);
        ldns_rdf* h = ldns_nsec3_hash_name(n, 1, 0, 0, nullptr);
        char* text = ldns_rdf2str(h);
        std::string theirs(text);
        free(text);  // NOLINT(cppcoreguidelines-no-malloc)
        ldns_rdf_deep_free(h);
        ldns_rdf_deep_free(n);
        theirs = theirs.substr(0, theirs.find('.'));
        for (auto& c : theirs) {
            c = static_cast<char>(std::tolower(c));
        }
        CHECK(nsec3_label(name) == theirs);
    }
    CHECK(nsec3_label("WWW.lb.test") == nsec3_label("www.lb.test."));
}
