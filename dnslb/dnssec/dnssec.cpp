#include "dnslb/dnssec/dnssec.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>

#include "dnslb/base/errno_text.hpp"

namespace dnslb::dnssec {

namespace {

uint8_t lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? static_cast<uint8_t>(c + 32) : c; }

void put16(Bytes& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}
void put32(Bytes& b, uint32_t v) {
    put16(b, static_cast<uint16_t>(v >> 16));
    put16(b, static_cast<uint16_t>(v));
}

std::string b64_encode(const Bytes& in) {
    std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), in.data(),
                            static_cast<int>(in.size()));
    out.resize(static_cast<size_t>(n));
    return out;
}

Bytes b64_decode(std::string s) {
    s.erase(std::remove_if(s.begin(), s.end(), [](char c) { return std::isspace(c) != 0; }),
            s.end());
    Bytes out(3 * s.size() / 4 + 3);
    int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(s.data()),
                            static_cast<int>(s.size()));
    if (n < 0) {
        throw Error("bad base64 in key file");
    }
    size_t pad = 0;
    for (size_t i = s.size(); i > 0 && s[i - 1] == '='; --i) {
        ++pad;
    }
    out.resize(static_cast<size_t>(n) - pad);
    return out;
}

std::string hex(const Bytes& b) {
    static const char* d = "0123456789ABCDEF";
    std::string s;
    for (uint8_t c : b) {
        s += d[c >> 4];
        s += d[c & 15];
    }
    return s;
}

// End offset of the uncompressed name starting at pos, lower-casing it in place.
size_t lower_name(Bytes& b, size_t pos) {
    while (pos < b.size()) {
        uint8_t len = b[pos];
        if (len == 0 || len > 63 || pos + 1 + len > b.size()) {
            return pos + 1;
        }
        for (size_t i = pos + 1; i <= pos + len; ++i) {
            b[i] = lower(b[i]);
        }
        pos += 1 + len;
    }
    return pos;
}

// RFC 4034 §6.2 as amended by RFC 6840 §5.1: the types whose RDATA names are lower-cased.
Bytes canonical_rdata(uint16_t type, Bytes r) {
    switch (type) {
        case 2:
        case 3:
        case 4:
        case 5:
        case 7:
        case 8:
        case 9:
        case 12:
        case 39:  // NS..PTR, DNAME
            lower_name(r, 0);
            break;
        case 6:
        case 14:
        case 17:  // SOA (MNAME, RNAME), MINFO, RP: two names first
            lower_name(r, lower_name(r, 0));
            break;
        case 15:
        case 18:
        case 21:
        case 36:  // MX, AFSDB, RT, KX
            lower_name(r, 2);
            break;
        case 33:  // SRV
            lower_name(r, 6);
            break;
        case 26:  // PX
            lower_name(r, lower_name(r, 2));
            break;
        default:
            break;
    }
    return r;
}

unsigned label_count(const std::string& owner) {
    Bytes w = name_to_wire(owner);
    unsigned n = 0;
    size_t pos = 0;
    bool first = true;
    while (pos < w.size() && w[pos] != 0) {
        // RFC 4034 §3.1.3: a leading "*" label is not counted.
        if (!(first && w[pos] == 1 && w[pos + 1] == '*')) {
            ++n;
        }
        first = false;
        pos += 1 + w[pos];
    }
    return n;
}

std::string lower_text(std::string s) {
    for (auto& c : s) {
        c = static_cast<char>(lower(static_cast<uint8_t>(c)));
    }
    if (s.empty() || s.back() != '.') {
        s += '.';
    }
    return s;
}

Bytes ecdsa_raw(const Bytes& der) {
    const unsigned char* p = der.data();
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
    if (sig == nullptr) {
        throw Error("ECDSA signature is not DER");
    }
    Bytes raw(64);
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw.data(), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw.data() + 32, 32);
    ECDSA_SIG_free(sig);
    return raw;
}

Bytes evp_sign(const Key& key, const Bytes& data) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const EVP_MD* md = key.algorithm == kEcdsaP256Sha256 ? EVP_sha256() : nullptr;
    size_t len = 0;
    Bytes sig;
    if (ctx != nullptr && EVP_DigestSignInit(ctx, nullptr, md, nullptr, key.pkey.get()) == 1 &&
        EVP_DigestSign(ctx, nullptr, &len, data.data(), data.size()) == 1) {
        sig.resize(len);
        if (EVP_DigestSign(ctx, sig.data(), &len, data.data(), data.size()) != 1) {
            len = 0;
        }
        sig.resize(len);
    }
    EVP_MD_CTX_free(ctx);
    if (sig.empty()) {
        throw Error("signing failed");
    }
    return key.algorithm == kEcdsaP256Sha256 ? ecdsa_raw(sig) : sig;
}

void fill_public(Key& k) {
    if (k.algorithm == kEd25519) {
        size_t len = 32;
        k.public_key.resize(32);
        EVP_PKEY_get_raw_public_key(k.pkey.get(), k.public_key.data(), &len);
    } else {
        Bytes pub(65);
        size_t len = 0;
        EVP_PKEY_get_octet_string_param(k.pkey.get(), OSSL_PKEY_PARAM_PUB_KEY, pub.data(),
                                        pub.size(), &len);
        if (len != 65) {
            throw Error("unexpected P-256 public key size");
        }
        k.public_key.assign(pub.begin() + 1, pub.end());  // drop the 0x04 prefix
    }
}

EVP_PKEY* p256_from(const Bytes& priv, const Bytes& pub_xy) {
    Bytes pub{0x04};
    pub.insert(pub.end(), pub_xy.begin(), pub_xy.end());
    BIGNUM* d = BN_bin2bn(priv.data(), static_cast<int>(priv.size()), nullptr);
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d);
    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub.data(), pub.size());
    OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
    EVP_PKEY* pkey = nullptr;
    if (ctx == nullptr || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) != 1) {
        pkey = nullptr;
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(d);
    return pkey;
}

// BIND's "20260101000000" key timing values.
int64_t parse_time(const std::string& v) {
    std::tm tm{};
    if (v.size() < 14 || strptime(v.substr(0, 14).c_str(), "%Y%m%d%H%M%S", &tm) == nullptr) {
        return 0;
    }
    return static_cast<int64_t>(timegm(&tm));
}

}  // namespace

Bytes name_to_wire(const std::string& name) {
    Bytes w;
    std::string n = lower_text(name);
    size_t start = 0;
    while (start < n.size()) {
        size_t dot = n.find('.', start);
        size_t len = dot - start;
        if (len == 0 && !(start == 0 && n == ".")) {
            throw Error("empty label in '" + name + "'");
        }
        if (len > 63) {
            throw Error("label too long in '" + name + "'");
        }
        if (len > 0) {
            w.push_back(static_cast<uint8_t>(len));
            w.insert(w.end(), n.begin() + static_cast<long>(start),
                     n.begin() + static_cast<long>(dot));
        }
        start = dot + 1;
    }
    w.push_back(0);
    if (w.size() > 255) {
        throw Error("name too long: '" + name + "'");
    }
    return w;
}

Key generate_key(const std::string& zone, uint8_t algorithm, uint16_t flags) {
    Key k;
    k.zone = lower_text(zone);
    k.flags = flags;
    k.algorithm = algorithm;
    EVP_PKEY* p = nullptr;
    if (algorithm == kEcdsaP256Sha256) {
        p = EVP_EC_gen("P-256");
    } else if (algorithm == kEd25519) {
        p = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    } else {
        throw Error("unsupported algorithm " + std::to_string(algorithm) + " (13 or 15)");
    }
    if (p == nullptr) {
        throw Error("key generation failed");
    }
    k.pkey.reset(p);
    fill_public(k);
    return k;
}

Key load_key(const std::string& base) {
    Key k;
    std::ifstream pubf(base + ".key");
    if (!pubf) {
        throw Error("cannot read " + base + ".key");
    }
    std::string line;
    bool found = false;
    while (std::getline(pubf, line)) {
        line = line.substr(0, line.find(';'));  // ldns-keygen appends ";{id = ...}"
        std::istringstream in(line);
        std::vector<std::string> tok;
        for (std::string t; in >> t;) {
            tok.push_back(t);
        }
        auto it = std::find(tok.begin(), tok.end(), "DNSKEY");
        if (it == tok.end() || tok.end() - it < 5) {
            continue;
        }
        k.zone = lower_text(tok[0]);
        k.flags = static_cast<uint16_t>(std::stoul(*(it + 1)));
        k.algorithm = static_cast<uint8_t>(std::stoul(*(it + 3)));
        std::string b64;
        for (auto j = it + 4; j != tok.end(); ++j) {
            b64 += *j;
        }
        k.public_key = b64_decode(b64);
        found = true;
        break;
    }
    if (!found) {
        throw Error(base + ".key: no DNSKEY record");
    }
    std::ifstream privf(base + ".private");
    if (!privf) {
        throw Error("cannot read " + base + ".private");
    }
    Bytes priv;
    while (std::getline(privf, line)) {
        size_t colon = line.find(':');
        if (colon == std::string::npos) {
            continue;
        }
        std::string field = line.substr(0, colon);
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(" \t"));
        if (field == "PrivateKey") {
            priv = b64_decode(value);
        } else if (field == "Publish") {
            k.publish = parse_time(value);
        } else if (field == "Activate") {
            k.activate = parse_time(value);
        } else if (field == "Inactive") {
            k.inactive = parse_time(value);
        } else if (field == "Delete") {
            k.remove = parse_time(value);
        }
    }
    if (priv.size() != 32) {
        throw Error(base + ".private: no 32-byte PrivateKey");
    }
    EVP_PKEY* p = nullptr;
    if (k.algorithm == kEd25519) {
        p = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, priv.data(), priv.size());
    } else if (k.algorithm == kEcdsaP256Sha256 && k.public_key.size() == 64) {
        p = p256_from(priv, k.public_key);
    }
    OPENSSL_cleanse(priv.data(), priv.size());
    if (p == nullptr) {
        throw Error(base + ": unsupported or invalid key (algorithm " +
                    std::to_string(k.algorithm) + ")");
    }
    k.pkey.reset(p);
    Bytes derived_pub = k.public_key;
    fill_public(k);
    if (derived_pub != k.public_key) {
        throw Error(base + ": private key does not match the public key");
    }
    return k;
}

std::string write_key(const Key& key, const std::string& dir) {
    char tag[6];
    std::snprintf(tag, sizeof tag, "%05u", key_tag(dnskey_rdata(key)));
    char alg[4];
    std::snprintf(alg, sizeof alg, "%03u", key.algorithm);
    std::string base = "K" + key.zone + "+" + alg + "+" + tag;
    std::string path = dir.empty() ? base : dir + "/" + base;
    Bytes priv(32);
    if (key.algorithm == kEd25519) {
        size_t len = 32;
        EVP_PKEY_get_raw_private_key(key.pkey.get(), priv.data(), &len);
    } else {
        BIGNUM* d = nullptr;
        EVP_PKEY_get_bn_param(key.pkey.get(), OSSL_PKEY_PARAM_PRIV_KEY, &d);
        BN_bn2binpad(d, priv.data(), 32);
        BN_clear_free(d);
    }
    std::string text = "Private-key-format: v1.3\nAlgorithm: " + std::to_string(key.algorithm) +
                       (key.algorithm == kEd25519 ? " (ED25519)\n" : " (ECDSAP256SHA256)\n") +
                       "PrivateKey: " + b64_encode(priv) + "\n";
    OPENSSL_cleanse(priv.data(), priv.size());
    int fd = ::open((path + ".private").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        throw Error("cannot create " + path + ".private: " + base::errno_text(errno));
    }
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    OPENSSL_cleanse(text.data(), text.size());
    ok = (::close(fd) == 0) && ok;
    if (!ok) {
        throw Error("cannot write " + path + ".private");
    }
    std::ofstream pub(path + ".key");
    pub << dnskey_text(key, 3600) << "\n";
    if (!pub.flush()) {
        throw Error("cannot write " + path + ".key");
    }
    return base;
}

Bytes dnskey_rdata(const Key& key) {
    Bytes r;
    put16(r, key.flags);
    r.push_back(3);
    r.push_back(key.algorithm);
    r.insert(r.end(), key.public_key.begin(), key.public_key.end());
    return r;
}

uint16_t key_tag(const Bytes& rdata) {
    uint32_t ac = 0;
    for (size_t i = 0; i < rdata.size(); ++i) {
        ac += (i & 1) != 0 ? rdata[i] : static_cast<uint32_t>(rdata[i]) << 8;
    }
    ac += (ac >> 16) & 0xFFFF;
    return static_cast<uint16_t>(ac & 0xFFFF);
}

Bytes ds_rdata(const Key& key) {
    Bytes rd = dnskey_rdata(key);
    Bytes data = name_to_wire(key.zone);
    data.insert(data.end(), rd.begin(), rd.end());
    Bytes digest(32);
    unsigned len = 0;
    EVP_Digest(data.data(), data.size(), digest.data(), &len, EVP_sha256(), nullptr);
    Bytes r;
    put16(r, key_tag(rd));
    r.push_back(key.algorithm);
    r.push_back(2);
    r.insert(r.end(), digest.begin(), digest.end());
    return r;
}

std::string ds_text(const Key& key) {
    Bytes r = ds_rdata(key);
    return key.zone + "\tIN\tDS\t" + std::to_string(key_tag(dnskey_rdata(key))) + " " +
           std::to_string(key.algorithm) + " 2 " + hex(Bytes(r.begin() + 4, r.end()));
}

std::string dnskey_text(const Key& key, uint32_t ttl) {
    return key.zone + "\t" + std::to_string(ttl) + "\tIN\tDNSKEY\t" + std::to_string(key.flags) +
           " 3 " + std::to_string(key.algorithm) + " " + b64_encode(key.public_key);
}

Bytes canonical_rrset(const RRset& rrset) {
    std::vector<Bytes> rds;
    rds.reserve(rrset.rdata.size());
    for (const auto& r : rrset.rdata) {
        rds.push_back(canonical_rdata(rrset.type, r));
    }
    // RFC 4034 §6.3: sorted as left-justified unsigned octet sequences; duplicates removed.
    std::sort(rds.begin(), rds.end());
    rds.erase(std::unique(rds.begin(), rds.end()), rds.end());
    Bytes owner = name_to_wire(rrset.owner);
    Bytes out;
    for (const auto& r : rds) {
        out.insert(out.end(), owner.begin(), owner.end());
        put16(out, rrset.type);
        put16(out, rrset.rclass);
        put32(out, rrset.ttl);
        put16(out, static_cast<uint16_t>(r.size()));
        out.insert(out.end(), r.begin(), r.end());
    }
    return out;
}

Bytes sign_rrset(const Key& key, const RRset& rrset, uint32_t inception, uint32_t expiration) {
    if (rrset.rdata.empty()) {
        throw Error("cannot sign an empty RRset");
    }
    Bytes rd;
    put16(rd, rrset.type);
    rd.push_back(key.algorithm);
    rd.push_back(static_cast<uint8_t>(label_count(rrset.owner)));
    put32(rd, rrset.ttl);
    put32(rd, expiration);
    put32(rd, inception);
    put16(rd, key_tag(dnskey_rdata(key)));
    Bytes signer = name_to_wire(key.zone);
    rd.insert(rd.end(), signer.begin(), signer.end());
    Bytes data = rd;
    Bytes rrs = canonical_rrset(rrset);
    data.insert(data.end(), rrs.begin(), rrs.end());
    Bytes sig = evp_sign(key, data);
    rd.insert(rd.end(), sig.begin(), sig.end());
    return rd;
}

Bytes type_bitmap(const std::set<uint16_t>& types) {
    Bytes out;
    int window = -1;
    uint8_t block[32] = {};
    int used = 0;
    auto flush = [&]() {
        if (window >= 0) {
            out.push_back(static_cast<uint8_t>(window));
            out.push_back(static_cast<uint8_t>(used));
            out.insert(out.end(), block, block + used);
        }
        std::memset(block, 0, sizeof block);
        used = 0;
    };
    for (uint16_t t : types) {  // std::set iterates in increasing order
        if ((t >> 8) != window) {
            flush();
            window = t >> 8;
        }
        uint8_t low = t & 0xFF;
        block[low / 8] |= static_cast<uint8_t>(0x80 >> (low % 8));
        used = std::max(used, low / 8 + 1);
    }
    flush();
    return out;
}

bool canonical_less(const std::string& a, const std::string& b) {
    // Compare label sequences from the root, each label as lower-cased octets.
    auto labels = [](const std::string& n) {
        std::vector<std::string> l;
        Bytes w = name_to_wire(n);
        for (size_t p = 0; p < w.size() && w[p] != 0; p += 1 + w[p]) {
            l.emplace_back(w.begin() + static_cast<long>(p) + 1,
                           w.begin() + static_cast<long>(p) + 1 + w[p]);
        }
        std::reverse(l.begin(), l.end());
        return l;
    };
    auto la = labels(a);
    auto lb = labels(b);
    return std::lexicographical_compare(
        la.begin(), la.end(), lb.begin(), lb.end(), [](const std::string& x, const std::string& y) {
            return std::lexicographical_compare(
                x.begin(), x.end(), y.begin(), y.end(),
                [](char c, char d) { return static_cast<uint8_t>(c) < static_cast<uint8_t>(d); });
        });
}

std::vector<RRset> nsec_chain(std::vector<NameTypes> names, uint32_t ttl) {
    std::sort(names.begin(), names.end(), [](const NameTypes& x, const NameTypes& y) {
        return canonical_less(x.name, y.name);
    });
    std::vector<RRset> out;
    for (size_t i = 0; i < names.size(); ++i) {
        // The last name's next owner wraps to the apex, the first in canonical order.
        const std::string& next = names[(i + 1) % names.size()].name;
        std::set<uint16_t> types = names[i].types;
        types.insert(46);  // RRSIG
        types.insert(47);  // NSEC
        Bytes rd = name_to_wire(next);
        Bytes bm = type_bitmap(types);
        rd.insert(rd.end(), bm.begin(), bm.end());
        out.push_back(RRset{names[i].name, 47, 1, ttl, {rd}});
    }
    return out;
}

std::string nsec3_label(const std::string& name) {
    Bytes w = name_to_wire(name);
    Bytes h(20);
    unsigned len = 0;
    EVP_Digest(w.data(), w.size(), h.data(), &len, EVP_sha1(), nullptr);
    static const char* kAlphabet = "0123456789abcdefghijklmnopqrstuv";
    std::string out;
    for (size_t i = 0; i < h.size(); i += 5) {  // 20 bytes: four 40-bit groups, 32 characters
        uint64_t v = 0;
        for (size_t j = 0; j < 5; ++j) {
            v = (v << 8) | h[i + j];
        }
        for (int k = 7; k >= 0; --k) {
            out += kAlphabet[(v >> (5 * k)) & 31];
        }
    }
    return out;
}

Bytes nsec3param_rdata() { return {1, 0, 0, 0, 0}; }

Validity validity_for(int64_t now_s, uint64_t name_hash) {
    constexpr int64_t kDay = 86400;
    int64_t shift = static_cast<int64_t>(name_hash % kDay);
    int64_t bucket = ((now_s - shift) / kDay) * kDay + shift;  // start of this name's bucket
    return Validity{static_cast<uint32_t>(bucket - 3600), static_cast<uint32_t>(bucket + 8 * kDay)};
}

}  // namespace dnslb::dnssec
