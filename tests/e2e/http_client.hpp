// A small HTTP client for the API end-to-end tests (libcurl), and readers of the Prometheus
// text that /metrics returns.
#pragma once

#include <cstdint>
#include <string>

namespace dnslb::e2e {

struct HttpReply {
    long status = 0;
    std::string body;
    std::string error;  // transport failure (curl's message); empty when a reply came
};

// One request to 127.0.0.1:`port`; `token` empty: no Authorization header. 10 s timeout.
HttpReply http(const std::string& method, uint16_t port, const std::string& path,
               const std::string& body = "", const std::string& token = "");

// The sample line of `series` (name plus labels exactly as exposed), or "".
std::string metric_line(const std::string& metrics, const std::string& series);
// Its value, or -1 when the series is absent.
double metric_value(const std::string& metrics, const std::string& series);

}  // namespace dnslb::e2e
