#include "dnslb/answer/query_log.hpp"
#include "dnslb/answer/response.hpp"

namespace dnslb::server {

namespace detail {
namespace {

void write_header(Response& r, uint16_t qdcount) noexcept {
    r.w.u16(r.q.id);
    r.w.u16(0);  // flags, final value written at the end
    r.w.u16(qdcount);
    r.w.u16(0);
    r.w.u16(0);
    r.w.u16(0);
}

void write_question(Response& r) noexcept {
    r.w.bytes(r.q.qname, r.q.qname_len);  // original case, RFC 1035 section 7.3 / 0x20 users
    r.w.u16(r.q.qtype);
    r.w.u16(r.q.qclass);
}

// OPT (RFC 6891 section 6.1.2) with the ECS option echoed back with our scope.
size_t opt_size(const Query& q, bool cookie) noexcept {
    size_t n = 11;
    if (q.has_ecs) {
        n += 4 + 4 + (q.ecs.source_prefix + 7U) / 8U;
    }
    if (cookie) {
        n += 4 + 24;
    }
    return n;
}

void write_opt(Response& r) noexcept {
    const Query& q = r.q;
    // Owner (root), TYPE, CLASS = our UDP size, TTL = extended rcode, version 0, DO copied
    // from the query (RFC 3225 section 3), RDLENGTH (filled in below): one write.
    const uint16_t udp = r.snap.options.edns_udp_size;
    const uint8_t fixed[11] = {0,
                               0,
                               dns::kTypeOPT,
                               static_cast<uint8_t>(udp >> 8),
                               static_cast<uint8_t>(udp),
                               static_cast<uint8_t>(r.rcode >> 4),
                               0,
                               static_cast<uint8_t>(q.dnssec_ok ? 0x80 : 0),
                               0,
                               0,
                               0};
    r.w.bytes(fixed, sizeof(fixed));
    size_t rdlen_at = r.w.pos() - 2;
    if (q.has_ecs) {
        size_t addr_len = (q.ecs.source_prefix + 7U) / 8U;
        r.w.u16(dns::kOptionEcs);
        r.w.u16(static_cast<uint16_t>(4 + addr_len));
        r.w.u16(q.ecs.family);
        r.w.u8(q.ecs.source_prefix);
        r.w.u8(r.ecs_scope);
        r.w.bytes(q.ecs.address, addr_len);
    }
    if (r.send_cookie) {
        r.w.u16(dns::kOptionCookie);
        r.w.u16(24);
        r.w.bytes(r.cookie_out, 24);
    }
    if (!r.w.ok()) {  // cannot happen where its space was reserved; never half an OPT
        r.w.rewind(rdlen_at - 9);
        r.opt_at = 0;
        return;
    }
    r.w.put_u16_at(rdlen_at, static_cast<uint16_t>(r.w.pos() - rdlen_at - 2));
    r.ar++;
}

size_t max_response(const Query& q, const Snapshot& snap, Transport t, size_t cap) noexcept {
    if (t == Transport::kTcp) {
        return std::min<size_t>(cap, 65535);
    }
    size_t limit = q.edns ? std::clamp<size_t>(q.udp_size, 512, snap.options.edns_udp_size) : 512;
    return std::min(cap, limit);
}

}  // namespace
}  // namespace detail

size_t qtype_slot(uint16_t qtype) noexcept {
    switch (qtype) {
        case dns::kTypeA:
            return 0;
        case dns::kTypeAAAA:
            return 1;
        case dns::kTypeMX:
            return 2;
        case dns::kTypeTXT:
            return 3;
        default:
            return 4;
    }
}

namespace detail {
namespace {

// The counters of a finished response, once whatever the defences do with it next.
void count(Response& r) noexcept {
    if (r.truncated) {
        r.stats.bump(r.stats.truncated);
    }
    r.stats.bump(r.stats.rcodes[std::min<size_t>(r.rcode, std::size(r.stats.rcodes) - 1)]);
}

// Writes the final header fields; returns the response length.
size_t seal(Response& r) noexcept {
    uint16_t flags = r.flags | static_cast<uint16_t>(r.rcode & 0x0F);
    if (r.truncated) {
        flags |= dns::kFlagTC;
    }
    r.w.put_u16_at(2, flags);
    r.w.put_u16_at(4, r.qdcount);
    r.w.put_u16_at(6, r.an);
    r.w.put_u16_at(8, r.ns);
    r.w.put_u16_at(10, r.ar);
    return r.w.pos();
}

// The rcode of a query that parse_query refused to take further (one path for all of them).
uint16_t error_rcode(dns::ParseStatus status) noexcept {
    switch (status) {
        case dns::ParseStatus::kNotImp:
            return dns::kRcodeNotImp;
        case dns::ParseStatus::kBadVers:
            return dns::kRcodeBadVers;
        default:
            return dns::kRcodeFormErr;
    }
}

// A question we answer (parse_query said kOk): through the zones, CHAOS or a refusal.
void answer_question(Response& r, const ClientAddress& client, Transport transport, bool cookie_ok,
                     AnswerNote* note) noexcept {
    const Query& q = r.q;
    const bool attack = r.ctx.attack != nullptr && r.ctx.attack->on();
    if (r.send_cookie && q.cookie_len > 8 && !cookie_ok && attack && transport == Transport::kUdp) {
        // RFC 7873 section 5.2.3: a bad server cookie may get BADCOOKIE with a fresh cookie;
        // we do so while under attack, where answering unverified clients is what we avoid.
        r.rcode = dns::kRcodeBadCookie;
        r.ctx.guard->cookie_counters.badcookie.fetch_add(1, std::memory_order_relaxed);
    } else if (q.qtype == dns::kTypeOPT || q.qtype == dns::kTypeIXFR || q.qtype == dns::kTypeAXFR) {
        // OPT is not a question; IXFR/AXFR are not served (no secondaries to feed).
        r.rcode = q.qtype == dns::kTypeOPT ? dns::kRcodeFormErr : dns::kRcodeRefused;
    } else if (q.qclass == dns::kClassCH) {
        r.flags |= dns::kFlagAA;
        answer_chaos(r, client);
    } else if (q.qclass != dns::kClassIN) {
        r.rcode = dns::kRcodeRefused;
    } else {
        Name name;
        name.lower = q.qname_lower;
        name.len = q.qname_len;
        name.offset = dns::kHeaderSize;
        name.labels = q.qname_labels;
        name.label_at = q.qname_label_at;
        const ZoneEntry* ze = r.snap.find_entry(name.lower, name.len, name.label_at, name.labels);
        if (ze == nullptr) {
            r.rcode = dns::kRcodeRefused;
        } else {
            r.flags |= dns::kFlagAA;
            answer_in_zone(r, *ze, name, client, note);
        }
    }
}

// Every sampled query is logged, answered or not.
size_t record(QueryLogRing* log, size_t n, const uint8_t* pkt, size_t len,
              const ClientAddress& client, Transport transport, const AnswerNote* note) noexcept {
    if (log != nullptr) {
        log->push(pkt, len, client, transport, *note);
    }
    return n;
}

}  // namespace
}  // namespace detail

size_t respond(const Snapshot& snap, const uint8_t* pkt, size_t len, const ClientAddress& client,
               Transport transport, uint8_t* out, size_t out_cap, QueryContext& ctx,
               AnswerNote* note) noexcept {
    using namespace detail;
    Stats& stats = ctx.stats;
    // The query log samples before the answer, so that the note is filled only when it is kept.
    AnswerNote sampled;
    QueryLogRing* log = ctx.log != nullptr && ctx.log->sample() ? ctx.log : nullptr;
    if (log != nullptr && note == nullptr) {
        note = &sampled;
    }
    Query q;
    const dns::ParseStatus status = dns::parse_query(pkt, len, q);
    stats.bump(stats.queries[static_cast<size_t>(transport)]);
    if (status == dns::ParseStatus::kDrop) {
        stats.bump(stats.dropped);
        return record(log, 0, pkt, len, client, transport, note);
    }
    const size_t limit = max_response(q, snap, transport, out_cap);
    Response r{Writer(out, limit), q, snap, ctx, stats};
    r.qdcount = q.question_end != 0 ? 1 : 0;
    // RD is copied (RFC 1035 section 4.1.1); RA stays clear: we do not recurse.
    r.flags = static_cast<uint16_t>(dns::kFlagQR | (q.flags & (0x7800 | dns::kFlagRD)));
    // Header and question always fit: every limit is at least 512 bytes (max_response), a
    // question at most 12 + 255 + 4.
    write_header(r, r.qdcount);
    if (r.qdcount != 0) {
        write_question(r);
    }
    const size_t question_end = r.w.pos();
    bool cookie_ok = false;
    bool with_opt = false;
    if (status != dns::ParseStatus::kOk) {
        // FORMERR and NOTIMP go back bare; BADVERS carries our OPT (RFC 6891 section 6.1.3),
        // without the options of a query we did not understand.
        r.rcode = error_rcode(status);
        with_opt = status == dns::ParseStatus::kBadVers;
        q.has_ecs = false;
    } else {
        stats.bump(stats.qtypes[qtype_slot(q.qtype)]);
        if (q.has_ecs) {
            stats.bump(stats.ecs);
        }
        cookie_ok = process_cookie(r, client);
        with_opt = q.edns;
        // The OPT RR goes last and must fit whatever the answer: its space is set aside now.
        r.w.reserve(with_opt ? opt_size(q, r.send_cookie) : 0);
        answer_question(r, client, transport, cookie_ok, note);
        if (!r.w.ok()) {
            r.truncated = true;  // no branch leaves an overflow behind; this is the backstop
        }
        if (r.truncated) {
            // RFC 2181 section 9: a truncated response carries no partial RRsets; the client
            // retries over TCP.
            r.w.rewind(question_end);
            r.an = r.ns = r.ar = 0;
        }
        r.w.reclaim();
    }
    if (with_opt) {
        r.opt_at = r.w.pos();
        write_opt(r);
    }
    if (note != nullptr) {
        note->scope = r.ecs_scope;
        note->rcode = static_cast<uint8_t>(r.rcode);
    }
    count(r);
    if (ctx.guard != nullptr && transport == Transport::kUdp &&
        !guard_udp(r, question_end, cookie_ok, client)) {
        return record(log, 0, pkt, len, client, transport, note);
    }
    return record(log, seal(r), pkt, len, client, transport, note);
}

}  // namespace dnslb::server
