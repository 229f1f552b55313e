#include "dnslb/import/axfr.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace dnslb::import {

namespace {

struct ResolverFree {
    void operator()(ldns_resolver* r) const { ldns_resolver_deep_free(r); }
};
struct RdfFree {
    void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};

void split_server(const std::string& server, std::string& host, uint16_t& port) {
    port = 53;
    std::string rest;
    if (!server.empty() && server[0] == '[') {
        const size_t close = server.find(']');
        if (close == std::string::npos) {
            throw ImportError("--axfr: '" + server + "': missing ']'");
        }
        host = server.substr(1, close - 1);
        rest = server.substr(close + 1);
    } else {
        const size_t colon = server.find(':');
        if (colon != std::string::npos && server.find(':', colon + 1) != std::string::npos) {
            host = server;  // a bare IPv6 address
        } else {
            host = server.substr(0, colon);
            rest = colon == std::string::npos ? "" : server.substr(colon);
        }
    }
    if (!rest.empty()) {
        unsigned value = 0;
        const char* b = rest.data() + 1;
        const char* e = rest.data() + rest.size();
        const auto [p, ec] = std::from_chars(b, e, value);
        if (rest[0] != ':' || ec != std::errc() || p != e || value == 0 || value > 65535) {
            throw ImportError("--axfr: '" + server + "': expected ADDR[:PORT]");
        }
        port = static_cast<uint16_t>(value);
    }
    unsigned char buf[16];
    if (inet_pton(AF_INET, host.c_str(), buf) != 1 && inet_pton(AF_INET6, host.c_str(), buf) != 1) {
        throw ImportError("--axfr: '" + host + "' is not an IPv4 or IPv6 address");
    }
}

}  // namespace

MasterFile read_axfr(const std::string& server, const std::string& zone) {
    std::string host;
    uint16_t port = 53;
    split_server(server, host, port);
    std::string name = zone;
    if (name.empty() || name.back() != '.') {
        name += '.';
    }
    std::unique_ptr<ldns_rdf, RdfFree> dname(ldns_dname_new_frm_str(name.c_str()));
    if (!dname) {
        throw ImportError("--origin: '" + zone + "' is not a domain name");
    }
    std::unique_ptr<ldns_resolver, ResolverFree> res(ldns_resolver_new());
    ldns_rdf* addr = ldns_rdf_new_frm_str(
        host.find(':') != std::string::npos ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, host.c_str());
    ldns_resolver_push_nameserver(res.get(), addr);
    ldns_rdf_deep_free(addr);
    ldns_resolver_set_port(res.get(), port);
    ldns_resolver_set_timeout(res.get(), timeval{10, 0});
    ldns_resolver_set_retry(res.get(), 1);
    const std::string label = "AXFR of " + name + " from " + server;
    const ldns_status st = ldns_axfr_start(res.get(), dname.get(), LDNS_RR_CLASS_IN);
    if (st != LDNS_STATUS_OK) {
        throw ImportError(label + ": " + ldns_get_errorstr_by_id(st));
    }
    MasterFile out;
    out.origin = name;
    size_t soas = 0;
    for (size_t n = 1;; ++n) {
        ldns_rr* raw = ldns_axfr_next(res.get());
        if (raw == nullptr) {
            break;
        }
        RrPtr rr(raw);
        // RFC 5936 section 2.2: the SOA opens and closes the transfer.
        if (ldns_rr_get_type(raw) == LDNS_RR_TYPE_SOA && ++soas == 2) {
            break;
        }
        out.records.push_back(SourceRecord{std::move(rr), {}, Place{label, n, "record"}});
    }
    const ldns_pkt* last = ldns_axfr_last_pkt(res.get());
    if (soas < 2) {
        std::string why = "the transfer ended before its closing SOA";
        if (last != nullptr && ldns_pkt_get_rcode(last) != LDNS_RCODE_NOERROR) {
            char* rc = ldns_pkt_rcode2str(ldns_pkt_get_rcode(last));
            why = std::string("the server answered ") + (rc != nullptr ? rc : "an error");
            free(rc);  // NOLINT(cppcoreguidelines-no-malloc): ldns allocates with malloc
        }
        throw ImportError(label + ": " + why);
    }
    return out;
}

}  // namespace dnslb::import
