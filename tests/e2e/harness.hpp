// End-to-end harness: runs the real dnslb binary on a free loopback port and talks to it over
// real UDP and TCP sockets. The tests never link the server library; what they see is what a
// resolver sees.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dnslb/base/ldns.hpp"
#include "tests/support/no_copy.hpp"

namespace dnslb::e2e {

using Bytes = std::vector<uint8_t>;
using namespace std::chrono_literals;

// The test zones (tests/e2e/zones) and the example zones (zones/) of the source tree.
std::string source_root();
std::string test_zones_dir();
std::string example_zones_dir();

// A temporary directory removed (with its files) on destruction.
class TempDir : test::NoCopy {
public:
    TempDir();
    ~TempDir();

    const std::string& path() const { return path_; }
    void write(const std::string& name, std::string_view text) const;
    // Copies one file of `dir` into this directory under the same name.
    void copy_from(const std::string& dir, const std::string& name) const;

private:
    std::string path_;
};

struct ServerOptions {
    std::string zones_dir;                // --zones; empty: not passed
    std::vector<std::string> extra_args;  // appended after the generated ones
    bool listen_v6 = false;               // also --listen [::1]:PORT (same port)
    std::string config_file;              // --config FILE (with the options above, if any)
    bool pass_listen = true;              // false: the config file names the port
    uint16_t port = 0;                    // 0: pick a free one
    std::vector<std::string> env;         // NAME=VALUE added to the server's environment
    bool wait_for_answer = true;          // false: start() returns once the process runs
};

// Exit of a stopped server: `exited` with `status`, or killed by `signal`.
struct ExitInfo {
    bool exited = false;
    int status = -1;
    int signal = 0;
    bool clean() const { return exited && status == 0; }
};

// One dnslb process. start() returns false (with a reason in error()) when the binary exits
// early or does not answer a probe query in time.
class Server : test::NoCopy {
public:
    explicit Server(ServerOptions options);
    ~Server();

    bool start();
    // Sends `sig` (SIGTERM by default) and waits up to 5 s; SIGKILL after that.
    ExitInfo stop(int sig = SIGTERM);
    // Sends `sig` without waiting (e.g. SIGHUP to reload).
    void signal(int sig) const;
    bool running() const { return pid_ > 0; }
    pid_t pid() const { return pid_; }
    uint16_t port() const { return port_; }
    const std::string& error() const { return error_; }
    // Everything the server wrote to stderr so far.
    std::string stderr_text() const;
    // True once the process has exited on its own (checked without blocking).
    bool exited_early();

private:
    bool wait_ready(std::chrono::milliseconds budget);

    ServerOptions options_;
    pid_t pid_ = -1;
    uint16_t port_ = 0;
    std::string error_;
    TempDir log_dir_;
    std::string stderr_path_;
    ExitInfo early_exit_;
};

// A free port on 127.0.0.1 for both UDP and TCP (bind port 0, then check the other protocol).
uint16_t pick_free_port();

// ---- Query construction ----------------------------------------------------------------------

struct Edns {
    uint16_t udp_size = 4096;
    uint8_t version = 0;
    bool dnssec_ok = false;
    Bytes options;  // raw option TLVs (code, length, data)
};

struct QueryOptions {
    uint16_t id = 0;  // 0: random
    bool rd = false;
    ldns_rr_class klass = LDNS_RR_CLASS_IN;
    std::optional<Edns> edns;
};

// Built with ldns (ldns_pkt_query_new / ldns_pkt2wire).
Bytes make_query(const std::string& name, ldns_rr_type type, const QueryOptions& options = {});

// Hand-made wire: a header with the given fields and counts, followed by `body` verbatim.
Bytes make_header(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar);
// A wire name from presentation text, keeping the letter case ("WwW.Example." ...).
Bytes wire_name(std::string_view text);
// A question entry: name, type, class.
Bytes wire_question(std::string_view name, uint16_t type, uint16_t klass = 1);
// An OPT pseudo-RR (RFC 6891 section 6.1.2).
Bytes wire_opt(uint16_t udp_size, uint8_t ext_rcode, uint8_t version, uint16_t flags,
               const Bytes& options = {});
void append(Bytes& out, const Bytes& more);
uint16_t wire_id(const Bytes& wire);

// ---- Transport -------------------------------------------------------------------------------

enum class Transport { kUdp, kTcp };
const char* transport_name(Transport t);

// One UDP exchange: sends `query` to 127.0.0.1:port (or ::1 when `v6`) and waits for a reply
// whose ID matches. nullopt on timeout.
std::optional<Bytes> udp_exchange(uint16_t port, const Bytes& query,
                                  std::chrono::milliseconds timeout = 2000ms, bool v6 = false);

// A UDP socket connected to 127.0.0.1:port that sends queries back to back, without waiting,
// and then counts the full answers that come back (NOERROR, not truncated, with an answer).
class UdpBurst : test::NoCopy {
public:
    explicit UdpBurst(uint16_t port);
    ~UdpBurst();
    bool ok() const { return fd_ >= 0; }
    // Sends `n` copies of `query`, each with its own ID.
    void send(Bytes query, int n);
    // Full answers received until `expected` have come or `wait` has passed.
    int answers(int expected, std::chrono::milliseconds wait);

private:
    int fd_ = -1;
};

// A TCP connection with RFC 1035 section 4.2.2 / RFC 7766 two-byte length framing.
class TcpConnection : test::NoCopy {
public:
    TcpConnection(uint16_t port, bool v6 = false);
    ~TcpConnection();

    bool connected() const { return fd_ >= 0; }
    bool send_raw(const Bytes& bytes);
    bool send_message(const Bytes& message);  // adds the length prefix
    // Next framed message, nullopt on timeout, close or error.
    std::optional<Bytes> receive_message(std::chrono::milliseconds timeout = 2000ms);
    // Waits until the peer closes the connection; true when it did within `timeout`.
    bool wait_closed(std::chrono::milliseconds timeout);
    // Closes with a RST (SO_LINGER 0) instead of a FIN.
    void reset();

private:
    int fd_ = -1;
};

// The same on a connected TCP descriptor of the caller's. Sends every byte (MSG_NOSIGNAL,
// retried on EINTR); false on error.
bool send_all(int fd, const uint8_t* data, size_t len);
// Sends `message` with its two-byte length prefix.
bool send_framed(int fd, const Bytes& message);
// Reads exactly `n` bytes before `deadline`; false on close, error or timeout.
bool read_exact(int fd, uint8_t* out, size_t n, std::chrono::steady_clock::time_point deadline);
// The next length-prefixed message; nullopt on timeout, close or error.
std::optional<Bytes> read_framed(int fd, std::chrono::milliseconds timeout);

std::optional<Bytes> tcp_exchange(uint16_t port, const Bytes& query,
                                  std::chrono::milliseconds timeout = 2000ms, bool v6 = false);
std::optional<Bytes> exchange(Transport t, uint16_t port, const Bytes& query,
                              std::chrono::milliseconds timeout = 2000ms);

// ---- Response inspection ---------------------------------------------------------------------

struct PktDeleter {
    void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktDeleter>;

// Parsed with ldns_wire2pkt; null when ldns rejects the bytes.
Pkt parse(const Bytes& wire);

// Header fields read straight from the wire (independent of ldns).
struct Header {
    uint16_t id = 0;
    bool qr = false;
    uint8_t opcode = 0;
    bool aa = false;
    bool tc = false;
    bool rd = false;
    bool ra = false;
    bool ad = false;
    bool cd = false;
    uint8_t rcode = 0;
    uint16_t qdcount = 0;
    uint16_t ancount = 0;
    uint16_t nscount = 0;
    uint16_t arcount = 0;
};
Header header(const Bytes& wire);
// A full answer: a response, NOERROR, not truncated, with at least one answer record.
bool answered(const Bytes& wire);

// A resource record as seen on the wire, names expanded to lower-case presentation text.
struct WireRr {
    std::string owner;
    uint16_t type = 0;
    uint16_t klass = 0;
    uint32_t ttl = 0;
    Bytes rdata;
    size_t owner_offset = 0;  // where the owner name starts in the message
};
struct Message {
    Header hdr;
    std::vector<WireRr> answer;
    std::vector<WireRr> authority;
    std::vector<WireRr> additional;  // includes OPT records
    size_t question_end = 0;         // offset just past the question section
    bool ok = false;                 // false: the walk failed (malformed or truncated)
};
// Walks the message with pointer-loop protection.
Message walk(const Bytes& wire);
std::vector<const WireRr*> opt_records(const Message& m);
// Full 12-bit RCODE: header bits plus the OPT extended bits (RFC 6891 section 6.1.3).
unsigned full_rcode(const Message& m);

// Presentation text of the records of one section (for diagnostics and simple checks).
std::vector<std::string> rr_strings(const ldns_rr_list* list);
std::string to_text(const Bytes& wire);
// The rdata fields of `rr` as presentation text, e.g. {"192.0.2.1"}.
std::string rdata_text(const ldns_rr* rr);

// Lower-cased absolute name text.
std::string lower(std::string s);

// ---- Running external programs ---------------------------------------------------------------

// Runs a shell command, returns its stdout; `status` receives the exit status.
std::string run_command(const std::string& command, int* status = nullptr);

}  // namespace dnslb::e2e
