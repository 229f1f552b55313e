#include "dnslb/transport/server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <list>
#include <stdexcept>
#include <unordered_map>

#include "dnslb/answer/demand.hpp"
#include "dnslb/answer/query_log.hpp"
#include "dnslb/base/errno_text.hpp"
#include "dnslb/base/log.hpp"
#include "dnslb/dns/wire.hpp"
#include "dnslb/steering/cache.hpp"
#include "dnslb/transport/sockets.hpp"
#include "dnslb/transport/xdp/frame.hpp"
#include "dnslb/transport/xdp/xsk.hpp"

namespace dnslb::server {

namespace {

// The receive window adapts, as a queue's load does: it starts at kBatchMin datagrams per
// recvmmsg, doubles while batches come back full and halves when they come back less than a
// quarter full, up to kBatch. Replies leave in groups of kSendGroup, so the first answers of a
// wide batch do not wait for the last queries to be answered.
constexpr size_t kBatch = 64;
constexpr size_t kBatchMin = 16;
constexpr size_t kSendGroup = 16;
constexpr size_t kUdpBuffer = 4096;  // one query; larger datagrams are truncated, then FORMERR
// A UDP thread blocked on an idle socket wakes this often to report that it holds no old
// snapshot (reclamation) and to see a stop request that shutdown() did not deliver.
constexpr long kUdpIdleWakeUs = 100000;
// On stop, a UDP thread answers what is already queued on its socket, at most this many
// batches (up to 4,096 datagrams), without waiting for more.
constexpr size_t kUdpDrainBatches = 64;
constexpr size_t kTcpMax = 65535;
// An AF_XDP thread waits this long for frames before it reports its epoch (kUdpIdleWakeUs).
constexpr int kXdpIdleWakeMs = 100;

}  // namespace

struct TcpConn;

// One thread answering queries, with its own guard (RRL table, cookie secrets), counters,
// decision cache and snapshot epoch. A UDP thread owns one UDP socket and blocks in recvmmsg
// on it, as gdnsd's UDP threads do: no event loop, and no epoll entry on the socket, whose
// wait-queue wake-up the kernel would otherwise run for every datagram sent and received.
// A TCP thread runs a libuv loop over its listening sockets and connections. An XDP thread
// owns one AF_XDP socket (one receive queue) and answers the frames it hands over.
class QueryThread : public xdp::FrameHandler {
public:
    enum class Role : uint8_t { kUdp, kTcp, kXdp };

    QueryThread(SnapshotHolder& snaps, TcpLimits limits, const AttackState& attack, Role role)
        : snaps_(snaps), limits_(limits), role_(role) {
        ctx_.guard = &guard;
        ctx_.attack = &attack;
        if (role_ == Role::kUdp) {
            in_.resize(kBatch * kUdpBuffer);
            out_.resize(kBatch * kUdpBuffer);
            init_batch();
        } else if (role_ == Role::kTcp) {
            uv_loop_init(&loop_);
            uv_async_init(&loop_, &async_, on_async);
            async_.data = this;
            tcp_out_.resize(kTcpMax + 2);
            tcp_read_.resize(kTcpMax + 2);
        }
    }
    ~QueryThread() override {
        if (udp_fd_ >= 0) {
            close(udp_fd_);
        }
        if (role_ == Role::kTcp) {
            uv_loop_close(&loop_);
        }
    }

    Role role() const noexcept { return role_; }
    // The socket is made blocking, with a receive timeout: see kUdpIdleWakeUs.
    void set_udp(int fd) {
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        timeval tv{0, kUdpIdleWakeUs};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        udp_fd_ = fd;
    }
    void add_tcp(int fd) { tcp_fds_.push_back(fd); }
#if DNSLB_HAVE_XDP
    void set_xdp(std::unique_ptr<xdp::Socket> s) { xsk_ = std::move(s); }
#endif

    void run() {
        if (role_ != Role::kTcp) {
            // The steering decision cache: one fixed table (8 MiB) per UDP thread, allocated
            // here, on that thread, and used by every query it answers. TCP carries few
            // queries: they are steered without one.
            auto cache = std::make_unique<steering::DecisionCache>();
            ctx_.cache = cache.get();
            if (role_ == Role::kXdp) {
                run_xdp();
            } else {
                run_udp();
            }
            ctx_.cache = nullptr;
            return;
        }
        for (int fd : tcp_fds_) {
            auto* t = new uv_tcp_t;
            uv_tcp_init(&loop_, t);
            uv_tcp_open(t, fd);
            t->data = this;
            uv_listen(reinterpret_cast<uv_stream_t*>(t), 1024, on_accept);
            listeners_.push_back(t);
        }
        uv_run(&loop_, UV_RUN_DEFAULT);
    }

    void request_stop() {
        stopping_.store(true, std::memory_order_release);
        if (role_ == Role::kUdp) {
            // Wakes a recvmmsg blocked on the socket (Linux sets RCV_SHUTDOWN and wakes the
            // waiters even on an unconnected UDP socket, then reports ENOTCONN); the receive
            // timeout covers any other case.
            if (udp_fd_ >= 0) {
                ::shutdown(udp_fd_, SHUT_RD);
            }
        } else if (role_ == Role::kTcp) {
            uv_async_send(&async_);
        }
    }
    // An idle UDP or XDP thread reports its epoch within kUdpIdleWakeUs by itself.
    void wake() {
        if (role_ == Role::kTcp) {
            uv_async_send(&async_);
        }
    }

    ThreadEpoch epoch;
    Stats stats;
    ThreadGuard guard;
    QueryLogRing* qlog = nullptr;

    // Before start(): the sampled query log ring of this thread (null: off).
    void set_query_log(QueryLogRing* ring) noexcept { ctx_.log = ring; }
    // Before start(): the demand table of this thread (null: off).
    void set_demand(DemandTable* table) noexcept { ctx_.demand = table; }

private:
    friend struct TcpConn;

    const Snapshot* current() noexcept {
        const Snapshot* s = snaps_.load();
        return s;
    }
    // Clocks once per batch: uv_now is the loop's cached time (CLOCK_MONOTONIC in ms, which a
    // UDP thread reads itself), CLOCK_REALTIME_COARSE; from the vDSO, never a syscall.
    QueryContext& context() noexcept {
        if (role_ == Role::kTcp) {
            ctx_.now_ms = uv_now(&loop_);
        } else {
            timespec mono{};
            clock_gettime(CLOCK_MONOTONIC, &mono);
            ctx_.now_ms = static_cast<uint64_t>(mono.tv_sec) * 1000 +
                          static_cast<uint64_t>(mono.tv_nsec) / 1000000;
        }
        timespec ts{};
        clock_gettime(CLOCK_REALTIME_COARSE, &ts);
        ctx_.now_s = static_cast<uint32_t>(ts.tv_sec);
        return ctx_;
    }
    void quiesce(const Snapshot* s) noexcept {
        if (ctx_.demand != nullptr) {
            ctx_.demand->quiesce();  // between batches: the half the control thread asked for
        }
        if (s != nullptr) {
            epoch.seen.store(s->generation, std::memory_order_release);
        }
    }

    static void on_async(uv_async_t* a) {
        auto* w = static_cast<QueryThread*>(a->data);
        w->quiesce(w->current());
        if (w->stopping_.load(std::memory_order_acquire) && !w->shut_) {
            w->shut_ = true;
            w->shutdown();
        }
    }

    // Until asked to stop; then the queries that arrived before the stop are answered: a
    // client that sent just before SIGTERM gets its answer, as it does over TCP.
    void run_udp() noexcept {
        while (!stopping_.load(std::memory_order_acquire)) {
            udp_batch(udp_fd_, MSG_WAITFORONE);
        }
        for (size_t i = 0; i < kUdpDrainBatches && udp_batch(udp_fd_, MSG_DONTWAIT) > 0; ++i) {
        }
    }

    // As run_udp, over the AF_XDP socket: the same respond(), so every defence applies.
    void run_xdp() noexcept {
        while (!stopping_.load(std::memory_order_acquire)) {
            xdp_batch(kXdpIdleWakeMs);
        }
        for (size_t i = 0; i < kUdpDrainBatches && xdp_batch(0) > 0; ++i) {
        }
    }
    size_t xdp_batch(int timeout_ms) noexcept {
#if DNSLB_HAVE_XDP
        xdp_begun_ = false;
        size_t n = xsk_->batch(*this, timeout_ms);
        quiesce(xdp_begun_ ? xdp_snap_ : current());
        return n;
#else
        (void)timeout_ms;
        return 0;
#endif
    }
    // One frame from the AF_XDP socket: checked (lengths, IPv4 header and UDP checksums),
    // answered, and the reply frame built in `out`. The snapshot and the clocks are read once
    // per batch, at its first frame (after the wait, as udp_batch does).
    size_t answer(const uint8_t* frame, size_t len, uint8_t* out, size_t cap) noexcept override {
        if (!xdp_begun_) {
            xdp_begun_ = true;
            xdp_snap_ = current();
            context();
        }
        xdp::Datagram d;
        if (xdp::parse(frame, len, d) != xdp::Verdict::kOk) {
            stats.bump(stats.dropped);
            return 0;
        }
        if (xdp_snap_ == nullptr) {
            return 0;
        }
        ClientAddress client;
        client.family = d.family;
        std::memcpy(client.bytes, d.src, d.family == 4 ? 4 : 16);
        const size_t hdr = xdp::reply_headers(d);
        if (cap <= hdr) {
            return 0;
        }
        size_t rlen = respond(*xdp_snap_, frame + d.payload, d.payload_len, client, Transport::kUdp,
                              out + hdr, cap - hdr, ctx_);
        return rlen == 0 ? 0 : xdp::build_reply(frame, d, out, rlen);
    }

    // The receive headers point at fixed slots and are built once; a batch only restores the
    // address lengths the kernel overwrote. Replies reuse the request's address buffer.
    void init_batch() noexcept {
        for (size_t i = 0; i < kBatch; ++i) {
            in_iov_[i] = {in_.data() + i * kUdpBuffer, kUdpBuffer};
            in_msgs_[i] = {};
            in_msgs_[i].msg_hdr.msg_iov = &in_iov_[i];
            in_msgs_[i].msg_hdr.msg_iovlen = 1;
            in_msgs_[i].msg_hdr.msg_name = &addrs_[i];
            in_msgs_[i].msg_hdr.msg_namelen = sizeof(SockAddr);
            out_msgs_[i] = {};
            out_msgs_[i].msg_hdr.msg_iov = &out_iov_[i];
            out_msgs_[i].msg_hdr.msg_iovlen = 1;
        }
    }

    // One recvmmsg that waits for the first datagram and takes whatever else is queued, up to
    // the window (MSG_WAITFORONE; MSG_DONTWAIT when draining), and one sendmmsg per group of
    // replies. The snapshot is read once per batch, after the wait: a query that arrives after a
    // reload returned gets the new zones. Returns the datagrams received.
    size_t udp_batch(int fd, int flags) noexcept {
        int n = recvmmsg(fd, in_msgs_, static_cast<unsigned>(window_), flags, nullptr);
        const Snapshot* snap = current();
        if (n <= 0) {
            quiesce(snap);  // idle (receive timeout): holds no older snapshot
            window_ = kBatchMin;
            return 0;
        }
        const auto received = static_cast<size_t>(n);
        if (received == window_) {
            window_ = std::min(window_ * 2, kBatch);
        } else if (received * 4 < window_) {
            window_ = std::max(window_ / 2, kBatchMin);
        }
        size_t outn = 0;
        size_t got = 0;
        QueryContext& ctx = context();
        for (int i = 0; i < n; ++i) {
            msghdr& h = in_msgs_[i].msg_hdr;
            socklen_t namelen = h.msg_namelen;
            h.msg_namelen = sizeof(SockAddr);  // for the next batch
            // After shutdown(SHUT_RD) an empty queue reads as entries of length 0 with no
            // source address: not datagrams.
            if (namelen == 0) {
                continue;
            }
            ++got;
            if (snap == nullptr) {
                continue;
            }
            size_t len = in_msgs_[i].msg_len;
            ClientAddress client = client_of(&addrs_[i].sa);
            uint8_t* out = out_.data() + static_cast<size_t>(i) * kUdpBuffer;
            size_t rlen = respond(*snap, in_.data() + static_cast<size_t>(i) * kUdpBuffer, len,
                                  client, Transport::kUdp, out, kUdpBuffer, ctx);
            if (rlen == 0) {
                continue;
            }
            out_iov_[outn] = {out, rlen};
            out_msgs_[outn].msg_hdr.msg_name = &addrs_[i];
            out_msgs_[outn].msg_hdr.msg_namelen = namelen;
            if (++outn == kSendGroup) {
                send_replies(fd, outn);
                outn = 0;
            }
        }
        send_replies(fd, outn);
        quiesce(snap);
        return got;
    }

    // Sends the first `outn` prepared replies without blocking.
    void send_replies(int fd, size_t outn) noexcept {
        size_t sent = 0;
        while (sent < outn) {
            int s =
                sendmmsg(fd, out_msgs_ + sent, static_cast<unsigned>(outn - sent), MSG_DONTWAIT);
            if (s < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) {
                // This one reply cannot go (a route or a firewall refuses its destination):
                // drop it and send the others.
                stats.bump(stats.dropped);
                ++sent;
                continue;
            }
            if (s <= 0) {
                // Socket buffer full: UDP may drop, the client retries; never block a query thread.
                for (; sent < outn; ++sent) {
                    stats.bump(stats.dropped);
                }
                break;
            }
            sent += static_cast<size_t>(s);
        }
    }

    static void on_accept(uv_stream_t* server, int status);
    TcpConn* new_conn();
    void admit(TcpConn* c);
    void shutdown();

    SnapshotHolder& snaps_;
    TcpLimits limits_;
    Role role_;
    QueryContext ctx_{stats};
    uv_loop_t loop_{};
    uv_async_t async_{};
    std::atomic<bool> stopping_{false};
    bool shut_ = false;
    int udp_fd_ = -1;
    std::vector<int> tcp_fds_;
    std::vector<uv_tcp_t*> listeners_;
    std::vector<uint8_t> in_;
    std::vector<uint8_t> out_;
    size_t window_ = kBatchMin;  // datagrams the next recvmmsg may take
#if DNSLB_HAVE_XDP
    std::unique_ptr<xdp::Socket> xsk_;
#endif
    const Snapshot* xdp_snap_ = nullptr;  // the snapshot of the current AF_XDP batch
    bool xdp_begun_ = false;              // its first frame has been seen
    mmsghdr in_msgs_[kBatch];
    iovec in_iov_[kBatch];
    SockAddr addrs_[kBatch]{};
    mmsghdr out_msgs_[kBatch];
    iovec out_iov_[kBatch];
    std::vector<uint8_t> tcp_out_;
    std::vector<uint8_t> tcp_read_;
    std::list<TcpConn*> conns_;                             // least recently active first
    std::unordered_map<std::string, uint32_t> per_source_;  // connections per client address
};

// One TCP connection (RFC 7766): 2-byte length framing, any number of queries in a row,
// closed after the idle timeout. Allocated per connection, never per query.
struct TcpConn {
    QueryThread* thread;
    uv_tcp_t tcp{};
    uv_timer_t timer{};
    std::string in;
    std::list<TcpConn*>::iterator pos;
    int open_handles = 2;
    int pending_writes = 0;
    bool closing = false;
    ClientAddress client;
    std::string source_key;
    uint32_t queries = 0;
    uint64_t partial_since_ms = 0;  // when the unfinished query in `in` began; 0: none

    struct Write {
        uv_write_t req{};
        TcpConn* conn = nullptr;
        std::vector<uint8_t> data;
    };

    void touch() {
        thread->conns_.splice(thread->conns_.end(), thread->conns_, pos);
        arm_timer();
    }

    // Idle connections get the idle timeout; one that has begun a query must finish it within
    // query_timeout_ms of its first byte, however slowly it trickles (slowloris).
    void arm_timer() {
        uint64_t timeout = thread->limits_.idle_timeout_ms;
        if (partial_since_ms != 0) {
            uint64_t now = uv_now(&thread->loop_);
            uint64_t deadline = partial_since_ms + thread->limits_.query_timeout_ms;
            timeout = deadline > now ? std::min<uint64_t>(timeout, deadline - now) : 1;
        }
        uv_timer_start(&timer, on_idle, timeout, 0);
    }

    void close_now() {
        if (closing) {
            return;
        }
        closing = true;
        thread->stats.tcp_open.fetch_sub(1, std::memory_order_relaxed);
        if (auto it = thread->per_source_.find(source_key); it != thread->per_source_.end()) {
            if (--it->second == 0) {
                thread->per_source_.erase(it);
            }
        }
        thread->conns_.erase(pos);
        uv_timer_stop(&timer);
        uv_close(reinterpret_cast<uv_handle_t*>(&tcp), on_closed);
        uv_close(reinterpret_cast<uv_handle_t*>(&timer), on_closed);
    }

    static void on_closed(uv_handle_t* h) {
        auto* c = static_cast<TcpConn*>(h->data);
        if (--c->open_handles == 0) {
            delete c;
        }
    }
    static void on_idle(uv_timer_t* t) {
        auto* c = static_cast<TcpConn*>(t->data);
        c->thread->stats.bump(c->partial_since_ms != 0 ? c->thread->stats.tcp_closed_slow
                                                       : c->thread->stats.tcp_closed_idle);
        c->close_now();
    }

    static void on_alloc(uv_handle_t* h, size_t /*suggested*/, uv_buf_t* buf) {
        auto* c = static_cast<TcpConn*>(h->data);
        buf->base = reinterpret_cast<char*>(c->thread->tcp_read_.data());
        buf->len = c->thread->tcp_read_.size();
    }

    static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
        auto* c = static_cast<TcpConn*>(s->data);
        if (n < 0) {
            c->close_now();
            return;
        }
        if (n == 0 || c->closing) {
            return;
        }
        c->in.append(buf->base, static_cast<size_t>(n));
        c->drain();
        if (!c->closing) {
            if (c->in.empty()) {
                c->partial_since_ms = 0;
            } else if (c->partial_since_ms == 0) {
                c->partial_since_ms = uv_now(&c->thread->loop_);
            }
            c->touch();
        }
    }

    void drain() {
        QueryThread& w = *thread;
        const Snapshot* snap = w.current();
        size_t used = 0;
        while (in.size() - used >= 2 && !closing) {
            auto msg_len = static_cast<size_t>(
                dns::load_u16(reinterpret_cast<const uint8_t*>(in.data() + used)));
            if (in.size() - used - 2 < msg_len) {
                break;
            }
            const auto* msg = reinterpret_cast<const uint8_t*>(in.data() + used + 2);
            used += 2 + msg_len;
            if (snap == nullptr) {
                continue;
            }
            uint8_t* out = w.tcp_out_.data();
            size_t rlen = respond(*snap, msg, msg_len, client, Transport::kTcp, out + 2, kTcpMax,
                                  w.context());
            partial_since_ms = 0;  // a whole query arrived: the next one starts its own clock
            if (rlen == 0) {
                continue;
            }
            out[0] = static_cast<uint8_t>(rlen >> 8);
            out[1] = static_cast<uint8_t>(rlen);
            send(out, rlen + 2);
            if (++queries >= w.limits_.max_queries && !closing) {
                w.stats.bump(w.stats.tcp_closed_query_cap);
                close_after_writes();
            }
        }
        if (!closing) {
            in.erase(0, used);
        }
        w.quiesce(snap);
    }

    void send(const uint8_t* data, size_t len) {
        size_t done = 0;
        if (pending_writes == 0) {
            uv_buf_t b = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(data)),
                                     static_cast<unsigned>(len));
            int r = uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp), &b, 1);
            if (r > 0) {
                done = static_cast<size_t>(r);
            } else if (r != UV_EAGAIN) {
                close_now();
                return;
            }
        }
        if (done == len) {
            return;
        }
        // Slow reader: keep the rest until libuv can write it (rare; not the fast path).
        auto* wr = new Write;
        wr->conn = this;
        wr->data.assign(data + done, data + len);
        uv_buf_t b = uv_buf_init(reinterpret_cast<char*>(wr->data.data()),
                                 static_cast<unsigned>(wr->data.size()));
        ++pending_writes;
        uv_write(&wr->req, reinterpret_cast<uv_stream_t*>(&tcp), &b, 1, on_written);
    }

    bool drain_then_close = false;
    void close_after_writes() {
        if (pending_writes == 0) {
            close_now();
        } else {
            drain_then_close = true;
            uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp));
        }
    }

    static void on_written(uv_write_t* req, int /*status*/) {
        auto* wr = reinterpret_cast<Write*>(req);
        TcpConn* c = wr->conn;
        delete wr;
        if (--c->pending_writes == 0 &&
            (c->drain_then_close || c->thread->stopping_.load(std::memory_order_acquire))) {
            c->close_now();
        }
    }
};

void QueryThread::on_accept(uv_stream_t* server, int status) {
    auto* w = static_cast<QueryThread*>(server->data);
    if (status < 0) {
        return;
    }
    TcpConn* c = w->new_conn();
    if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) {
        c->close_now();
        return;
    }
    w->admit(c);
}

TcpConn* QueryThread::new_conn() {
    auto* c = new TcpConn;
    c->thread = this;
    stats.tcp_open.fetch_add(1, std::memory_order_relaxed);
    uv_tcp_init(&loop_, &c->tcp);
    uv_timer_init(&loop_, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->pos = conns_.insert(conns_.end(), c);
    return c;
}

// A connection just accepted: the per-source and total caps, then reading.
void QueryThread::admit(TcpConn* c) {
    SockAddr peer{};
    int len = sizeof(peer);
    uv_tcp_getpeername(&c->tcp, &peer.sa, &len);
    c->client = client_of(&peer.sa);
    c->source_key.assign(reinterpret_cast<const char*>(c->client.bytes),
                         c->client.family == 4 ? 4 : 16);
    stats.bump(stats.tcp_accepted);
    if (++per_source_[c->source_key] > limits_.max_per_source) {
        stats.bump(stats.tcp_refused_per_source);
        c->close_now();
        return;
    }
    // Admitted: past the cap, the least recently active other connection goes first. A
    // connection refused for its source never evicts anyone.
    if (conns_.size() > limits_.max_connections && conns_.front() != c) {
        stats.bump(stats.tcp_closed_evicted);
        conns_.front()->close_now();
    }
    uv_tcp_nodelay(&c->tcp, 1);
    c->in.reserve(512);
    c->touch();
    uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), TcpConn::on_alloc, TcpConn::on_read);
}

void QueryThread::shutdown() {
    // Connections the kernel completed but the loop has not accepted yet carry queries too
    // (a client may connect, send and see the signal land before this loop polled).
    for (auto* t : listeners_) {
        int lfd = -1;
        if (uv_fileno(reinterpret_cast<uv_handle_t*>(t), &lfd) != 0) {
            continue;
        }
        for (;;) {
            int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                break;
            }
            TcpConn* c = new_conn();
            if (uv_tcp_open(&c->tcp, fd) != 0) {
                close(fd);
                c->close_now();
                continue;
            }
            admit(c);
        }
    }
    for (auto* t : listeners_) {
        uv_close(reinterpret_cast<uv_handle_t*>(t),
                 [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
    }
    listeners_.clear();
    // Queries already read have been answered synchronously; connections with replies still
    // queued close once those are written (on_written), the rest now.
    // Queries the kernel already holds for us are in flight too: read and answer them first.
    std::vector<TcpConn*> all(conns_.begin(), conns_.end());
    for (TcpConn* c : all) {
        int fd = -1;
        if (!c->closing && uv_fileno(reinterpret_cast<uv_handle_t*>(&c->tcp), &fd) == 0) {
            for (;;) {
                ssize_t n = recv(fd, tcp_read_.data(), tcp_read_.size(), MSG_DONTWAIT);
                if (n <= 0) {
                    break;
                }
                c->in.append(reinterpret_cast<const char*>(tcp_read_.data()),
                             static_cast<size_t>(n));
            }
            c->drain();
        }
    }
    std::vector<TcpConn*> idle;
    for (TcpConn* c : conns_) {
        if (c->pending_writes == 0) {
            idle.push_back(c);
        } else {
            uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
        }
    }
    for (TcpConn* c : idle) {
        c->close_now();
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
}

// The attached XDP program of the AF_XDP mode.
struct Server::Xdp {
#if DNSLB_HAVE_XDP
    std::unique_ptr<xdp::Program> program;
#endif
};

Server::Server(SnapshotHolder& snapshots, std::vector<config::ListenAddress> listen,
               unsigned workers, TcpLimits tcp, std::string xdp)
    : snapshots_(snapshots),
      listen_(std::move(listen)),
      tcp_(tcp),
      worker_count_(workers),
      xdp_iface_(std::move(xdp)) {
    // The total connection cap is shared out: each worker accepts its part (SO_REUSEPORT
    // spreads new connections evenly).
    TcpLimits per_worker = tcp_;
    per_worker.max_connections =
        std::max<uint32_t>(1, tcp_.max_connections / std::max(1U, workers));
    per_worker_ = per_worker;
    // Per worker: one TCP thread (it serves every address), then one UDP thread per address;
    // open() hands out the sockets in the same order.
    for (unsigned i = 0; i < workers; ++i) {
        query_threads_.push_back(std::make_unique<QueryThread>(snapshots_, per_worker, attack_,
                                                               QueryThread::Role::kTcp));
        for (size_t a = 0; a < listen_.size(); ++a) {
            query_threads_.push_back(std::make_unique<QueryThread>(snapshots_, per_worker, attack_,
                                                                   QueryThread::Role::kUdp));
        }
    }
}

Server::~Server() { stop(); }

void Server::open() {
    // Thousands of TCP connections need descriptors: raise the soft limit to the hard one.
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    const size_t per_worker = 1 + listen_.size();
    for (size_t i = 0; i < query_threads_.size(); i += per_worker) {
        QueryThread& tcp = *query_threads_[i];
        for (size_t a = 0; a < listen_.size(); ++a) {
            const auto& addr = listen_[a];
            query_threads_[i + 1 + a]->set_udp(bound_socket(addr, SOCK_DGRAM));
            int fd = bound_socket(addr, SOCK_STREAM);
            if (listen(fd, 1024) != 0) {
                int err = errno;
                close(fd);
                throw std::runtime_error(addr.text() + " (tcp): listen: " + base::errno_text(err));
            }
            tcp.add_tcp(fd);
        }
    }
    if (!xdp_iface_.empty()) {
        open_xdp();
    }
}

// The XDP program on the interface, then one AF_XDP socket and thread per receive queue.
void Server::open_xdp() {
#if DNSLB_HAVE_XDP
    std::vector<xdp::Target> targets;
    for (const auto& addr : listen_) {
        xdp::Target t;
        t.port = addr.port;
        uint8_t v4[4];
        if (inet_pton(AF_INET, addr.host.c_str(), v4) == 1) {
            t.family = 4;
            if (v4[0] != 0 || v4[1] != 0 || v4[2] != 0 || v4[3] != 0) {
                t.addr[10] = 0xFF;
                t.addr[11] = 0xFF;
                std::memcpy(t.addr + 12, v4, 4);
            }
        } else {
            t.family = 6;
            inet_pton(AF_INET6, addr.host.c_str(), t.addr);
        }
        targets.push_back(t);
    }
    xdp_ = std::make_unique<Xdp>();
    xdp_->program = std::make_unique<xdp::Program>(xdp_iface_, targets);
    const char* bind_mode = "copy";
    for (unsigned q = 0; q < xdp_->program->queues(); ++q) {
        auto t = std::make_unique<QueryThread>(snapshots_, per_worker_, attack_,
                                               QueryThread::Role::kXdp);
        auto sock = std::make_unique<xdp::Socket>(*xdp_->program, q);
        bind_mode = sock->bind_mode();
        t->set_xdp(std::move(sock));
        query_threads_.push_back(std::move(t));
    }
    log::info("xdp " + xdp_iface_ + ": UDP through AF_XDP, " +
              std::to_string(xdp_->program->queues()) + " queue(s), " + xdp_->program->mode() +
              " XDP, " + bind_mode + " mode");
#else
    throw std::runtime_error("xdp " + xdp_iface_ +
                             ": this dnslb was built without AF_XDP support (meson -Dxdp)");
#endif
}

void Server::start() {
    for (auto& w : query_threads_) {
        threads_.emplace_back([wp = w.get()] { wp->run(); });
    }
}

void Server::stop() {
    for (auto& w : query_threads_) {
        w->request_stop();
    }
    for (auto& t : threads_) {
        if (t.joinable()) {
            t.join();
        }
    }
    threads_.clear();
}

void Server::wake() {
    for (auto& w : query_threads_) {
        w->wake();
    }
}

std::vector<ThreadEpoch*> Server::epochs() {
    std::vector<ThreadEpoch*> out;
    for (auto& w : query_threads_) {
        out.push_back(&w->epoch);
    }
    return out;
}

void Server::set_demand(const std::vector<DemandTable*>& tables) {
    for (size_t i = 0; i < query_threads_.size(); ++i) {
        query_threads_[i]->set_demand(i < tables.size() ? tables[i] : nullptr);
    }
}

void Server::set_query_log(QueryLog* log) {
    for (size_t i = 0; i < query_threads_.size(); ++i) {
        query_threads_[i]->set_query_log(log != nullptr ? log->ring(i) : nullptr);
    }
}

std::vector<ThreadGuard*> Server::guards() {
    std::vector<ThreadGuard*> out;
    for (auto& w : query_threads_) {
        out.push_back(&w->guard);
    }
    return out;
}

std::vector<const ThreadGuard*> Server::guards() const {
    std::vector<const ThreadGuard*> out;
    for (const auto& w : query_threads_) {
        out.push_back(&w->guard);
    }
    return out;
}

std::vector<const Stats*> Server::stats() const {
    std::vector<const Stats*> out;
    for (const auto& w : query_threads_) {
        out.push_back(&w->stats);
    }
    return out;
}

}  // namespace dnslb::server
