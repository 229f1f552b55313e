#include <algorithm>
#include <string>

#include "dnslb/answer/explain.hpp"
#include "dnslb/answer/response.hpp"

namespace dnslb::server::detail {

namespace {

bool explain_allowed(const Snapshot& snap, const ClientAddress& client) noexcept {
    for (const auto& n : snap.options.explain_from) {
        if (n.contains(client.family, client.bytes)) {
            return true;
        }
    }
    return false;
}

// CHAOS TXT for a name we serve: the explanation of its answer, one TXT RR per line. A
// diagnostic for operators, allowed only from explain_from; unlike every other branch it
// allocates (it builds text), which is why it is gated.
void answer_explain(Response& r, const ClientAddress& client) noexcept {
    if (r.q.qtype != dns::kTypeTXT || !explain_allowed(r.snap, client) ||
        r.snap.find_zone(r.q.qname_lower, r.q.qname_len) == nullptr) {
        r.rcode = dns::kRcodeRefused;
        r.flags &= static_cast<uint16_t>(~dns::kFlagAA);
        return;
    }
    const steering::Asker asker = make_asker(r.q, client);
    try {
        for (const std::string& line :
             explain_wire(r.snap, r.q.qname_lower, r.q.qname_len, asker)) {
            size_t mark = r.w.pos();
            r.w.pointer(dns::kHeaderSize);
            r.w.u16(dns::kTypeTXT);
            r.w.u16(dns::kClassCH);
            r.w.u32(0);
            size_t rdlen_at = r.w.pos();
            r.w.u16(0);
            for (size_t at = 0; at < line.size() || at == 0; at += 255) {
                size_t n = std::min<size_t>(255, line.size() - at);
                r.w.u8(static_cast<uint8_t>(n));
                r.w.bytes(line.data() + at, n);
            }
            if (!r.fits(mark)) {
                return;
            }
            r.w.put_u16_at(rdlen_at, static_cast<uint16_t>(r.w.pos() - rdlen_at - 2));
            r.an++;
        }
    } catch (...) {
        r.rcode = dns::kRcodeServFail;
    }
}

}  // namespace

void answer_chaos(Response& r, const ClientAddress& client) noexcept {
    // version.bind / version.server and id.server / hostname.bind TXT (RFC 4892).
    static constexpr uint8_t kVersionBind[] = "\7version\4bind";
    static constexpr uint8_t kVersionServer[] = "\7version\6server";
    static constexpr uint8_t kIdServer[] = "\2id\6server";
    static constexpr uint8_t kHostnameBind[] = "\10hostname\4bind";
    auto is = [&](const uint8_t* name, size_t n) {
        return r.q.qname_len == n && std::memcmp(r.q.qname_lower, name, n) == 0;
    };
    const std::string* text = nullptr;
    if (is(kVersionBind, sizeof(kVersionBind)) || is(kVersionServer, sizeof(kVersionServer))) {
        text = &r.snap.options.chaos_version;
    } else if (is(kIdServer, sizeof(kIdServer)) || is(kHostnameBind, sizeof(kHostnameBind))) {
        text = &r.snap.options.chaos_id;
    }
    if (text == nullptr) {
        answer_explain(r, client);
        return;
    }
    if (text->empty() || (r.q.qtype != dns::kTypeTXT && r.q.qtype != dns::kTypeANY)) {
        r.rcode = dns::kRcodeRefused;
        r.flags &= static_cast<uint16_t>(~dns::kFlagAA);
        return;
    }
    size_t len = std::min<size_t>(text->size(), 255);
    const size_t mark = r.w.pos();
    r.w.pointer(dns::kHeaderSize);
    r.w.u16(dns::kTypeTXT);
    r.w.u16(dns::kClassCH);
    r.w.u32(0);
    r.w.u16(static_cast<uint16_t>(len + 1));
    r.w.u8(static_cast<uint8_t>(len));
    r.w.bytes(text->data(), len);
    if (!r.fits(mark)) {
        return;
    }
    r.an++;
}

}  // namespace dnslb::server::detail
