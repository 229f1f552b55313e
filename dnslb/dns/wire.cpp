#include "dnslb/dns/wire.hpp"

namespace dnslb::dns {

void Reader::skip_name() noexcept {
    // A compression pointer ends the name in this message; labels are skipped one by one. The
    // total is bounded by the packet size, so a malicious name cannot loop.
    size_t total = 0;
    while (ok_) {
        uint8_t len = u8();
        if ((len & 0xC0) == 0xC0) {
            u8();
            return;
        }
        if ((len & 0xC0) != 0) {
            fail();  // 0x40/0x80 label types are obsolete (RFC 6891 section 5)
            return;
        }
        if (len == 0) {
            return;
        }
        total += len + 1U;
        if (total > kMaxNameWire) {
            fail();
            return;
        }
        skip(len);
    }
}

size_t wire_name_length(const uint8_t* p, size_t n) noexcept {
    size_t pos = 0;
    while (pos < n) {
        uint8_t len = p[pos];
        if (len == 0) {
            return pos + 1 <= kMaxNameWire ? pos + 1 : 0;
        }
        if ((len & 0xC0) != 0) {
            return 0;
        }
        pos += len + 1U;
        if (pos >= kMaxNameWire) {
            return 0;
        }
    }
    return 0;
}

size_t wire_name_labels(const uint8_t* name) noexcept {
    size_t labels = 0;
    for (size_t pos = 0; name[pos] != 0; pos += name[pos] + 1U) {
        ++labels;
    }
    return labels;
}

}  // namespace dnslb::dns
