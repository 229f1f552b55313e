// An etcd v3 client over the HTTP/JSON gateway (POST /v3/..., keys and values in base64, int64
// numbers as JSON strings) on libcurl. Control plane only: the cluster thread and the API
// thread call it, never a DNS worker.
//
// Thread contract: call() and watch() may run on several threads at once (each builds its own
// curl handle; the endpoint in use and the auth token are shared under a mutex).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dnslb::cluster {

struct EtcdOptions {
    std::vector<std::string> endpoints;  // "http://127.0.0.1:2379", no trailing slash
    std::string ca;
    std::string cert;
    std::string key;
    std::string user;
    std::string password;
    std::string source;  // local address the connections come from; "" = any
};

std::string base64_encode(const std::string& raw);
// nullopt for text that is not base64.
std::optional<std::string> base64_decode(const std::string& text);
// The range_end that makes a range of every key starting with `prefix`.
std::string prefix_end(const std::string& prefix);
// An int64 field as etcd's gateway prints it (a JSON string) or as a number; `fallback` when
// the field is absent (zero values are left out) or not a number.
int64_t int_field(const nlohmann::json& obj, const char* name, int64_t fallback = 0);

class EtcdClient {
public:
    explicit EtcdClient(EtcdOptions options);

    // POST /v3/<path> with `body`: the answer, or nullopt with `error` set. On a transport
    // failure or an unavailable member, the next endpoints are tried in turn.
    std::optional<nlohmann::json> call(const std::string& path, const nlohmann::json& body,
                                       std::string& error, long timeout_ms = 1500);

    // One watch stream (POST /v3/watch with `create_request`) on the current endpoint: every
    // JSON object of the stream goes to `on_message`, until it returns false, the stream ends,
    // or `stop` becomes true. Returns why it ended.
    std::string watch(const nlohmann::json& create_request,
                      const std::function<bool(const nlohmann::json&)>& on_message,
                      const std::atomic<bool>& stop);

    // Moves on to the next endpoint (after a failed keepalive or a stale watch).
    void rotate();
    std::string endpoint() const;

private:
    struct Reply {
        long status = 0;
        std::string body;
        std::string error;  // transport failure
    };
    Reply post(const std::string& url, const std::string& body, long timeout_ms,
               const std::string& token) const;
    bool authenticate(const std::string& base, std::string& error);
    void* new_handle(const std::string& url, long timeout_ms) const;

    EtcdOptions options_;
    mutable std::mutex mutex_;  // guards current_ and token_
    size_t current_ = 0;
    std::string token_;
};

}  // namespace dnslb::cluster
