// The frames of the AF_XDP path: parsing with checksum verification, and reply frames whose
// checksums a receiver accepts (checked by parsing the reply back, and against RFC 1071's
// example).
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "dnslb/transport/xdp/frame.hpp"

using namespace dnslb::xdp;

namespace {

using Bytes = std::vector<uint8_t>;

const uint8_t kMacA[6] = {0x02, 0, 0, 0, 0, 0x0A};
const uint8_t kMacB[6] = {0x02, 0, 0, 0, 0, 0x0B};
const uint8_t kV4A[4] = {198, 18, 0, 2};
const uint8_t kV4B[4] = {198, 18, 0, 1};
const uint8_t kV6A[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
const uint8_t kV6B[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

void put16(Bytes& b, size_t at, uint16_t v) {
    b[at] = static_cast<uint8_t>(v >> 8);
    b[at + 1] = static_cast<uint8_t>(v);
}
uint16_t get16(const Bytes& b, size_t at) {
    return static_cast<uint16_t>((b[at] << 8) | b[at + 1]);
}

// A query frame from A (port 40000) to B (port 53) with `payload`, checksums correct.
Bytes frame(int family, const Bytes& payload) {
    Bytes f(kEthHeader, 0);
    std::memcpy(f.data(), kMacB, 6);
    std::memcpy(f.data() + 6, kMacA, 6);
    put16(f, 12, family == 4 ? 0x0800 : 0x86DD);
    const size_t udp_len = kUdpHeader + payload.size();
    size_t l3 = f.size();
    if (family == 4) {
        f.resize(l3 + kIpv4Header);
        f[l3] = 0x45;
        put16(f, l3 + 2, static_cast<uint16_t>(kIpv4Header + udp_len));
        f[l3 + 8] = 64;
        f[l3 + 9] = 17;
        std::memcpy(&f[l3 + 12], kV4A, 4);
        std::memcpy(&f[l3 + 16], kV4B, 4);
        put16(f, l3 + 10,
              static_cast<uint16_t>(~checksum_fold(checksum_add(0, &f[l3], kIpv4Header))));
    } else {
        f.resize(l3 + kIpv6Header);
        f[l3] = 0x60;
        put16(f, l3 + 4, static_cast<uint16_t>(udp_len));
        f[l3 + 6] = 17;
        f[l3 + 7] = 64;
        std::memcpy(&f[l3 + 8], kV6A, 16);
        std::memcpy(&f[l3 + 24], kV6B, 16);
    }
    size_t l4 = f.size();
    f.resize(l4 + kUdpHeader);
    put16(f, l4, 40000);
    put16(f, l4 + 2, 53);
    put16(f, l4 + 4, static_cast<uint16_t>(udp_len));
    f.insert(f.end(), payload.begin(), payload.end());
    const uint8_t* src = family == 4 ? &f[l3 + 12] : &f[l3 + 8];
    const uint8_t* dst = family == 4 ? &f[l3 + 16] : &f[l3 + 24];
    put16(f, l4 + 6, udp_checksum(family, src, dst, &f[l4], udp_len));
    return f;
}

const Bytes kQuery = {0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'w', 'w', 0, 0, 1, 0, 1};

}  // namespace

TEST_CASE("RFC 1071's example sums to 0xddf2", "[xdp]") {
    const uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    CHECK(checksum_fold(checksum_add(0, data, sizeof(data))) == 0xddf2);
    // An odd length pads with a zero byte.
    const uint8_t odd[] = {0x01, 0x02, 0x03};
    CHECK(checksum_fold(checksum_add(0, odd, 3)) == 0x0402);
}

TEST_CASE("a valid query frame is parsed", "[xdp]") {
    for (int family : {4, 6}) {
        CAPTURE(family);
        Bytes f = frame(family, kQuery);
        Datagram d;
        REQUIRE(parse(f.data(), f.size(), d) == Verdict::kOk);
        CHECK(d.family == family);
        CHECK(d.payload_len == kQuery.size());
        CHECK(std::memcmp(f.data() + d.payload, kQuery.data(), kQuery.size()) == 0);
        CHECK(std::memcmp(d.src, family == 4 ? kV4A : kV6A, family == 4 ? 4 : 16) == 0);
        // Ethernet padding after the IP datagram is not part of the query.
        f.resize(f.size() + 12, 0);
        REQUIRE(parse(f.data(), f.size(), d) == Verdict::kOk);
        CHECK(d.payload_len == kQuery.size());
    }
}

TEST_CASE("a wrong checksum is refused", "[xdp]") {
    for (int family : {4, 6}) {
        CAPTURE(family);
        Bytes f = frame(family, kQuery);
        f[f.size() - 1] ^= 0x40;  // the payload changed after the checksum
        Datagram d;
        CHECK(parse(f.data(), f.size(), d) == Verdict::kBadChecksum);
    }
    Bytes f = frame(4, kQuery);
    f[kEthHeader + 8] = 1;  // TTL changed: the IPv4 header checksum no longer matches
    Datagram d;
    CHECK(parse(f.data(), f.size(), d) == Verdict::kBadChecksum);
}

TEST_CASE("a zero UDP checksum means none over IPv4, is invalid over IPv6", "[xdp]") {
    Datagram d;
    Bytes v4 = frame(4, kQuery);
    put16(v4, kEthHeader + kIpv4Header + 6, 0);
    CHECK(parse(v4.data(), v4.size(), d) == Verdict::kOk);
    Bytes v6 = frame(6, kQuery);
    put16(v6, kEthHeader + kIpv6Header + 6, 0);
    CHECK(parse(v6.data(), v6.size(), d) == Verdict::kBadChecksum);
}

TEST_CASE("malformed and foreign frames are refused", "[xdp]") {
    Datagram d;
    Bytes f = frame(4, kQuery);
    CHECK(parse(f.data(), 10, d) == Verdict::kMalformed);
    CHECK(parse(f.data(), kEthHeader + 10, d) == Verdict::kMalformed);
    Bytes frag = f;
    put16(frag, kEthHeader + 6, 0x2000);  // more fragments
    CHECK(parse(frag.data(), frag.size(), d) == Verdict::kMalformed);
    Bytes longer = f;
    put16(longer, kEthHeader + 2, static_cast<uint16_t>(get16(f, kEthHeader + 2) + 10));
    CHECK(parse(longer.data(), longer.size(), d) == Verdict::kMalformed);
    Bytes udp_long = f;
    put16(udp_long, kEthHeader + kIpv4Header + 4, 200);
    CHECK(parse(udp_long.data(), udp_long.size(), d) == Verdict::kMalformed);
    Bytes tcp = f;
    tcp[kEthHeader + 9] = 6;
    CHECK(parse(tcp.data(), tcp.size(), d) == Verdict::kNotUdp);
    Bytes arp = f;
    put16(arp, 12, 0x0806);
    CHECK(parse(arp.data(), arp.size(), d) == Verdict::kNotUdp);
    Bytes v6 = frame(6, kQuery);
    put16(v6, kEthHeader + 4, 500);
    CHECK(parse(v6.data(), v6.size(), d) == Verdict::kMalformed);
}

TEST_CASE("a reply frame swaps addresses and ports and carries valid checksums", "[xdp]") {
    const Bytes answer = {0x12, 0x34, 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0xAA, 0xBB, 0xCC};
    for (int family : {4, 6}) {
        CAPTURE(family);
        Bytes q = frame(family, kQuery);
        Datagram d;
        REQUIRE(parse(q.data(), q.size(), d) == Verdict::kOk);
        Bytes out(2048, 0xEE);
        const size_t hdr = reply_headers(d);
        CHECK(hdr == (family == 4 ? 42U : 62U));
        std::memcpy(out.data() + hdr, answer.data(), answer.size());
        const size_t len = build_reply(q.data(), d, out.data(), answer.size());
        REQUIRE(len == hdr + answer.size());
        out.resize(len);
        CHECK(std::memcmp(out.data(), kMacA, 6) == 0);
        CHECK(std::memcmp(out.data() + 6, kMacB, 6) == 0);
        // Parsed back as the server's datagram to the client: every checksum verifies.
        Datagram r;
        REQUIRE(parse(out.data(), out.size(), r) == Verdict::kOk);
        CHECK(std::memcmp(r.src, family == 4 ? kV4B : kV6B, family == 4 ? 4 : 16) == 0);
        CHECK(std::memcmp(r.dst, family == 4 ? kV4A : kV6A, family == 4 ? 4 : 16) == 0);
        CHECK(get16(out, r.l4) == 53);
        CHECK(get16(out, r.l4 + 2) == 40000);
        CHECK(r.payload_len == answer.size());
        CHECK(std::memcmp(out.data() + r.payload, answer.data(), answer.size()) == 0);
        if (family == 4) {
            CHECK(out[kEthHeader + 8] == 64);
            CHECK(get16(out, kEthHeader + 6) == 0x4000);  // DF
        } else {
            CHECK(out[kEthHeader + 7] == 64);
        }
    }
}
