// Reading RFC 1035 master files (zone files as NSD, Knot, BIND and gdnsd use them) with ldns,
// one entry at a time, so that each record keeps its file and line and an entry ldns cannot
// take ($GENERATE, gdnsd's DYNA/DYNC) becomes a note or a dynamic record instead of an error.
// Runs offline (the `import` command); may allocate and throw freely.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "dnslb/base/ldns.hpp"

namespace dnslb::import {

// A conversion that cannot go on: names the file and line (or the source) and the reason.
class ImportError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct RrFree {
    void operator()(ldns_rr* r) const { ldns_rr_free(r); }
};
using RrPtr = std::unique_ptr<ldns_rr, RrFree>;

// Where an entry came from: "zones/example.org:12", or "AXFR from 192.0.2.1 record 7".
struct Place {
    std::string file;
    size_t line = 0;
    std::string unit = "line";
    std::string str() const;
};

// A gdnsd dynamic record: `www 300/30 DYNA geoip!prod_www`.
struct DynamicRecord {
    std::string owner;         // absolute presentation name
    std::string type;          // DYNA or DYNC
    std::string ttl;           // as written: "300", "300/30"; empty: the default TTL
    std::string target;        // plugin!resource
    uint32_t default_ttl = 0;  // the $TTL in force
};

struct SourceRecord {
    RrPtr rr;  // null for a dynamic record
    DynamicRecord dynamic;
    Place place;
};

struct MasterFile {
    std::string origin;                 // the origin the file started with (absolute presentation)
    std::vector<SourceRecord> records;  // in file order, $INCLUDEd files in place
    std::vector<std::string> notes;     // entries that were not read, with their place
};

struct ReadOptions {
    std::string origin;           // the zone's name where the file has no $ORIGIN (may be empty)
    bool dynamic = false;         // accept gdnsd's DYNA and DYNC (else they become notes)
    uint32_t default_ttl = 3600;  // before any $TTL
};

// Throws ImportError("FILE: line N: reason: 'text'") for a malformed entry.
MasterFile read_master_file(const std::string& path, const ReadOptions& options);

// Presentation text of an RR's RDATA fields, as a zone file (and dnslb's loader) reads them.
std::string rdata_text(const ldns_rr* rr);
std::string rdf_text(const ldns_rdf* rdf);

}  // namespace dnslb::import
