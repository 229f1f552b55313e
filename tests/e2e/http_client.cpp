#include "tests/e2e/http_client.hpp"

#include <curl/curl.h>

namespace dnslb::e2e {

namespace {

size_t collect(char* data, size_t size, size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
}

}  // namespace

HttpReply http(const std::string& method, uint16_t port, const std::string& path,
               const std::string& body, const std::string& token) {
    HttpReply r;
    CURL* c = curl_easy_init();
    if (c == nullptr) {
        r.error = "curl_easy_init failed";
        return r;
    }
    std::string url = "http://127.0.0.1:" + std::to_string(port) + path;
    curl_slist* headers = nullptr;
    if (!token.empty()) {
        headers = curl_slist_append(headers, ("Authorization: Bearer " + token).c_str());
    }
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (method == "POST") {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        r.error = curl_easy_strerror(rc);
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    return r;
}

std::string metric_line(const std::string& metrics, const std::string& series) {
    for (size_t pos = 0; pos < metrics.size();) {
        size_t end = metrics.find('\n', pos);
        std::string line = metrics.substr(pos, end - pos);
        if (line.rfind(series + " ", 0) == 0) {
            return line;
        }
        pos = end == std::string::npos ? metrics.size() : end + 1;
    }
    return "";
}

double metric_value(const std::string& metrics, const std::string& series) {
    std::string line = metric_line(metrics, series);
    return line.empty() ? -1 : std::stod(line.substr(series.size() + 1));
}

}  // namespace dnslb::e2e
