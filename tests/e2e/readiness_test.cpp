// Readiness for systemd (Type=notify): the test is the service manager. It listens on a
// NOTIFY_SOCKET of its own and checks that READY=1 comes only once every listener answers and
// the start-up health round is over, that a reload is bracketed by RELOADING=1 and READY=1,
// and that shutdown says STOPPING=1.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/e2e/checks.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/e2e/zone_json.hpp"

using namespace dnslb::e2e;

namespace {

using Clock = std::chrono::steady_clock;

// The service manager's end of the protocol: a datagram socket bound to a path.
class NotifySocket {
public:
    explicit NotifySocket(const std::string& path) : path_(path) {
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        REQUIRE(path.size() < sizeof(sa.sun_path));
        path.copy(sa.sun_path, path.size());
        REQUIRE(fd_ >= 0);
        REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0);
    }
    ~NotifySocket() { close(fd_); }
    NotifySocket(const NotifySocket&) = delete;
    NotifySocket& operator=(const NotifySocket&) = delete;

    // The next message, or "" when none comes within `timeout`.
    std::string receive(std::chrono::milliseconds timeout) const {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
            return "";
        }
        char buf[4096];
        ssize_t n = recv(fd_, buf, sizeof(buf), 0);
        return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    }
    // Messages until one contains `want` (returned last), or until `timeout` has passed.
    std::vector<std::string> until(const std::string& want, std::chrono::milliseconds timeout) {
        std::vector<std::string> seen;
        auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            std::string m = receive(std::max(left, 1ms));
            if (!m.empty()) {
                seen.push_back(m);
                if (m.find(want) != std::string::npos) {
                    break;
                }
            }
        }
        return seen;
    }
    const std::string& path() const { return path_; }

private:
    std::string path_;
    int fd_ = -1;
};

bool has_line(const std::string& message, const std::string& line) {
    return ("\n" + message + "\n").find("\n" + line + "\n") != std::string::npos;
}

// A TCP port on a loopback address that accepts connections into its backlog and never reads:
// a connect check against it succeeds, an HTTP check connects and then times out.
class SilentListener {
public:
    explicit SilentListener(const char* address) {
        fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        REQUIRE(inet_pton(AF_INET, address, &sa.sin_addr) == 1);
        socklen_t len = sizeof(sa);
        REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&sa), len) == 0);
        REQUIRE(listen(fd_, 64) == 0);
        REQUIRE(getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
        port_ = ntohs(sa.sin_port);
    }
    ~SilentListener() { close(fd_); }
    SilentListener(const SilentListener&) = delete;
    SilentListener& operator=(const SilentListener&) = delete;
    uint16_t port() const { return port_; }

private:
    int fd_ = -1;
    uint16_t port_ = 0;
};

// Pool "web": "ok" is checked by a TCP connect that succeeds, "hung" by an HTTP check whose
// server never answers, so the start-up round takes the check's whole 800 ms timeout and ends
// with "hung" down.
std::string zone_text(uint16_t ok_port, uint16_t hung_port) {
    return zone_json("ready.example.", R"(    "@":   { "NS": ["ns1"] },
    "ns1": { "A": ["192.0.2.1"] },
    "app": { "pool": "web" })",
                     1,
                     R"(  "pools": {
    "web": {
      "steering": "failover",
      "answers": 2,
      "origins": {
        "ok":   { "addresses": ["127.0.0.1"], "monitor": "connect" },
        "hung": { "addresses": ["127.0.0.2"], "monitor": "silent-http" }
      }
    }
  },
  "monitors": {
    "connect": { "type": "tcp", "port": )" +
                         std::to_string(ok_port) + R"(, "interval": 1, "timeout": "800ms" },
    "silent-http": { "type": "http", "port": )" +
                         std::to_string(hung_port) +
                         R"(, "interval": 1, "timeout": "800ms", "fall": 1 }
  })");
}

}  // namespace

TEST_CASE(
    "READY=1 only once every listener answers; RELOADING=1 and READY=1 around a reload; "
    "STOPPING=1 at shutdown",
    "[e2e][lifecycle][readiness]") {
    TempDir dir;
    SilentListener ok_backend("127.0.0.1");
    SilentListener hung_backend("127.0.0.2");
    dir.write("ready.example.json", zone_text(ok_backend.port(), hung_backend.port()));
    NotifySocket notify(dir.path() + "/notify");

    ServerOptions o;
    o.zones_dir = dir.path();
    o.listen_v6 = true;  // two listeners: 127.0.0.1 and ::1, UDP and TCP each
    o.env = {"NOTIFY_SOCKET=" + notify.path()};
    o.wait_for_answer = false;
    Server srv(o);
    auto started = Clock::now();
    E2E_START(srv);

    auto first = notify.until("READY=1", 10s);
    auto ready_after = Clock::now() - started;
    INFO("stderr:\n" << srv.stderr_text());
    REQUIRE(!first.empty());
    const std::string& ready = first.back();
    REQUIRE(has_line(ready, "READY=1"));
    // Nothing announced readiness before: the first message is READY=1 itself.
    CHECK(first.size() == 1);
    // The start-up round waited for the silent HTTP check's 800 ms timeout before READY=1.
    CHECK(ready_after >= 800ms);
    CHECK(has_line(ready, "STATUS=serving 1 zone; 1 pool, 1 of 2 origins down"));

    // At READY=1, each listener answers its first query, over UDP and over TCP, and the answer
    // already skips the origin the start-up round found down.
    for (bool v6 : {false, true}) {
        for (Transport t : kBoth) {
            INFO((v6 ? "::1 " : "127.0.0.1 ") << transport_name(t));
            Bytes q = make_query("app.ready.example.", LDNS_RR_TYPE_A);
            auto wire = t == Transport::kUdp ? udp_exchange(srv.port(), q, 500ms, v6)
                                             : tcp_exchange(srv.port(), q, 500ms, v6);
            REQUIRE(wire);
            Reply r{*wire, walk(*wire), parse(*wire)};
            check_answer(r, "app.ready.example.", LDNS_RR_TYPE_A, {"127.0.0.1"});
        }
    }

    // A reload: RELOADING=1 first, then READY=1 with the status line.
    srv.signal(SIGHUP);
    auto reload = notify.until("READY=1", 10s);
    REQUIRE(reload.size() >= 2);
    CHECK(has_line(reload.front(), "RELOADING=1"));
    CHECK(has_line(reload.back(), "READY=1"));
    CHECK(has_line(reload.back(), "STATUS=serving 1 zone; 1 pool, 1 of 2 origins down"));
    for (size_t i = 1; i + 1 < reload.size(); ++i) {
        CHECK_FALSE(has_line(reload[i], "READY=1"));  // one READY=1 per reload, at its end
    }

    // A reload that fails still ends with READY=1 (the old zone keeps serving) and says so.
    dir.write("ready.example.json", "{ \"origin\": ");
    srv.signal(SIGHUP);
    auto failed = notify.until("READY=1", 10s);
    REQUIRE(failed.size() >= 2);
    CHECK(has_line(failed.front(), "RELOADING=1"));
    CHECK(failed.back().find("last reload: 1 errors") != std::string::npos);

    srv.signal(SIGTERM);
    auto stopping = notify.until("STOPPING=1", 5s);
    REQUIRE(!stopping.empty());
    CHECK(has_line(stopping.back(), "STOPPING=1"));
    E2E_STOP_CLEAN(srv);
}

TEST_CASE("without NOTIFY_SOCKET the server starts as before", "[e2e][lifecycle][readiness]") {
    TempDir dir;
    SilentListener ok_backend("127.0.0.1");
    SilentListener hung_backend("127.0.0.2");
    dir.write("ready.example.json", zone_text(ok_backend.port(), hung_backend.port()));
    ServerOptions o;
    o.zones_dir = dir.path();
    o.env = {"NOTIFY_SOCKET="};  // set but empty, as after sd_notify's unset: no notification
    Server srv(o);
    E2E_START(srv);
    auto r = ask(Transport::kUdp, srv.port(), "app.ready.example.", LDNS_RR_TYPE_A);
    REQUIRE(r);
    check_answer(*r, "app.ready.example.", LDNS_RR_TYPE_A, {"127.0.0.1"});
    CHECK(srv.stderr_text().find("notification failed") == std::string::npos);
    E2E_STOP_CLEAN(srv);
}
