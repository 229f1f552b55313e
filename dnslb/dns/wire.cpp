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

}  // namespace dnslb::dns
