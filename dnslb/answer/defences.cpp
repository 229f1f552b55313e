// The UDP defences on the answer: DNS Cookies (RFC 7873), Response Rate Limiting with slip,
// and the under-attack truncation. The guard tables themselves are in guard.cpp.
#include "dnslb/answer/response.hpp"

namespace dnslb::server::detail {

namespace {

RrlClass rrl_class(const Response& r) noexcept {
    if (r.rcode == dns::kRcodeNxDomain) {
        return RrlClass::kNxDomain;
    }
    if (r.rcode != dns::kRcodeNoError) {
        return RrlClass::kError;
    }
    return r.referral ? RrlClass::kReferral : RrlClass::kPositive;
}

// A slipped (or under-attack) UDP response: header and question only, TC=1, so a real
// resolver behind the address retries over TCP, and a spoofed victim receives no more bytes
// than the attacker sent. It keeps its OPT RR: an EDNS query gets OPT back (RFC 6891 section
// 7) and a client cookie gets its server cookie (RFC 7873 section 5.4), so the retry can carry
// it.
void truncate_to_question(Response& r, size_t question_end) noexcept {
    const size_t len = r.w.pos();
    size_t opt_len = r.opt_at >= question_end && r.opt_at < len ? len - r.opt_at : 0;
    uint8_t opt[128];
    if (opt_len > sizeof(opt)) {
        opt_len = 0;
    }
    std::memcpy(opt, r.w.data() + r.opt_at, opt_len);
    r.w.rewind(question_end);
    r.an = r.ns = 0;
    r.ar = opt_len != 0 ? 1 : 0;
    r.w.bytes(opt, opt_len);  // fits: it was there, after the same question
    r.opt_at = opt_len != 0 ? question_end : 0;
    r.truncated = true;
}

}  // namespace

// Cookies (RFC 7873 section 5.2): every query with a client cookie gets a fresh server cookie
// back. Returns true when the query carried a valid server cookie of ours.
bool process_cookie(Response& r, const ClientAddress& client) noexcept {
    const CookieSettings& cs = r.snap.options.guard.cookies;
    ThreadGuard* guard = r.ctx.guard;
    if (!r.q.has_cookie || !cs.enabled || guard == nullptr) {
        return false;
    }
    bool valid = false;
    if (r.q.cookie_len == 8) {
        guard->cookie_counters.client_only.fetch_add(1, std::memory_order_relaxed);
    } else {
        valid = guard->valid_cookie(cs, r.q.cookie, r.q.cookie_len, client.family, client.bytes,
                                    r.ctx.now_s);
        (valid ? guard->cookie_counters.valid : guard->cookie_counters.invalid)
            .fetch_add(1, std::memory_order_relaxed);
    }
    std::memcpy(r.cookie_out, r.q.cookie, 8);
    guard->make_server_cookie(cs, r.q.cookie, client.family, client.bytes, r.ctx.now_s,
                              r.cookie_out + 8);
    r.send_cookie = true;
    return valid;
}

// The last word on a UDP response: under-attack truncation and RRL. Returns false when
// nothing is to be sent; may cut the response down to its question.
bool guard_udp(Response& r, size_t question_end, bool cookie_ok,
               const ClientAddress& client) noexcept {
    const GuardSettings& gs = r.snap.options.guard;
    ThreadGuard& guard = *r.ctx.guard;
    const bool attack = r.ctx.attack != nullptr && r.ctx.attack->on();
    if (attack && !cookie_ok && r.w.pos() > gs.attack.tc_above_bytes) {
        truncate_to_question(r, question_end);
        return true;
    }
    if (!gs.rrl.enabled) {
        return true;
    }
    if (cookie_ok) {
        guard.rrl_counters.exempt_cookie.fetch_add(1, std::memory_order_relaxed);
        return true;
    }
    for (const auto& n : r.snap.options.rrl_exempt) {
        if (n.contains(client.family, client.bytes)) {
            return true;
        }
    }
    RrlClass k = rrl_class(r);
    uint64_t key =
        k == RrlClass::kPositive
            ? zone::NameHash{}({reinterpret_cast<const char*>(r.q.qname_lower), r.q.qname_len}) ^
                  r.q.qtype
            : r.rrl_key;
    switch (guard.rrl(gs.rrl, attack, gs.attack.rrl_divisor, client.family, client.bytes, k, key,
                      r.ctx.now_ms)) {
        case ThreadGuard::Verdict::kSend:
            return true;
        case ThreadGuard::Verdict::kSlip:
            truncate_to_question(r, question_end);
            return true;
        case ThreadGuard::Verdict::kDrop:
            break;
    }
    return false;
}

}  // namespace dnslb::server::detail
