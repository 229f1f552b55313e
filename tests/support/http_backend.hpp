// An HTTP server for the health-check tests (unit and e2e): HTTP/1.1 on ip:port (IPv4 or IPv6
// text), one connection at a time, `Connection: close`. Also the target of tcp monitors (a
// connect that is accepted and closed counts as a connection).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

namespace dnslb::test {

class HttpBackend {
public:
    // Starts listening at once (port 0: a free port, read back with port()); throws
    // std::runtime_error when the address cannot be bound.
    explicit HttpBackend(std::string ip = "127.0.0.1", uint16_t port = 0);
    ~HttpBackend();
    HttpBackend(const HttpBackend&) = delete;
    HttpBackend& operator=(const HttpBackend&) = delete;

    // Closes the listening socket: later connects are refused. Idempotent.
    void stop();
    // Listens again on the same address and port (after stop()). Throws when it cannot bind.
    void start();
    bool running() const { return fd_ >= 0; }

    void set_status(int status) { status_ = status; }
    void set_delay_ms(int ms) { delay_ms_ = ms; }
    void set_body(std::string body);
    int requests() const { return requests_; }
    // Requests by the client's address (IPv4/IPv6 text).
    std::map<std::string, int> requests_by_source() const;
    void clear_counts();
    // Connections from these client addresses are closed at once, without an answer: the
    // backend looks down to those clients only.
    void set_refused(std::set<std::string> sources);
    int connections() const { return connections_; }
    // The request line and headers of the last request.
    std::string last_request() const;
    const std::string& ip() const { return ip_; }
    uint16_t port() const { return port_; }

private:
    void serve();
    void handle(int conn, const std::string& peer);

    std::string ip_;
    uint16_t port_ = 0;
    int fd_ = -1;
    std::atomic<bool> stop_{false};
    std::atomic<int> status_{200};
    std::atomic<int> delay_ms_{0};
    std::atomic<int> requests_{0};
    std::atomic<int> connections_{0};
    mutable std::mutex mutex_;
    std::string body_ = "ok\n";
    std::string last_request_;
    std::map<std::string, int> by_source_;
    std::set<std::string> refused_;
    std::thread thread_;
};

}  // namespace dnslb::test
