// The prober pool's http and https checks: libcurl multi, on the prober threads.
#include "dnslb/base/concat.hpp"
#include "probes/prober_thread.hpp"

namespace dnslb::probes {

using namespace detail;  // NOLINT(google-build-using-namespace): this library's own helpers

namespace {
size_t collect_body(char* data, size_t size, size_t nmemb, void* user) {
    auto* buf = static_cast<std::string*>(user);
    size_t n = size * nmemb;
    if (buf->size() < kMaxBodyBytes) {
        buf->append(data, std::min(n, kMaxBodyBytes - buf->size()));
    }
    return n;
}
}  // namespace

bool ProberPool::ProberThread::setup_easy(Check& c) {
    const MonitorSpec& s = c.spec;
    c.easy = curl_easy_init();
    if (c.easy == nullptr) {
        return false;
    }
    std::string addr = format_address(c.family, c.addr);
    std::string addr_url = c.family == AF_INET6 ? "[" + addr + "]" : addr;
    std::string port = std::to_string(s.port);
    std::string url_host = s.host.empty() ? addr_url : s.host;
    std::string url = std::string(s.type == MonitorType::kHttps ? "https" : "http") + "://" +
                      url_host + ":" + port + s.path;
    CURL* e = c.easy;
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    if (!s.host.empty()) {
        // Host header and SNI name the service; the connection goes to the checked address.
        std::string to = s.host + ":" + port + ":" + addr_url + ":" + port;
        c.connect_to = curl_slist_append(nullptr, to.c_str());
        curl_easy_setopt(e, CURLOPT_CONNECT_TO, c.connect_to);
    }
    for (const auto& [name, value] : s.headers) {
        // "Name;" sends an empty header; "Name:" would remove it.
        std::string line = base::concat(name, value.empty() ? ";" : ": ", value);
        c.header_list = curl_slist_append(c.header_list, line.c_str());
    }
    if (c.header_list != nullptr) {
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, c.header_list);
    }
    curl_easy_setopt(e, CURLOPT_PROXY, "");  // never through an environment proxy
    if (const std::string& src = pool_.source_for(c.family); !src.empty()) {
        std::string iface = "host!" + src;
        curl_easy_setopt(e, CURLOPT_INTERFACE, iface.c_str());  // copied by libcurl
    }
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(s.timeout_ms));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(s.timeout_ms));
    // Each check proves a fresh connection can be made; a kept-alive one proves nothing.
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, s.follow_redirects ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, kMaxRedirects);
    curl_easy_setopt(e, CURLOPT_NOBODY, s.method == "HEAD" ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, s.verify_tls ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, s.verify_tls ? 2L : 0L);
    // A resumed TLS session skips certificate verification: an expired or replaced
    // certificate must fail the very next check.
    curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "dnslb-probe");
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c.errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, &c);
    if (s.body.empty()) {
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_body);
    } else {
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &c.body_buf);
    }
    return true;
}

void ProberPool::ProberThread::start_http(Check& c) {
    if (c.easy == nullptr && !setup_easy(c)) {
        complete(c, false, "cannot create a transfer");
        return;
    }
    c.body_buf.clear();
    c.errbuf[0] = '\0';
    if (curl_multi_add_handle(multi_, c.easy) != CURLM_OK) {
        complete(c, false, "cannot start a transfer");
        return;
    }
    ++curl_in_flight_;
}

void ProberPool::ProberThread::harvest_curl() {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        CURL* e = msg->easy_handle;
        CURLcode rc = msg->data.result;
        char* priv = nullptr;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
        curl_multi_remove_handle(multi_, e);
        --curl_in_flight_;
        if (priv != nullptr) {
            finish_http(*reinterpret_cast<Check*>(priv), rc);
        }
    }
}

void ProberPool::ProberThread::finish_http(Check& c, CURLcode rc) {
    const MonitorSpec& s = c.spec;
    std::string detail = c.errbuf[0] != '\0' ? c.errbuf : curl_easy_strerror(rc);
    switch (rc) {
        case CURLE_OK:
            break;
        case CURLE_OPERATION_TIMEDOUT:
            complete(c, false, "timeout after " + format_duration_ms(s.timeout_ms));
            return;
        case CURLE_COULDNT_CONNECT: {
            long err = 0;
            curl_easy_getinfo(c.easy, CURLINFO_OS_ERRNO, &err);
            complete(c, false,
                     err != 0 ? errno_reason("connect failed", static_cast<int>(err))
                              : "connect failed: " + detail);
            return;
        }
        case CURLE_PEER_FAILED_VERIFICATION:
            complete(c, false, "certificate verify failed: " + detail);
            return;
        case CURLE_SSL_CONNECT_ERROR:
            complete(c, false, "TLS handshake failed: " + detail);
            return;
        case CURLE_GOT_NOTHING:
            complete(c, false, "empty reply");
            return;
        case CURLE_TOO_MANY_REDIRECTS:
            complete(c, false, "too many redirects");
            return;
        default:
            complete(c, false, detail);
            return;
    }
    long code = 0;
    curl_easy_getinfo(c.easy, CURLINFO_RESPONSE_CODE, &code);
    bool expected = std::any_of(s.expect.begin(), s.expect.end(), [code](const StatusRange& r) {
        return code >= r.low && code <= r.high;
    });
    if (!expected) {
        complete(c, false, "HTTP " + std::to_string(code));
        return;
    }
    if (!s.body.empty() && c.body_buf.find(s.body) == std::string::npos) {
        complete(c, false, "body mismatch");
        return;
    }
    complete(c, true, {});
}

}  // namespace dnslb::probes
