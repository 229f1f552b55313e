#include "dnslb/dns/query.hpp"

namespace dnslb::dns {

namespace {

// RFC 7871 section 6: FAMILY, SOURCE PREFIX-LENGTH, SCOPE PREFIX-LENGTH, ADDRESS truncated to
// the source prefix. Anything inconsistent is FORMERR (section 7.1.1: address bits set beyond
// the prefix, a prefix longer than the family allows, an unknown family).
bool parse_ecs(const uint8_t* p, size_t len, ClientSubnet& out) noexcept {
    if (len < 4) {
        return false;
    }
    out.family = load_u16(p);
    out.source_prefix = p[2];
    out.scope_prefix = p[3];
    size_t max_bits = out.family == 1 ? 32 : out.family == 2 ? 128 : 0;
    if (max_bits == 0 || out.source_prefix > max_bits) {
        return false;
    }
    size_t addr_len = (out.source_prefix + 7U) / 8U;
    if (len - 4 != addr_len) {
        return false;
    }
    std::memset(out.address, 0, sizeof(out.address));
    std::memcpy(out.address, p + 4, addr_len);
    if (out.source_prefix % 8 != 0) {
        auto mask = static_cast<uint8_t>(0xFFU >> (out.source_prefix % 8));
        if ((out.address[addr_len - 1] & mask) != 0) {
            return false;
        }
    }
    return true;
}

// Walks the options of an OPT RDATA. Unknown options are ignored (RFC 6891 section 6.1.2).
bool parse_options(Reader& r, size_t rdlen, Query& q) noexcept {
    size_t end = r.pos() + rdlen;
    if (rdlen > r.remaining()) {
        return false;
    }
    while (r.ok() && r.pos() < end) {
        uint16_t code = r.u16();
        uint16_t olen = r.u16();
        if (!r.ok() || r.pos() + olen > end) {
            return false;
        }
        const uint8_t* body = r.here();
        if (code == kOptionEcs) {
            if (q.has_ecs || !parse_ecs(body, olen, q.ecs)) {
                return false;
            }
            q.has_ecs = true;
        } else if (code == kOptionCookie) {
            // RFC 7873 section 5.2.2: a client cookie alone (8) or with a server cookie (8..32).
            if (q.has_cookie || olen < 8 || (olen > 8 && (olen < 16 || olen > 40))) {
                return false;
            }
            q.has_cookie = true;
            q.cookie_len = static_cast<uint8_t>(olen);
            std::memcpy(q.cookie, body, olen);
        }
        r.skip(olen);
    }
    return r.ok() && r.pos() == end;
}

// The question name: uncompressed (nothing precedes it to point at), at most 255 bytes. One
// walk over the label lengths records where the labels start; the copy is lower-cased eight
// bytes at a time. Returns the offset just past the name, or 0 when it is malformed.
size_t parse_qname(const uint8_t* pkt, size_t len, Query& q) noexcept {
    const uint8_t* p = pkt + kHeaderSize;
    const size_t n = len - kHeaderSize;
    size_t pos = 0;
    size_t labels = 0;
    for (;;) {
        if (pos >= n) {
            return 0;
        }
        const uint8_t l = p[pos];
        if (l == 0) {
            break;
        }
        if ((l & 0xC0) != 0) {
            return 0;
        }
        q.qname_label_at[labels++] = static_cast<uint8_t>(pos);  // < 128: labels are >= 2 bytes
        pos += l + 1U;
        if (pos >= kMaxNameWire) {
            return 0;
        }
    }
    q.qname_label_at[labels] = static_cast<uint8_t>(pos);
    q.qname_labels = labels;
    q.qname = p;
    q.qname_len = pos + 1;
    copy_lower(q.qname_lower, p, pos + 1);
    return kHeaderSize + pos + 1;
}

}  // namespace

ParseStatus parse_query(const uint8_t* pkt, size_t len, Query& q) noexcept {
    q.question_end = 0;
    q.edns = false;
    q.udp_size = 512;
    q.edns_version = 0;
    q.dnssec_ok = false;
    q.has_ecs = false;
    q.has_cookie = false;
    if (len < kHeaderSize) {
        return ParseStatus::kDrop;
    }
    // The header is there (checked above): plain loads, no cursor.
    q.id = load_u16(pkt);
    q.flags = load_u16(pkt + 2);
    if ((q.flags & kFlagQR) != 0) {
        return ParseStatus::kDrop;  // never answer a response: reflection loops
    }
    q.opcode = static_cast<uint8_t>((q.flags >> 11) & 0x0F);
    uint16_t qdcount = load_u16(pkt + 4);
    uint16_t ancount = load_u16(pkt + 6);
    uint16_t nscount = load_u16(pkt + 8);
    uint16_t arcount = load_u16(pkt + 10);
    if (qdcount != 1) {
        return q.opcode == 0 ? ParseStatus::kFormErr : ParseStatus::kNotImp;
    }
    size_t pos = parse_qname(pkt, len, q);
    if (pos == 0 || len - pos < 4) {
        return ParseStatus::kFormErr;
    }
    q.qtype = load_u16(pkt + pos);
    q.qclass = load_u16(pkt + pos + 2);
    q.question_end = pos + 4;
    if (q.opcode != 0) {
        return ParseStatus::kNotImp;
    }
    Reader r(pkt, len);
    r.skip(q.question_end);
    // Answer and authority sections of a query carry nothing for us; skip them to reach OPT.
    for (uint32_t i = 0; i < static_cast<uint32_t>(ancount) + nscount && r.ok(); ++i) {
        r.skip_name();
        r.skip(8);
        r.skip(r.u16());
    }
    for (uint16_t i = 0; i < arcount && r.ok(); ++i) {
        bool root_owner = r.remaining() > 0 && r.here()[0] == 0;
        uint16_t type = 0;
        uint16_t klass = 0;
        uint32_t ttl = 0;
        uint16_t rdlen = 0;
        if (root_owner && r.remaining() >= 11) {
            // The usual OPT: root owner and the fixed fields in place, read without the cursor.
            const uint8_t* h = r.here();
            type = load_u16(h + 1);
            klass = load_u16(h + 3);
            ttl = (static_cast<uint32_t>(load_u16(h + 5)) << 16) | load_u16(h + 7);
            rdlen = load_u16(h + 9);
            r.skip(11);
        } else {
            r.skip_name();
            type = r.u16();
            klass = r.u16();
            ttl = r.u32();
            rdlen = r.u16();
            if (!r.ok()) {
                return ParseStatus::kFormErr;
            }
        }
        if (type != kTypeOPT) {
            r.skip(rdlen);
            continue;
        }
        // RFC 6891 section 6.1.1: one OPT, owned by the root; more is FORMERR.
        if (q.edns || !root_owner) {
            return ParseStatus::kFormErr;
        }
        q.edns = true;
        q.udp_size = klass < 512 ? 512 : klass;
        q.edns_version = static_cast<uint8_t>(ttl >> 16);
        q.dnssec_ok = (ttl & 0x8000U) != 0;
        if (!parse_options(r, rdlen, q)) {
            return ParseStatus::kFormErr;
        }
    }
    if (!r.ok()) {
        return ParseStatus::kFormErr;
    }
    if (q.edns && q.edns_version > 0) {
        return ParseStatus::kBadVers;
    }
    return ParseStatus::kOk;
}

}  // namespace dnslb::dns
