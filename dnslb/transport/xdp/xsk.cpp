#include "dnslb/transport/xdp/xsk.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xdp/xsk.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "dnslb/base/errno_text.hpp"
#include "dnslb/base/log.hpp"
#include "dnslb/transport/xdp/dnslb_xdp_obj.h"

namespace dnslb::xdp {

namespace {

constexpr const char* kProgName = "dnslb_xdp";  // the program's name in the kernel
// Per socket: kFrames UMEM frames of kFrameSize bytes, half for the fill ring (receive), half
// for replies; every ring holds kRing entries.
constexpr uint32_t kFrameSize = 2048;
constexpr uint32_t kFrames = 4096;
constexpr uint32_t kRing = 2048;

// The table key of the XDP program (struct dnslb_target in dnslb_xdp.bpf.c).
struct MapTarget {
    uint8_t addr[16];
    uint16_t port;  // network order
    uint16_t pad;
};

// libbpf's own messages: warnings into dnslb's log, its chatter dropped.
int libbpf_log(enum libbpf_print_level level, const char* fmt, va_list args) {
    if (level != LIBBPF_WARN) {
        return 0;
    }
    char buf[512];
    int n = std::vsnprintf(buf, sizeof(buf), fmt, args);
    std::string line(buf, n > 0 ? std::min<size_t>(static_cast<size_t>(n), sizeof(buf) - 1) : 0);
    while (!line.empty() && line.back() == '\n') {
        line.pop_back();
    }
    log::warn("xdp: libbpf: " + line);
    return n;
}

std::runtime_error failure(const std::string& iface, const std::string& what, int err) {
    std::string hint;
    if (err == EPERM || err == EACCES) {
        hint = " (needs CAP_NET_ADMIN, CAP_SYS_ADMIN or CAP_BPF, CAP_NET_RAW and CAP_IPC_LOCK)";
    }
    return std::runtime_error("xdp " + iface + ": " + what + ": " + base::errno_text(err) + hint);
}

unsigned rx_queues(const std::string& iface) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return 1;
    }
    ethtool_channels ch{};
    ch.cmd = ETHTOOL_GCHANNELS;
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, iface.c_str(), IFNAMSIZ - 1);
    ifr.ifr_data = reinterpret_cast<char*>(&ch);
    unsigned n = 1;
    if (ioctl(fd, SIOCETHTOOL, &ifr) == 0) {
        n = std::max(ch.combined_count, ch.rx_count);
    }
    close(fd);
    return n == 0 ? 1 : n;
}

size_t mtu_of(const std::string& iface) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, iface.c_str(), IFNAMSIZ - 1);
    int mtu = 1500;
    if (fd >= 0 && ioctl(fd, SIOCGIFMTU, &ifr) == 0) {
        mtu = ifr.ifr_mtu;
    }
    if (fd >= 0) {
        close(fd);
    }
    return std::min<size_t>(static_cast<size_t>(mtu) + 14, kFrameSize);
}

// The name of the program attached to `ifindex` ("" for none).
std::string attached_name(int ifindex, uint32_t& id) {
    id = 0;
    if (bpf_xdp_query_id(ifindex, 0, &id) != 0 || id == 0) {
        return "";
    }
    int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0) {
        return "?";
    }
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    std::string name = "?";
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
        name.assign(info.name, strnlen(info.name, sizeof(info.name)));
    }
    close(fd);
    return name;
}

}  // namespace

Program::Program(const std::string& iface, const std::vector<Target>& targets) : iface_(iface) {
    libbpf_set_print(libbpf_log);
    ifindex_ = static_cast<int>(if_nametoindex(iface.c_str()));
    if (ifindex_ == 0) {
        throw failure(iface, "no such interface", errno);
    }
    queues_ = rx_queues(iface);
    max_frame_ = mtu_of(iface);

    bpf_object_open_opts opts{};  // LIBBPF_OPTS without its C-only extensions
    opts.sz = sizeof(opts);
    opts.object_name = kProgName;
    obj_ = bpf_object__open_mem(kXdpObject, sizeof(kXdpObject), &opts);
    if (obj_ == nullptr) {
        throw failure(iface, "opening the XDP program", errno);
    }
    if (int err = bpf_object__load(obj_); err != 0) {
        bpf_object__close(obj_);
        throw failure(iface, "loading the XDP program", -err);
    }
    bpf_program* prog = bpf_object__find_program_by_name(obj_, kProgName);
    xsks_fd_ = bpf_object__find_map_fd_by_name(obj_, "dnslb_xsks");
    int targets_fd = bpf_object__find_map_fd_by_name(obj_, "dnslb_targets");
    if (prog == nullptr || xsks_fd_ < 0 || targets_fd < 0) {
        bpf_object__close(obj_);
        throw std::runtime_error("xdp " + iface + ": the XDP program lacks its maps");
    }
    for (const Target& t : targets) {
        MapTarget key{};
        std::memcpy(key.addr, t.addr, 16);
        const uint8_t one = 1;
        for (uint16_t port : {static_cast<uint16_t>(htons(t.port)), uint16_t{0}}) {
            key.port = port;
            bpf_map_update_elem(targets_fd, &key, &one, BPF_ANY);
        }
    }

    uint32_t old_id = 0;
    std::string old = attached_name(ifindex_, old_id);
    if (!old.empty()) {
        if (old != kProgName) {
            bpf_object__close(obj_);
            throw std::runtime_error("xdp " + iface + ": another XDP program is attached (" + old +
                                     ", id " + std::to_string(old_id) +
                                     "); dnslb replaces only its own");
        }
        log::warn("xdp " + iface + ": replacing the dnslb XDP program (id " +
                  std::to_string(old_id) + ") an earlier process left attached");
        bpf_xdp_detach(ifindex_, XDP_FLAGS_DRV_MODE, nullptr);
        bpf_xdp_detach(ifindex_, XDP_FLAGS_SKB_MODE, nullptr);
    }
    const int prog_fd = bpf_program__fd(prog);
    int err = bpf_xdp_attach(ifindex_, prog_fd, XDP_FLAGS_DRV_MODE, nullptr);
    if (err != 0 && -err != EPERM) {
        native_ = false;
        err = bpf_xdp_attach(ifindex_, prog_fd, XDP_FLAGS_SKB_MODE, nullptr);
    }
    if (err != 0) {
        bpf_object__close(obj_);
        throw failure(iface, "attaching the XDP program", -err);
    }
}

Program::~Program() {
    bpf_xdp_detach(ifindex_, native_ ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE, nullptr);
    bpf_object__close(obj_);
}

struct Socket::Rings {
    xsk_ring_prod fill{};
    xsk_ring_cons comp{};
    xsk_ring_cons rx{};
    xsk_ring_prod tx{};
};

Socket::Socket(Program& program, unsigned queue)
    : rings_(new Rings), queue_(queue), max_frame_(program.max_frame()) {
    area_size_ = static_cast<size_t>(kFrames) * kFrameSize;
    void* area =
        mmap(nullptr, area_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    const std::string& iface = program.iface();
    if (area == MAP_FAILED) {
        int err = errno;
        delete rings_;
        throw failure(iface, "UMEM", err);
    }
    area_ = static_cast<uint8_t*>(area);
    xsk_umem_config ucfg{kRing, kRing, kFrameSize, 0, 0};
    if (int err = xsk_umem__create(&umem_, area_, area_size_, &rings_->fill, &rings_->comp, &ucfg);
        err != 0) {
        munmap(area_, area_size_);
        delete rings_;
        throw failure(iface, "AF_XDP UMEM", -err);
    }
    xsk_socket_config scfg{};
    scfg.rx_size = kRing;
    scfg.tx_size = kRing;
    scfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;
    scfg.bind_flags = XDP_USE_NEED_WAKEUP;
    int err =
        xsk_socket__create(&xsk_, iface.c_str(), queue, umem_, &rings_->rx, &rings_->tx, &scfg);
    if (err != 0) {
        xsk_umem__delete(umem_);
        munmap(area_, area_size_);
        delete rings_;
        throw failure(iface, "AF_XDP socket on queue " + std::to_string(queue), -err);
    }
    fd_ = xsk_socket__fd(xsk_);
    xdp_options opt{};
    socklen_t optlen = sizeof(opt);
    if (getsockopt(fd_, SOL_XDP, XDP_OPTIONS, &opt, &optlen) == 0) {
        zero_copy_ = (opt.flags & XDP_OPTIONS_ZEROCOPY) != 0;
    }
    // The first half of the frames waits in the fill ring; the second carries replies.
    uint32_t idx = 0;
    const uint32_t half = kFrames / 2;
    xsk_ring_prod__reserve(&rings_->fill, half, &idx);
    for (uint32_t i = 0; i < half; ++i) {
        *xsk_ring_prod__fill_addr(&rings_->fill, idx + i) = static_cast<uint64_t>(i) * kFrameSize;
    }
    xsk_ring_prod__submit(&rings_->fill, half);
    free_tx_.reserve(half);
    for (uint32_t i = half; i < kFrames; ++i) {
        free_tx_.push_back(static_cast<uint64_t>(i) * kFrameSize);
    }
    if (int e = xsk_socket__update_xskmap(xsk_, program.xsks_map()); e != 0) {
        xsk_socket__delete(xsk_);
        xsk_umem__delete(umem_);
        munmap(area_, area_size_);
        delete rings_;
        throw failure(iface, "registering the AF_XDP socket", -e);
    }
}

Socket::~Socket() {
    xsk_socket__delete(xsk_);
    xsk_umem__delete(umem_);
    munmap(area_, area_size_);
    delete rings_;
}

// Transmit frames the kernel has sent come back through the completion ring.
void Socket::reclaim() noexcept {
    uint32_t idx = 0;
    const uint32_t n = xsk_ring_cons__peek(&rings_->comp, kRing, &idx);
    for (uint32_t i = 0; i < n; ++i) {
        free_tx_.push_back(*xsk_ring_cons__comp_addr(&rings_->comp, idx + i));
    }
    xsk_ring_cons__release(&rings_->comp, n);
}

size_t Socket::batch(FrameHandler& h, int timeout_ms) noexcept {
    reclaim();
    uint32_t rx_idx = 0;
    uint32_t n = xsk_ring_cons__peek(&rings_->rx, kBatch, &rx_idx);
    if (n == 0) {
        pollfd p{fd_, POLLIN, 0};
        poll(&p, 1, timeout_ms);
        n = xsk_ring_cons__peek(&rings_->rx, kBatch, &rx_idx);
        if (n == 0) {
            return 0;
        }
    }
    xdp_desc replies[kBatch];
    uint32_t nreply = 0;
    uint32_t fill_idx = 0;
    // The fill ring has room for every frame the receive ring holds: they are the same frames.
    const uint32_t refill = xsk_ring_prod__reserve(&rings_->fill, n, &fill_idx);
    for (uint32_t i = 0; i < n; ++i) {
        const xdp_desc* d = xsk_ring_cons__rx_desc(&rings_->rx, rx_idx + i);
        const uint8_t* in = area_ + d->addr;
        if (!free_tx_.empty()) {
            const uint64_t out = free_tx_.back();
            const size_t len = h.answer(in, d->len, area_ + out, max_frame_);
            if (len != 0) {
                free_tx_.pop_back();
                replies[nreply++] = {out, static_cast<uint32_t>(len), 0};
            }
        }
        if (i < refill) {
            *xsk_ring_prod__fill_addr(&rings_->fill, fill_idx + i) = d->addr - d->addr % kFrameSize;
        }
    }
    xsk_ring_cons__release(&rings_->rx, n);
    xsk_ring_prod__submit(&rings_->fill, refill);
    if (xsk_ring_prod__needs_wakeup(&rings_->fill)) {
        recvfrom(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
    }
    if (nreply != 0) {
        uint32_t tx_idx = 0;
        const uint32_t room = xsk_ring_prod__reserve(&rings_->tx, nreply, &tx_idx);
        for (uint32_t i = 0; i < room; ++i) {
            *xsk_ring_prod__tx_desc(&rings_->tx, tx_idx + i) = replies[i];
        }
        for (uint32_t i = room; i < nreply; ++i) {
            free_tx_.push_back(replies[i].addr);  // ring full: dropped, the client retries
        }
        xsk_ring_prod__submit(&rings_->tx, room);
        if (xsk_ring_prod__needs_wakeup(&rings_->tx)) {
            sendto(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, 0);
        }
    }
    return n;
}

}  // namespace dnslb::xdp
