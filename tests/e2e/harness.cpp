#include "tests/e2e/harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#ifndef DNSLB_BINARY
#error "DNSLB_BINARY must name the dnslb executable"
#endif
#ifndef DNSLB_SOURCE_ROOT
#error "DNSLB_SOURCE_ROOT must name the source tree"
#endif

namespace dnslb::e2e {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// After one server failed to come up, the others are given less time: a broken build should
// fail the suite quickly, not run into the test timeout.
int g_failed_starts = 0;

// One generator per thread: the tests build queries from several threads at once.
std::mt19937& rng() {
    static thread_local std::mt19937 gen{std::random_device{}()};
    return gen;
}

int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return static_cast<int>(std::max<int64_t>(0, left.count()));
}

bool fill_addr(uint16_t port, bool v6, sockaddr_storage& ss, socklen_t& len) {
    std::memset(&ss, 0, sizeof ss);
    if (v6) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        a->sin6_addr = in6addr_loopback;
        len = sizeof *a;
    } else {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a;
    }
    return true;
}

uint16_t bound_port(int fd) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        return 0;
    }
    return ntohs(a.sin_port);
}

bool port_free(int type, uint16_t port) {
    int fd = socket(AF_INET, type, 0);
    if (fd < 0) {
        return false;
    }
    sockaddr_storage ss{};
    socklen_t len = 0;
    fill_addr(port, false, ss, len);
    bool ok = bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0;
    close(fd);
    return ok;
}

}  // namespace

std::string source_root() { return DNSLB_SOURCE_ROOT; }
std::string test_zones_dir() { return source_root() + "/tests/e2e/zones"; }
std::string example_zones_dir() { return source_root() + "/zones"; }

// ---- TempDir ---------------------------------------------------------------------------------

TempDir::TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "dnslb-e2e-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
        throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
    }
    path_ = tmpl;
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

void TempDir::write(const std::string& name, std::string_view text) const {
    std::ofstream out(path_ + "/" + name, std::ios::binary);
    out << text;
    if (!out) {
        throw std::runtime_error("cannot write " + path_ + "/" + name);
    }
}

void TempDir::copy_from(const std::string& dir, const std::string& name) const {
    fs::copy_file(dir + "/" + name, path_ + "/" + name, fs::copy_options::overwrite_existing);
}

// ---- Server ----------------------------------------------------------------------------------

uint16_t pick_free_port() {
    for (int attempt = 0; attempt < 50; ++attempt) {
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        if (fd < 0) {
            continue;
        }
        sockaddr_storage ss{};
        socklen_t len = 0;
        fill_addr(0, false, ss, len);
        uint16_t port = 0;
        if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) {
            port = bound_port(fd);
        }
        close(fd);
        if (port != 0 && port_free(SOCK_STREAM, port)) {
            return port;
        }
    }
    throw std::runtime_error("no free loopback port");
}

Server::Server(ServerOptions options) : options_(std::move(options)) {
    stderr_path_ = log_dir_.path() + "/stderr.log";
}

Server::~Server() {
    if (pid_ > 0) {
        stop(SIGKILL);
    }
}

std::string Server::stderr_text() const {
    std::ifstream in(stderr_path_, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool Server::exited_early() {
    if (pid_ <= 0) {
        return true;
    }
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
        early_exit_.exited = WIFEXITED(status);
        early_exit_.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        early_exit_.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        pid_ = -1;
        return true;
    }
    return false;
}

bool Server::start() {
    port_ = options_.port != 0 ? options_.port : pick_free_port();
    std::vector<std::string> args{DNSLB_BINARY, "serve"};
    if (!options_.config_file.empty()) {
        args.insert(args.end(), {"--config", options_.config_file});
    }
    if (!options_.zones_dir.empty()) {
        args.insert(args.end(), {"--zones", options_.zones_dir});
    }
    if (options_.pass_listen) {
        args.insert(args.end(), {"--listen", "127.0.0.1:" + std::to_string(port_)});
        if (options_.listen_v6) {
            args.insert(args.end(), {"--listen", "[::1]:" + std::to_string(port_)});
        }
    }
    args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());

    std::vector<char*> argv;
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);

    int log_fd = open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    if (log_fd < 0) {
        error_ = "cannot open " + stderr_path_;
        return false;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(log_fd);
        error_ = "fork failed";
        return false;
    }
    if (pid == 0) {
        int null_fd = open("/dev/null", O_RDWR);
        dup2(null_fd, STDIN_FILENO);
        dup2(log_fd, STDOUT_FILENO);
        dup2(log_fd, STDERR_FILENO);
        for (auto& e : options_.env) {
            putenv(e.data());
        }
        execv(argv[0], argv.data());
        std::fprintf(stderr, "exec %s: %s\n", argv[0], std::strerror(errno));
        _exit(127);
    }
    close(log_fd);
    pid_ = pid;
    if (!options_.wait_for_answer) {
        return true;
    }
    auto budget = g_failed_starts > 0 ? std::chrono::milliseconds(3000) : 10000ms;
    if (!wait_ready(budget)) {
        ++g_failed_starts;
        std::string log = stderr_text();
        if (log.size() > 2000) {
            log = log.substr(0, 2000) + "...";
        }
        error_ += "\nserver stderr:\n" + log;
        if (pid_ > 0) {
            stop(SIGKILL);
        }
        return false;
    }
    return true;
}

bool Server::wait_ready(std::chrono::milliseconds budget) {
    auto deadline = Clock::now() + budget;
    bool udp_ok = false;
    while (Clock::now() < deadline) {
        if (exited_early()) {
            error_ = "dnslb exited during start-up (status " + std::to_string(early_exit_.status) +
                     ", signal " + std::to_string(early_exit_.signal) + ")";
            return false;
        }
        if (!udp_ok) {
            // Any reply will do, even REFUSED: the server is reading its socket.
            udp_ok =
                udp_exchange(port_, make_query("ready.probe.invalid.", LDNS_RR_TYPE_SOA), 150ms)
                    .has_value();
        }
        if (udp_ok) {
            TcpConnection tcp(port_);
            if (tcp.connected()) {
                return true;
            }
        }
        // Short: the first moment the server answers is also the moment a supervisor may
        // already signal it, and the tests want to see that moment.
        std::this_thread::sleep_for(5ms);
    }
    error_ = "dnslb did not answer on port " + std::to_string(port_) + " within " +
             std::to_string(budget.count()) + " ms";
    return false;
}

void Server::signal(int sig) const {
    if (pid_ > 0) {
        kill(pid_, sig);
    }
}

ExitInfo Server::stop(int sig) {
    if (pid_ <= 0) {
        return early_exit_;
    }
    kill(pid_, sig);
    ExitInfo info;
    auto deadline = Clock::now() + 5s;
    int status = 0;
    pid_t r = 0;
    while ((r = waitpid(pid_, &status, WNOHANG)) == 0 && Clock::now() < deadline) {
        std::this_thread::sleep_for(10ms);
    }
    if (r == 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        info.signal = SIGKILL;
        pid_ = -1;
        return info;  // did not stop in time: never clean
    }
    info.exited = WIFEXITED(status);
    info.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    info.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    pid_ = -1;
    return info;
}

// ---- Query construction ----------------------------------------------------------------------

Bytes make_query(const std::string& name, ldns_rr_type type, const QueryOptions& options) {
    ldns_rdf* qname = nullptr;
    if (ldns_str2rdf_dname(&qname, name.c_str()) != LDNS_STATUS_OK) {
        throw std::runtime_error("bad query name " + name);
    }
    ldns_pkt* pkt = ldns_pkt_query_new(qname, type, options.klass, options.rd ? LDNS_RD : 0);
    uint16_t id = options.id != 0
                      ? options.id
                      : static_cast<uint16_t>(std::uniform_int_distribution<int>(1, 65535)(rng()));
    ldns_pkt_set_id(pkt, id);
    if (options.edns) {
        ldns_pkt_set_edns_udp_size(pkt, options.edns->udp_size);
        ldns_pkt_set_edns_version(pkt, options.edns->version);
        ldns_pkt_set_edns_do(pkt, options.edns->dnssec_ok);
        if (!options.edns->options.empty()) {
            ldns_pkt_set_edns_data(
                pkt, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_UNKNOWN, options.edns->options.size(),
                                           options.edns->options.data()));
        }
    }
    uint8_t* wire = nullptr;
    size_t size = 0;
    ldns_status st = ldns_pkt2wire(&wire, pkt, &size);
    ldns_pkt_free(pkt);
    if (st != LDNS_STATUS_OK) {
        throw std::runtime_error("ldns_pkt2wire failed");
    }
    Bytes out(wire, wire + size);
    std::free(wire);
    return out;
}

Bytes make_header(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar) {
    Bytes out;
    for (uint16_t v : {id, flags, qd, an, ns, ar}) {
        out.push_back(static_cast<uint8_t>(v >> 8));
        out.push_back(static_cast<uint8_t>(v & 0xff));
    }
    return out;
}

Bytes wire_name(std::string_view text) {
    Bytes out;
    while (!text.empty() && text != ".") {
        size_t dot = text.find('.');
        std::string_view label = text.substr(0, dot);
        out.push_back(static_cast<uint8_t>(label.size()));
        out.insert(out.end(), label.begin(), label.end());
        if (dot == std::string_view::npos) {
            break;
        }
        text.remove_prefix(dot + 1);
    }
    out.push_back(0);
    return out;
}

Bytes wire_question(std::string_view name, uint16_t type, uint16_t klass) {
    Bytes out = wire_name(name);
    out.insert(out.end(), {static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type & 0xff),
                           static_cast<uint8_t>(klass >> 8), static_cast<uint8_t>(klass & 0xff)});
    return out;
}

Bytes wire_opt(uint16_t udp_size, uint8_t ext_rcode, uint8_t version, uint16_t flags,
               const Bytes& options) {
    Bytes out{0, 0, 41};  // root owner, TYPE OPT
    out.insert(
        out.end(),
        {static_cast<uint8_t>(udp_size >> 8), static_cast<uint8_t>(udp_size & 0xff), ext_rcode,
         version, static_cast<uint8_t>(flags >> 8), static_cast<uint8_t>(flags & 0xff),
         static_cast<uint8_t>(options.size() >> 8), static_cast<uint8_t>(options.size() & 0xff)});
    append(out, options);
    return out;
}

void append(Bytes& out, const Bytes& more) { out.insert(out.end(), more.begin(), more.end()); }

uint16_t wire_id(const Bytes& wire) {
    return wire.size() < 2 ? 0 : static_cast<uint16_t>(wire[0] << 8 | wire[1]);
}

// ---- Transport -------------------------------------------------------------------------------

const char* transport_name(Transport t) { return t == Transport::kUdp ? "udp" : "tcp"; }

UdpBurst::UdpBurst(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    // Room for every answer of a burst while the test is not reading yet (FORCE: as root,
    // past net.core.rmem_max).
    int size = 4 << 20;
    if (fd_ >= 0 && setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0) {
        setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    }
    sockaddr_storage ss{};
    socklen_t len = 0;
    fill_addr(port, false, ss, len);
    if (fd_ >= 0 && connect(fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
        close(fd_);
        fd_ = -1;
    }
}

UdpBurst::~UdpBurst() {
    if (fd_ >= 0) {
        close(fd_);
    }
}

void UdpBurst::send(Bytes query, int n) {
    for (int i = 0; i < n && fd_ >= 0; ++i) {
        query[0] = static_cast<uint8_t>(0x40 + (i >> 8));
        query[1] = static_cast<uint8_t>(i);
        ::send(fd_, query.data(), query.size(), 0);
    }
}

int UdpBurst::answers(int expected, std::chrono::milliseconds wait) {
    int got = 0;
    auto deadline = Clock::now() + wait;
    while (fd_ >= 0 && Clock::now() < deadline && got < expected) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0) {
            continue;
        }
        uint8_t buf[4096];
        ssize_t r = recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
        if (r <= 0) {
            continue;
        }
        if (answered(Bytes(buf, buf + r))) {
            ++got;
        }
    }
    return got;
}

std::optional<Bytes> udp_exchange(uint16_t port, const Bytes& query,
                                  std::chrono::milliseconds timeout, bool v6) {
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        return std::nullopt;
    }
    sockaddr_storage ss{};
    socklen_t len = 0;
    fill_addr(port, v6, ss, len);
    std::optional<Bytes> result;
    if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0 &&
        send(fd, query.data(), query.size(), 0) == static_cast<ssize_t>(query.size())) {
        auto deadline = Clock::now() + timeout;
        // A fresh socket per exchange: whatever arrives on it is the answer to this query.
        pollfd p{fd, POLLIN, 0};
        while (!result) {
            int left = remaining_ms(deadline);
            if (poll(&p, 1, left) <= 0) {
                break;
            }
            std::array<uint8_t, 65535> buf{};
            ssize_t n = recv(fd, buf.data(), buf.size(), 0);
            if (n >= 0) {
                result = Bytes(buf.begin(), buf.begin() + n);
            } else if (errno != EINTR && errno != EAGAIN) {
                break;  // e.g. ECONNREFUSED: nobody listens yet
            }
        }
    }
    close(fd);
    return result;
}

TcpConnection::TcpConnection(uint16_t port, bool v6) {
    fd_ = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) {
        return;
    }
    sockaddr_storage ss{};
    socklen_t len = 0;
    fill_addr(port, v6, ss, len);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
        close(fd_);
        fd_ = -1;
    }
}

TcpConnection::~TcpConnection() {
    if (fd_ >= 0) {
        close(fd_);
    }
}

void TcpConnection::reset() {
    if (fd_ < 0) {
        return;
    }
    linger l{1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd_);
    fd_ = -1;
}

namespace {

// Repeats `step(done)` (a send or recv of what is left; the bytes moved, 0 or -1) until `n`
// bytes are done; false at the first close or error other than EINTR.
template <typename Step>
bool transfer_all(size_t n, const Step& step) {
    size_t done = 0;
    while (done < n) {
        ssize_t r = step(done);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return false;
        }
        done += static_cast<size_t>(r);
    }
    return true;
}

}  // namespace

bool send_all(int fd, const uint8_t* data, size_t len) {
    return transfer_all(
        len, [&](size_t done) { return send(fd, data + done, len - done, MSG_NOSIGNAL); });
}

bool send_framed(int fd, const Bytes& message) {
    Bytes framed{static_cast<uint8_t>(message.size() >> 8),
                 static_cast<uint8_t>(message.size() & 0xff)};
    append(framed, message);
    return send_all(fd, framed.data(), framed.size());
}

bool read_exact(int fd, uint8_t* out, size_t n, Clock::time_point deadline) {
    return transfer_all(n, [&](size_t done) -> ssize_t {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, remaining_ms(deadline)) <= 0) {
            return 0;  // timeout or poll error: give up
        }
        return recv(fd, out + done, n - done, 0);
    });
}

std::optional<Bytes> read_framed(int fd, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    std::array<uint8_t, 2> len{};
    if (!read_exact(fd, len.data(), len.size(), deadline)) {
        return std::nullopt;
    }
    Bytes msg(static_cast<size_t>(len[0] << 8 | len[1]));
    if (!read_exact(fd, msg.data(), msg.size(), deadline)) {
        return std::nullopt;
    }
    return msg;
}

bool TcpConnection::send_raw(const Bytes& bytes) {
    return fd_ >= 0 && send_all(fd_, bytes.data(), bytes.size());
}

bool TcpConnection::send_message(const Bytes& message) {
    return fd_ >= 0 && send_framed(fd_, message);
}

std::optional<Bytes> TcpConnection::receive_message(std::chrono::milliseconds timeout) {
    if (fd_ < 0) {
        return std::nullopt;
    }
    return read_framed(fd_, timeout);
}

bool TcpConnection::wait_closed(std::chrono::milliseconds timeout) {
    if (fd_ < 0) {
        return true;
    }
    auto deadline = Clock::now() + timeout;
    while (true) {
        pollfd p{fd_, POLLIN, 0};
        int left = remaining_ms(deadline);
        if (poll(&p, 1, left) <= 0) {
            return false;
        }
        std::array<uint8_t, 512> buf{};
        ssize_t r = recv(fd_, buf.data(), buf.size(), 0);
        if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
            return true;
        }
        // Data on an idle connection is unexpected but not a close; keep waiting.
    }
}

std::optional<Bytes> tcp_exchange(uint16_t port, const Bytes& query,
                                  std::chrono::milliseconds timeout, bool v6) {
    TcpConnection conn(port, v6);
    if (!conn.connected() || !conn.send_message(query)) {
        return std::nullopt;
    }
    return conn.receive_message(timeout);
}

std::optional<Bytes> exchange(Transport t, uint16_t port, const Bytes& query,
                              std::chrono::milliseconds timeout) {
    return t == Transport::kUdp ? udp_exchange(port, query, timeout)
                                : tcp_exchange(port, query, timeout);
}

// ---- Response inspection ---------------------------------------------------------------------

Pkt parse(const Bytes& wire) {
    ldns_pkt* pkt = nullptr;
    if (ldns_wire2pkt(&pkt, wire.data(), wire.size()) != LDNS_STATUS_OK) {
        return nullptr;
    }
    return Pkt(pkt);
}

Header header(const Bytes& w) {
    Header h;
    if (w.size() < 12) {
        return h;
    }
    auto u16 = [&](size_t i) { return static_cast<uint16_t>(w[i] << 8 | w[i + 1]); };
    h.id = u16(0);
    h.qr = (w[2] & 0x80) != 0;
    h.opcode = static_cast<uint8_t>((w[2] >> 3) & 0x0f);
    h.aa = (w[2] & 0x04) != 0;
    h.tc = (w[2] & 0x02) != 0;
    h.rd = (w[2] & 0x01) != 0;
    h.ra = (w[3] & 0x80) != 0;
    h.ad = (w[3] & 0x20) != 0;
    h.cd = (w[3] & 0x10) != 0;
    h.rcode = static_cast<uint8_t>(w[3] & 0x0f);
    h.qdcount = u16(4);
    h.ancount = u16(6);
    h.nscount = u16(8);
    h.arcount = u16(10);
    return h;
}

bool answered(const Bytes& wire) {
    Header h = header(wire);
    return h.qr && !h.tc && h.rcode == 0 && h.ancount > 0;
}

namespace {

// Reads a possibly compressed name at `pos`; advances `pos` past it in the message.
bool read_name(const Bytes& w, size_t& pos, std::string& out) {
    out.clear();
    size_t p = pos;
    bool jumped = false;
    int hops = 0;
    while (true) {
        if (p >= w.size()) {
            return false;
        }
        uint8_t len = w[p];
        if ((len & 0xc0) == 0xc0) {
            if (p + 1 >= w.size() || ++hops > 64) {
                return false;
            }
            if (!jumped) {
                pos = p + 2;
            }
            jumped = true;
            p = static_cast<size_t>((len & 0x3f) << 8 | w[p + 1]);
            continue;
        }
        if ((len & 0xc0) != 0) {
            return false;
        }
        if (len == 0) {
            if (!jumped) {
                pos = p + 1;
            }
            if (out.empty()) {
                out = ".";
            }
            return true;
        }
        if (p + 1 + len > w.size()) {
            return false;
        }
        for (size_t i = 0; i < len; ++i) {
            out.push_back(static_cast<char>(std::tolower(w[p + 1 + i])));
        }
        out.push_back('.');
        p += 1 + len;
    }
}

bool read_rr(const Bytes& w, size_t& pos, WireRr& rr) {
    rr.owner_offset = pos;
    if (!read_name(w, pos, rr.owner) || pos + 10 > w.size()) {
        return false;
    }
    auto u16 = [&](size_t i) { return static_cast<uint16_t>(w[i] << 8 | w[i + 1]); };
    rr.type = u16(pos);
    rr.klass = u16(pos + 2);
    rr.ttl = static_cast<uint32_t>(u16(pos + 4)) << 16 | u16(pos + 6);
    size_t rdlen = u16(pos + 8);
    pos += 10;
    if (pos + rdlen > w.size()) {
        return false;
    }
    rr.rdata.assign(w.begin() + static_cast<std::ptrdiff_t>(pos),
                    w.begin() + static_cast<std::ptrdiff_t>(pos + rdlen));
    pos += rdlen;
    return true;
}

}  // namespace

Message walk(const Bytes& w) {
    Message m;
    if (w.size() < 12) {
        return m;
    }
    m.hdr = header(w);
    size_t pos = 12;
    std::string name;
    for (unsigned i = 0; i < m.hdr.qdcount; ++i) {
        if (!read_name(w, pos, name) || pos + 4 > w.size()) {
            return m;
        }
        pos += 4;
    }
    m.question_end = pos;
    std::array<std::pair<std::vector<WireRr>*, uint16_t>, 3> sections{
        {{&m.answer, m.hdr.ancount},
         {&m.authority, m.hdr.nscount},
         {&m.additional, m.hdr.arcount}}};
    for (auto& [list, count] : sections) {
        for (unsigned i = 0; i < count; ++i) {
            WireRr rr;
            if (!read_rr(w, pos, rr)) {
                return m;
            }
            list->push_back(std::move(rr));
        }
    }
    m.ok = pos == w.size();
    return m;
}

std::vector<const WireRr*> opt_records(const Message& m) {
    std::vector<const WireRr*> out;
    for (const auto& rr : m.additional) {
        if (rr.type == LDNS_RR_TYPE_OPT) {
            out.push_back(&rr);
        }
    }
    return out;
}

unsigned full_rcode(const Message& m) {
    unsigned rcode = m.hdr.rcode;
    auto opts = opt_records(m);
    if (!opts.empty()) {
        rcode |= (opts.front()->ttl >> 24) << 4;
    }
    return rcode;
}

std::vector<std::string> rr_strings(const ldns_rr_list* list) {
    std::vector<std::string> out;
    for (size_t i = 0; list != nullptr && i < ldns_rr_list_rr_count(list); ++i) {
        char* s = ldns_rr2str(ldns_rr_list_rr(list, i));
        std::string text = s != nullptr ? s : "";
        std::free(s);
        while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
            text.pop_back();
        }
        out.push_back(text);
    }
    return out;
}

std::string to_text(const Bytes& wire) {
    Pkt pkt = parse(wire);
    if (!pkt) {
        return "<unparsable, " + std::to_string(wire.size()) + " bytes>";
    }
    char* s = ldns_pkt2str(pkt.get());
    std::string text = s != nullptr ? s : "";
    std::free(s);
    return text;
}

std::string rdata_text(const ldns_rr* rr) {
    std::string out;
    for (size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
        char* s = ldns_rdf2str(ldns_rr_rdf(rr, i));
        if (!out.empty()) {
            out += ' ';
        }
        out += s != nullptr ? s : "";
        std::free(s);
    }
    return out;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string run_command(const std::string& command, int* status) {
    std::string out;
    FILE* p = popen(command.c_str(), "r");
    if (p == nullptr) {
        if (status != nullptr) {
            *status = -1;
        }
        return out;
    }
    std::array<char, 4096> buf{};
    size_t n = 0;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) {
        out.append(buf.data(), n);
    }
    int st = pclose(p);
    if (status != nullptr) {
        *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    }
    return out;
}

}  // namespace dnslb::e2e
