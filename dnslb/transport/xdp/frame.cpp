#include "dnslb/transport/xdp/frame.hpp"

#include <cstring>

namespace dnslb::xdp {

namespace {

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherIpv6 = 0x86DD;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kReplyTtl = 64;

uint16_t load16(const uint8_t* p) noexcept { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
void store16(uint8_t* p, uint16_t v) noexcept {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}

Verdict parse_udp(const uint8_t* frame, size_t end, Datagram& d) noexcept {
    if (end - d.l4 < kUdpHeader) {
        return Verdict::kMalformed;
    }
    const uint8_t* udp = frame + d.l4;
    const size_t udp_len = load16(udp + 4);
    if (udp_len < kUdpHeader || udp_len > end - d.l4) {
        return Verdict::kMalformed;
    }
    const uint16_t sum = load16(udp + 6);
    // IPv4 allows no checksum (0); IPv6 requires one (RFC 8200 section 8.1).
    if (sum != 0 || d.family == 6) {
        uint32_t s = 0;
        if (d.family == 4) {
            s = checksum_add(s, d.src, 4);
            s = checksum_add(s, d.dst, 4);
            s += kProtoUdp + static_cast<uint32_t>(udp_len);
        } else {
            s = checksum_add(s, d.src, 16);
            s = checksum_add(s, d.dst, 16);
            s += static_cast<uint32_t>(udp_len) + kProtoUdp;
        }
        s = checksum_add(s, udp, udp_len);
        if (sum == 0 || checksum_fold(s) != 0xFFFF) {
            return Verdict::kBadChecksum;
        }
    }
    d.payload = d.l4 + kUdpHeader;
    d.payload_len = udp_len - kUdpHeader;
    return Verdict::kOk;
}

}  // namespace

uint32_t checksum_add(uint32_t sum, const uint8_t* p, size_t len) noexcept {
    uint64_t s = sum;
    size_t i = 0;
    for (; i + 1 < len; i += 2) {
        s += static_cast<uint32_t>((p[i] << 8) | p[i + 1]);
    }
    if (i < len) {
        s += static_cast<uint32_t>(p[i] << 8);
    }
    while ((s >> 32) != 0) {
        s = (s & 0xFFFFFFFFU) + (s >> 32);
    }
    return static_cast<uint32_t>(s);
}

uint16_t checksum_fold(uint32_t sum) noexcept {
    while ((sum >> 16) != 0) {
        sum = (sum & 0xFFFFU) + (sum >> 16);
    }
    return static_cast<uint16_t>(sum);
}

uint16_t udp_checksum(int family, const uint8_t* src, const uint8_t* dst, const uint8_t* udp,
                      size_t udp_len) noexcept {
    const size_t alen = family == 4 ? 4 : 16;
    uint32_t s = checksum_add(0, src, alen);
    s = checksum_add(s, dst, alen);
    s += kProtoUdp + static_cast<uint32_t>(udp_len);
    s = checksum_add(s, udp, 6);  // the header without its checksum field
    s = checksum_add(s, udp + kUdpHeader, udp_len - kUdpHeader);
    auto c = static_cast<uint16_t>(~checksum_fold(s));
    return c == 0 ? 0xFFFF : c;  // 0 means "no checksum" (RFC 768)
}

Verdict parse(const uint8_t* frame, size_t len, Datagram& d) noexcept {
    d = {};
    if (len < kEthHeader) {
        return Verdict::kMalformed;
    }
    const uint16_t type = load16(frame + 12);
    const uint8_t* ip = frame + kEthHeader;
    const size_t avail = len - kEthHeader;
    if (type == kEtherIpv4) {
        d.family = 4;
        if (avail < kIpv4Header || (ip[0] >> 4) != 4) {
            return Verdict::kMalformed;
        }
        const size_t ihl = static_cast<size_t>(ip[0] & 0x0F) * 4;
        const size_t total = load16(ip + 2);
        if (ihl < kIpv4Header || total < ihl || total > avail) {
            return Verdict::kMalformed;
        }
        if (ip[9] != kProtoUdp) {
            return Verdict::kNotUdp;
        }
        if ((load16(ip + 6) & 0x3FFF) != 0) {  // MF or a fragment offset
            return Verdict::kMalformed;
        }
        if (checksum_fold(checksum_add(0, ip, ihl)) != 0xFFFF) {
            return Verdict::kBadChecksum;
        }
        d.src = ip + 12;
        d.dst = ip + 16;
        d.l4 = kEthHeader + ihl;
        return parse_udp(frame, kEthHeader + total, d);
    }
    if (type == kEtherIpv6) {
        d.family = 6;
        if (avail < kIpv6Header || (ip[0] >> 4) != 6) {
            return Verdict::kMalformed;
        }
        if (ip[6] != kProtoUdp) {
            return Verdict::kNotUdp;
        }
        const size_t payload = load16(ip + 4);
        if (payload > avail - kIpv6Header) {
            return Verdict::kMalformed;
        }
        d.src = ip + 8;
        d.dst = ip + 24;
        d.l4 = kEthHeader + kIpv6Header;
        return parse_udp(frame, d.l4 + payload, d);
    }
    return Verdict::kNotUdp;
}

size_t build_reply(const uint8_t* query, const Datagram& d, uint8_t* out,
                   size_t payload_len) noexcept {
    // Ethernet: back to where the query came from.
    std::memcpy(out, query + 6, 6);
    std::memcpy(out + 6, query, 6);
    std::memcpy(out + 12, query + 12, 2);
    uint8_t* ip = out + kEthHeader;
    const size_t udp_len = kUdpHeader + payload_len;
    uint8_t* udp = nullptr;
    const uint8_t* qip = query + d.l3;
    if (d.family == 4) {
        ip[0] = 0x45;
        ip[1] = qip[1] & 0xFC;  // DSCP kept, ECN cleared
        store16(ip + 2, static_cast<uint16_t>(kIpv4Header + udp_len));
        store16(ip + 4, 0);       // identification: never fragmented
        store16(ip + 6, 0x4000);  // DF
        ip[8] = kReplyTtl;
        ip[9] = kProtoUdp;
        store16(ip + 10, 0);
        std::memcpy(ip + 12, d.dst, 4);
        std::memcpy(ip + 16, d.src, 4);
        store16(ip + 10, static_cast<uint16_t>(~checksum_fold(checksum_add(0, ip, kIpv4Header))));
        udp = ip + kIpv4Header;
    } else {
        // Version 6, the query's traffic class (ECN cleared), no flow label.
        const auto tclass = static_cast<uint8_t>(((qip[0] & 0x0F) << 4) | (qip[1] >> 4));
        const auto tc = static_cast<uint8_t>(tclass & 0xFC);
        ip[0] = static_cast<uint8_t>(0x60 | (tc >> 4));
        ip[1] = static_cast<uint8_t>((tc & 0x0F) << 4);
        ip[2] = 0;
        ip[3] = 0;
        store16(ip + 4, static_cast<uint16_t>(udp_len));
        ip[6] = kProtoUdp;
        ip[7] = kReplyTtl;
        std::memcpy(ip + 8, d.dst, 16);
        std::memcpy(ip + 24, d.src, 16);
        udp = ip + kIpv6Header;
    }
    const uint8_t* qudp = query + d.l4;
    std::memcpy(udp, qudp + 2, 2);  // source port: the port asked
    std::memcpy(udp + 2, qudp, 2);  // destination: the asker's port
    store16(udp + 4, static_cast<uint16_t>(udp_len));
    store16(udp + 6, 0);
    const uint8_t* src = d.family == 4 ? ip + 12 : ip + 8;
    const uint8_t* dst = d.family == 4 ? ip + 16 : ip + 24;
    store16(udp + 6, udp_checksum(d.family, src, dst, udp, udp_len));
    return static_cast<size_t>(udp - out) + udp_len;
}

}  // namespace dnslb::xdp
