#include "dnslb/cluster/etcd.hpp"

#include <array>

#include <curl/curl.h>

#include "dnslb/base/concat.hpp"

namespace dnslb::cluster {

namespace {

constexpr const char* kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr long kConnectTimeoutMs = 1000;

size_t to_string_cb(char* data, size_t size, size_t nmemb, void* user) {
    static_cast<std::string*>(user)->append(data, size * nmemb);
    return size * nmemb;
}

// Errors after which another member may do better: the member is down, has no leader, or is
// being stopped.
bool try_elsewhere(long status, const std::string& body) {
    return status >= 500 || body.find("no leader") != std::string::npos ||
           body.find("stopped") != std::string::npos;
}

bool auth_error(const std::string& body) {
    return body.find("invalid auth token") != std::string::npos ||
           body.find("auth store is old") != std::string::npos ||
           body.find("user name is empty") != std::string::npos;
}

struct WatchState {
    std::string buffer;
    const std::function<bool(const nlohmann::json&)>* on_message = nullptr;
    const std::atomic<bool>* stop = nullptr;
    bool aborted = false;
    std::string why;
};

size_t watch_cb(char* data, size_t size, size_t nmemb, void* user) {
    auto* w = static_cast<WatchState*>(user);
    w->buffer.append(data, size * nmemb);
    size_t start = 0;
    for (size_t nl = w->buffer.find('\n'); nl != std::string::npos;
         nl = w->buffer.find('\n', start)) {
        std::string line = w->buffer.substr(start, nl - start);
        start = nl + 1;
        if (line.find_first_not_of(" \r\t") == std::string::npos) {
            continue;
        }
        nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
            w->aborted = true;
            w->why = "unreadable watch message";
            return 0;
        }
        if (!(*w->on_message)(j)) {
            w->aborted = true;
            w->why = "watch ended by the reader";
            return 0;
        }
    }
    w->buffer.erase(0, start);
    if (w->buffer.size() > size_t{8} << 20) {
        w->aborted = true;
        w->why = "watch message larger than 8 MiB";
        return 0;
    }
    return size * nmemb;
}

int watch_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* w = static_cast<WatchState*>(user);
    if (w->stop->load(std::memory_order_relaxed)) {
        w->aborted = true;
        w->why = "stopped";
        return 1;
    }
    return 0;
}

}  // namespace

std::string base64_encode(const std::string& raw) {
    std::string out;
    out.reserve((raw.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 2 < raw.size(); i += 3) {
        uint32_t n = (uint32_t{static_cast<uint8_t>(raw[i])} << 16) |
                     (uint32_t{static_cast<uint8_t>(raw[i + 1])} << 8) |
                     static_cast<uint8_t>(raw[i + 2]);
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += kAlphabet[(n >> 6) & 63];
        out += kAlphabet[n & 63];
    }
    if (i < raw.size()) {
        uint32_t n = uint32_t{static_cast<uint8_t>(raw[i])} << 16;
        if (i + 1 < raw.size()) {
            n |= uint32_t{static_cast<uint8_t>(raw[i + 1])} << 8;
        }
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += i + 1 < raw.size() ? kAlphabet[(n >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::optional<std::string> base64_decode(const std::string& text) {
    std::array<int, 256> value{};
    value.fill(-1);
    for (int i = 0; i < 64; ++i) {
        value[static_cast<uint8_t>(kAlphabet[i])] = i;
    }
    std::string out;
    uint32_t acc = 0;
    int bits = 0;
    size_t pad = 0;
    for (char ch : text) {
        if (ch == '=') {
            ++pad;
            continue;
        }
        int v = value[static_cast<uint8_t>(ch)];
        if (v < 0 || pad > 0) {
            return std::nullopt;
        }
        acc = (acc << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    if (pad > 2) {
        return std::nullopt;
    }
    return out;
}

std::string prefix_end(const std::string& prefix) {
    std::string end = prefix;
    while (!end.empty()) {
        auto last = static_cast<unsigned char>(end.back());
        if (last < 0xff) {
            end.back() = static_cast<char>(last + 1);
            return end;
        }
        end.pop_back();
    }
    return std::string(1, '\0');  // every key
}

int64_t int_field(const nlohmann::json& obj, const char* name, int64_t fallback) {
    if (!obj.is_object()) {
        return fallback;
    }
    auto it = obj.find(name);
    if (it == obj.end()) {
        return fallback;
    }
    if (it->is_number_integer()) {
        return it->get<int64_t>();
    }
    if (it->is_string()) {
        const std::string& s = it->get_ref<const std::string&>();
        try {
            size_t used = 0;
            long long v = std::stoll(s, &used);
            return used == s.size() ? v : fallback;
        } catch (const std::exception&) {
            return fallback;
        }
    }
    return fallback;
}

EtcdClient::EtcdClient(EtcdOptions options) : options_(std::move(options)) {}

std::string EtcdClient::endpoint() const {
    std::lock_guard lock(mutex_);
    return options_.endpoints[current_ % options_.endpoints.size()];
}

void EtcdClient::rotate() {
    std::lock_guard lock(mutex_);
    current_ = (current_ + 1) % options_.endpoints.size();
}

void* EtcdClient::new_handle(const std::string& url, long timeout_ms) const {
    CURL* e = curl_easy_init();
    if (e == nullptr) {
        return nullptr;
    }
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, kConnectTimeoutMs);
    if (timeout_ms > 0) {
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    }
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (!options_.source.empty()) {
        std::string iface = "host!" + options_.source;
        curl_easy_setopt(e, CURLOPT_INTERFACE, iface.c_str());
    }
    if (!options_.ca.empty()) {
        curl_easy_setopt(e, CURLOPT_CAINFO, options_.ca.c_str());
    }
    if (!options_.cert.empty()) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, options_.cert.c_str());
        curl_easy_setopt(e, CURLOPT_SSLKEY, options_.key.c_str());
    }
    return e;
}

EtcdClient::Reply EtcdClient::post(const std::string& url, const std::string& body, long timeout_ms,
                                   const std::string& token) const {
    Reply r;
    CURL* e = static_cast<CURL*>(new_handle(url, timeout_ms));
    if (e == nullptr) {
        r.error = "curl_easy_init failed";
        return r;
    }
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    if (!token.empty()) {
        headers = curl_slist_append(headers, ("Authorization: " + token).c_str());
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, to_string_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &r.body);
    char errbuf[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(e);
    if (rc != CURLE_OK) {
        r.error = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    } else {
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r.status);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(e);
    return r;
}

bool EtcdClient::authenticate(const std::string& base, std::string& error) {
    nlohmann::json req = {{"name", options_.user}, {"password", options_.password}};
    Reply r = post(base + "/v3/auth/authenticate", req.dump(), kConnectTimeoutMs * 2, "");
    if (!r.error.empty() || r.status != 200) {
        error = "authentication at " + base + " failed: " + (r.error.empty() ? r.body : r.error);
        return false;
    }
    nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j.contains("token") || !j["token"].is_string()) {
        error = "authentication at " + base + ": no token in the answer";
        return false;
    }
    std::lock_guard lock(mutex_);
    token_ = j["token"].get<std::string>();
    return true;
}

std::optional<nlohmann::json> EtcdClient::call(const std::string& path, const nlohmann::json& body,
                                               std::string& error, long timeout_ms) {
    const std::string text = body.dump();
    for (size_t attempt = 0; attempt < options_.endpoints.size(); ++attempt) {
        std::string base = endpoint();
        std::string token;
        {
            std::lock_guard lock(mutex_);
            token = token_;
        }
        if (!options_.user.empty() && token.empty()) {
            if (!authenticate(base, error)) {
                rotate();
                continue;
            }
            std::lock_guard lock(mutex_);
            token = token_;
        }
        Reply r = post(dnslb::base::concat(base, "/v3/", path), text, timeout_ms, token);
        if (r.error.empty() && r.status != 200 && !options_.user.empty() && auth_error(r.body)) {
            if (authenticate(base, error)) {
                std::lock_guard lock(mutex_);
                token = token_;
            }
            r = post(dnslb::base::concat(base, "/v3/", path), text, timeout_ms, token);
        }
        if (!r.error.empty() || try_elsewhere(r.status, r.body)) {
            error = base + ": " +
                    (r.error.empty() ? "HTTP " + std::to_string(r.status) + " " + r.body : r.error);
            rotate();
            continue;
        }
        nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
        if (r.status != 200 || j.is_discarded()) {
            error = base + ": HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 200);
            return std::nullopt;
        }
        return j;
    }
    return std::nullopt;
}

std::string EtcdClient::watch(const nlohmann::json& create_request,
                              const std::function<bool(const nlohmann::json&)>& on_message,
                              const std::atomic<bool>& stop) {
    std::string base = endpoint();
    std::string token;
    if (!options_.user.empty()) {
        std::string error;
        if (!authenticate(base, error)) {
            return error;
        }
        std::lock_guard lock(mutex_);
        token = token_;
    }
    CURL* e = static_cast<CURL*>(new_handle(base + "/v3/watch", 0));
    if (e == nullptr) {
        return "curl_easy_init failed";
    }
    WatchState w;
    w.on_message = &on_message;
    w.stop = &stop;
    std::string body = nlohmann::json{{"create_request", create_request}}.dump();
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    // Cancel the stream when this member loses its leader, rather than serve a stale view.
    headers = curl_slist_append(headers, "Grpc-Metadata-Hasleader: true");
    if (!token.empty()) {
        headers = curl_slist_append(headers, ("Authorization: " + token).c_str());
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, watch_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &w);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, watch_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, &w);
    char errbuf[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(e);
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(e);
    if (w.aborted) {
        return w.why;
    }
    if (rc != CURLE_OK) {
        return base + ": " + (errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
    }
    return base + ": watch stream ended (HTTP " + std::to_string(status) + ")";
}

}  // namespace dnslb::cluster
