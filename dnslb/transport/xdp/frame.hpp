// Ethernet frames of the AF_XDP path: a received frame checked and taken apart (IPv4 header
// checksum, lengths, UDP checksum), and the reply frame built from it (addresses and ports
// swapped, checksums computed). Pure functions over caller buffers: no allocation, no syscall.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dnslb::xdp {

constexpr size_t kEthHeader = 14;
constexpr size_t kIpv4Header = 20;
constexpr size_t kIpv6Header = 40;
constexpr size_t kUdpHeader = 8;

// What a valid query frame holds. Offsets are from the start of the frame.
struct Datagram {
    int family = 4;          // 4 or 6
    size_t l3 = kEthHeader;  // the IP header
    size_t l4 = 0;           // the UDP header
    size_t payload = 0;      // the DNS message
    size_t payload_len = 0;
    const uint8_t* src = nullptr;  // the asker's address (4 or 16 bytes, inside the frame)
    const uint8_t* dst = nullptr;  // our address
};

enum class Verdict : uint8_t {
    kOk,
    kNotUdp,       // not IPv4/IPv6 UDP (the XDP program passes those; never expected here)
    kMalformed,    // lengths, version, header length, IPv4 options, fragments
    kBadChecksum,  // IPv4 header or UDP checksum wrong (UDP over IPv6 without one included)
};

// Checks the frame of `len` bytes and fills `d`. Only kOk frames may be answered.
Verdict parse(const uint8_t* frame, size_t len, Datagram& d) noexcept;

// The headers a reply to `d` needs in front of its DNS message: 42 (IPv4) or 62 (IPv6) bytes.
constexpr size_t reply_headers(const Datagram& d) noexcept {
    return kEthHeader + (d.family == 4 ? kIpv4Header : kIpv6Header) + kUdpHeader;
}

// Writes the Ethernet, IP and UDP headers of the reply to query frame `query` (parsed as `d`)
// in front of the `payload_len` bytes of DNS message already at out + reply_headers(d):
// MAC addresses, IP addresses and ports swapped, TTL/hop limit 64, both checksums computed.
// Returns the frame length.
size_t build_reply(const uint8_t* query, const Datagram& d, uint8_t* out,
                   size_t payload_len) noexcept;

// The Internet checksum (RFC 1071) of `len` bytes, added to `sum` (not yet folded).
uint32_t checksum_add(uint32_t sum, const uint8_t* p, size_t len) noexcept;
// Folds a running sum into the 16-bit one's complement checksum (not inverted).
uint16_t checksum_fold(uint32_t sum) noexcept;
// The UDP checksum field for the datagram at `udp` (header and payload, `udp_len` bytes, its
// own checksum field read as zero) between `src` and `dst` (4 or 16 bytes for `family`).
uint16_t udp_checksum(int family, const uint8_t* src, const uint8_t* dst, const uint8_t* udp,
                      size_t udp_len) noexcept;

}  // namespace dnslb::xdp
