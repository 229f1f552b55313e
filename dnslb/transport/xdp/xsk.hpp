// AF_XDP sockets on one interface (libxdp, libbpf): the XDP program attached while dnslb
// runs, one socket with its own UMEM per receive queue. Built only with the meson feature
// `xdp`. Everything here except Socket::batch runs on the control thread at start-up and
// shutdown; batch runs on the socket's query thread and makes no syscall beyond poll and the
// transmit kick.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

struct bpf_object;
struct xsk_umem;
struct xsk_socket;

namespace dnslb::xdp {

// A served address and UDP port (family 4 or 6; all-zero bytes: every address).
struct Target {
    int family = 4;
    uint8_t addr[16] = {};
    uint16_t port = 53;
};

// The program attached to `iface` with `targets` in its table; detached on destruction. A
// dnslb program left attached by a process that died is replaced; another program is not
// (std::runtime_error naming it). Throws std::runtime_error with the reason (no such
// interface, missing privileges, no AF_XDP in the kernel).
class Program {
public:
    Program(const std::string& iface, const std::vector<Target>& targets);
    ~Program();
    Program(const Program&) = delete;
    Program& operator=(const Program&) = delete;

    const std::string& iface() const noexcept { return iface_; }
    // Receive queues of the interface (ethtool channels; 1 when the driver reports none).
    unsigned queues() const noexcept { return queues_; }
    // Largest frame an answer may fill: the interface MTU plus the Ethernet header.
    size_t max_frame() const noexcept { return max_frame_; }
    const char* mode() const noexcept { return native_ ? "native" : "generic"; }
    int xsks_map() const noexcept { return xsks_fd_; }

private:
    std::string iface_;
    int ifindex_ = 0;
    unsigned queues_ = 1;
    size_t max_frame_ = 1514;
    bool native_ = true;
    bpf_object* obj_ = nullptr;
    int xsks_fd_ = -1;
};

// Answers one query frame: writes the reply frame into `out` (at most `cap` bytes) and
// returns its length, or 0 for no reply.
class FrameHandler {
public:
    virtual size_t answer(const uint8_t* frame, size_t len, uint8_t* out, size_t cap) noexcept = 0;

    FrameHandler() = default;
    FrameHandler(const FrameHandler&) = delete;
    FrameHandler& operator=(const FrameHandler&) = delete;
    virtual ~FrameHandler() = default;
};

// One AF_XDP socket bound to one queue of the program's interface, registered in its map.
class Socket {
public:
    Socket(Program& program, unsigned queue);
    ~Socket();
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;

    // Takes up to kBatch received frames (waiting up to `timeout_ms` when there are none),
    // answers each through `h` and sends the replies. Returns the frames received.
    size_t batch(FrameHandler& h, int timeout_ms) noexcept;
    unsigned queue() const noexcept { return queue_; }
    const char* bind_mode() const noexcept { return zero_copy_ ? "zero-copy" : "copy"; }

    static constexpr uint32_t kBatch = 32;

private:
    void reclaim() noexcept;

    struct Rings;
    Rings* rings_ = nullptr;
    uint8_t* area_ = nullptr;
    size_t area_size_ = 0;
    xsk_umem* umem_ = nullptr;
    xsk_socket* xsk_ = nullptr;
    int fd_ = -1;
    unsigned queue_ = 0;
    size_t max_frame_ = 0;
    bool zero_copy_ = false;
    std::vector<uint64_t> free_tx_;  // transmit frames not in flight
};

}  // namespace dnslb::xdp
