// DNSSEC signing core for the control plane (RFC 4034, 4035, 6840): keys, RRSIG, DNSKEY, DS,
// NSEC type bitmaps and validity windows. Never called from the query path: signing allocates.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <openssl/evp.h>

namespace dnslb::dnssec {

using Bytes = std::vector<uint8_t>;

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

constexpr uint8_t kEcdsaP256Sha256 = 13;
constexpr uint8_t kEd25519 = 15;
constexpr uint16_t kFlagsCsk = 257;  // ZONE + SEP; also the KSK flags
constexpr uint16_t kFlagsZsk = 256;

struct PkeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};

// A signing key: one long-lived EVP_PKEY. Not thread-safe for concurrent signing.
struct Key {
    std::string zone;  // lower-case, with the trailing dot
    uint16_t flags = kFlagsCsk;
    uint8_t algorithm = kEcdsaP256Sha256;
    Bytes public_key;  // DNSKEY form: X||Y for P-256 (RFC 6605), 32 bytes for Ed25519 (RFC 8080)
    std::unique_ptr<EVP_PKEY, PkeyFree> pkey;
    // BIND key timing metadata (seconds since the epoch, 0 = absent).
    int64_t publish = 0, activate = 0, inactive = 0, remove = 0;
};

// Wire form of a domain name given in presentation form (no escapes), lower-cased.
Bytes name_to_wire(const std::string& name);

Key generate_key(const std::string& zone, uint8_t algorithm, uint16_t flags);
// Reads a BIND/ldns key pair: BASE.key (the DNSKEY RR) and BASE.private.
Key load_key(const std::string& base_path);
// Writes DIR/Kzone.+AAA+TTTTT.key and .private (0600, O_EXCL); returns the base name.
std::string write_key(const Key& key, const std::string& dir);

Bytes dnskey_rdata(const Key& key);
uint16_t key_tag(const Bytes& dnskey_rdata);  // RFC 4034 appendix B
Bytes ds_rdata(const Key& key);               // SHA-256 digest (type 2)
std::string ds_text(const Key& key);          // "zone. IN DS tag alg 2 HEX"
std::string dnskey_text(const Key& key, uint32_t ttl);

struct RRset {
    std::string owner;  // presentation form
    uint16_t type = 0;
    uint16_t rclass = 1;
    uint32_t ttl = 0;
    std::vector<Bytes> rdata;  // uncompressed wire RDATA
};

// The RRSIG RDATA over rrset (RFC 4034 §3.1, canonical form per §6 and RFC 6840 §5.1).
Bytes sign_rrset(const Key& key, const RRset& rrset, uint32_t inception, uint32_t expiration);

// The signed data of RFC 4034 §3.1.8.1 after the RRSIG fields: canonical, sorted, deduplicated.
Bytes canonical_rrset(const RRset& rrset);

// NSEC type bitmap (RFC 4034 §4.1.2).
Bytes type_bitmap(const std::set<uint16_t>& types);

struct NameTypes {
    std::string name;
    std::set<uint16_t> types;  // without RRSIG and NSEC: added here
};
// One NSEC RRset per name, in canonical order, the last pointing back to the apex.
std::vector<RRset> nsec_chain(std::vector<NameTypes> names, uint32_t ttl);
// Canonical name order (RFC 4034 §6.1).
bool canonical_less(const std::string& a, const std::string& b);

// CDS and CDNSKEY (RFC 7344) carry the same RDATA as DS and DNSKEY.
inline Bytes cds_rdata(const Key& key) { return ds_rdata(key); }
inline Bytes cdnskey_rdata(const Key& key) { return dnskey_rdata(key); }

// NSEC3 owner label (RFC 5155 §5) with RFC 9276 parameters: SHA-1, 0 iterations, empty salt,
// in lower-case base32hex without padding.
std::string nsec3_label(const std::string& name);
// NSEC3PARAM RDATA for those parameters: 1 0 0 -.
Bytes nsec3param_rdata();

struct Validity {
    uint32_t inception = 0;
    uint32_t expiration = 0;
};
// Day buckets shifted per name by hash: identical on every node with the same clock day.
// Valid from 1 h before the bucket start until 8 days after it.
Validity validity_for(int64_t now_s, uint64_t name_hash);

}  // namespace dnslb::dnssec
