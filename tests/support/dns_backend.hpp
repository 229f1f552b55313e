// A DNS server for the health-check tests (unit and e2e): UDP on ip:port, answering every
// query after its question with one A record, an empty NOERROR, SERVFAIL, or nothing at all.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace dnslb::test {

class DnsBackend {
public:
    enum class Mode { kAnswer, kEmpty, kServfail, kSilent };

    // Port 0: a free port, read back with port(). Throws std::runtime_error if it cannot bind.
    explicit DnsBackend(std::string ip = "127.0.0.1", uint16_t port = 0);
    ~DnsBackend();
    DnsBackend(const DnsBackend&) = delete;
    DnsBackend& operator=(const DnsBackend&) = delete;

    void set_mode(Mode m) { mode_ = m; }
    int queries() const { return queries_; }
    uint16_t port() const { return port_; }

private:
    void serve();

    std::string ip_;
    uint16_t port_ = 0;
    int fd_ = -1;
    std::atomic<bool> stop_{false};
    std::atomic<Mode> mode_{Mode::kAnswer};
    std::atomic<int> queries_{0};
    std::thread thread_;
};

}  // namespace dnslb::test
