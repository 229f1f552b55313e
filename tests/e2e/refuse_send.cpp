// LD_PRELOAD shim for the e2e tests: the server's sendmmsg refuses (EPERM, as a firewall rule
// refusing one destination would) every reply whose DNS ID starts with the byte given in
// DNSLB_TEST_REFUSE_ID_HIGH, the way the kernel reports such an error: the messages before the
// refused one are sent and counted, and a call that starts with it fails.
#include <dlfcn.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>

namespace {

using SendMmsg = int (*)(int, mmsghdr*, unsigned int, int);

bool refused(const mmsghdr& m, int high) {
    const msghdr& h = m.msg_hdr;
    if (h.msg_iovlen == 0 || h.msg_iov[0].iov_len < 2) {
        return false;
    }
    return *static_cast<const uint8_t*>(h.msg_iov[0].iov_base) == high;
}

}  // namespace

extern "C" int sendmmsg(int fd, mmsghdr* msgs, unsigned int n, int flags) {
    static const auto real = reinterpret_cast<SendMmsg>(dlsym(RTLD_NEXT, "sendmmsg"));
    static const int high = [] {
        const char* v = std::getenv("DNSLB_TEST_REFUSE_ID_HIGH");
        return v != nullptr ? static_cast<int>(std::strtol(v, nullptr, 0)) : -1;
    }();
    unsigned int k = 0;
    while (k < n && !refused(msgs[k], high)) {
        ++k;
    }
    if (k == 0 && n > 0) {
        errno = EPERM;
        return -1;
    }
    return real(fd, msgs, k, flags);
}
