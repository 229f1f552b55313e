// The "cluster" section of the server configuration.
#include <unistd.h>

#include <climits>

#include <nlohmann/json.hpp>

#include "dnslb/base/concat.hpp"
#include "dnslb/config/config.hpp"

namespace dnslb::config {

namespace {

using json = nlohmann::json;

[[noreturn]] void fail(const std::string& file, const std::string& ptr, const std::string& why) {
    throw ConfigError(file + ": " + ptr + ": " + why);
}

std::string text(const json& v, const std::string& file, const std::string& ptr) {
    if (!v.is_string()) {
        fail(file, ptr, "expected a string");
    }
    return v.get<std::string>();
}

double seconds(const json& v, const std::string& file, const std::string& ptr, double lo,
               double hi) {
    if (!v.is_number() || v.get<double>() < lo || v.get<double>() > hi) {
        fail(file, ptr,
             "expected seconds from " + std::to_string(lo) + " to " + std::to_string(hi));
    }
    return v.get<double>();
}

std::string host_name() {
    char buf[HOST_NAME_MAX + 1] = {};
    if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') {
        return "dnslb";
    }
    return buf;
}

// Node names and regions become etcd key parts: no slash, nothing invisible.
bool plain_name(const std::string& s) {
    if (s.empty() || s.size() > 64) {
        return false;
    }
    for (unsigned char c : s) {
        if (c <= ' ' || c == '/' || c >= 0x7f) {
            return false;
        }
    }
    return true;
}

}  // namespace

void load_cluster(const json& v, const std::string& file, Config& cfg) {
    if (!v.is_object()) {
        fail(file, "/cluster", "expected an object");
    }
    ClusterConfig& c = cfg.cluster;
    c.enabled = true;
    for (const auto& [key, x] : v.items()) {
        check_key(file, "/cluster", "cluster", key);
        std::string ptr = "/cluster/" + key;
        if (key == "endpoints") {
            if (!x.is_array() || x.empty()) {
                fail(file, ptr, "expected a list of etcd client URLs");
            }
            c.endpoints.clear();
            for (size_t i = 0; i < x.size(); ++i) {
                std::string url = text(x[i], file, ptr + "/" + std::to_string(i));
                if (!url.starts_with("http://") && !url.starts_with("https://")) {
                    fail(file, ptr + "/" + std::to_string(i),
                         "expected an http:// or https:// URL");
                }
                while (url.ends_with("/")) {
                    url.pop_back();
                }
                c.endpoints.push_back(url);
            }
        } else if (key == "prefix") {
            c.prefix = text(x, file, ptr);
            if (!c.prefix.starts_with("/") || c.prefix.size() < 2 || c.prefix.ends_with("/")) {
                fail(file, ptr, "expected a key prefix like /dnslb/prod (no trailing slash)");
            }
        } else if (key == "node" || key == "region") {
            std::string s = text(x, file, ptr);
            if (!plain_name(s)) {
                fail(file, ptr, "expected 1 to 64 visible characters without '/'");
            }
            (key == "node" ? c.node : c.region) = s;
        } else if (key == "tls") {
            if (!x.is_object()) {
                fail(file, ptr, "expected an object with ca, cert and key");
            }
            for (const auto& [tk, tv] : x.items()) {
                check_key(file, ptr, "cluster/tls", tk);
                std::string p = base::concat(ptr, "/", tk);
                (tk == "ca" ? c.ca : tk == "cert" ? c.cert : c.key) = text(tv, file, p);
            }
            if (c.cert.empty() != c.key.empty()) {
                fail(file, ptr, "cert and key go together");
            }
        } else if (key == "user") {
            c.user = text(x, file, ptr);
        } else if (key == "password") {
            c.password = text(x, file, ptr);
        } else if (key == "verdict") {
            c.verdict = text(x, file, ptr);
            if (c.verdict != "majority" && c.verdict != "any-up" && c.verdict != "all-up" &&
                c.verdict != "threshold" && c.verdict != "regions") {
                fail(file, ptr, "expected majority, any-up, all-up, threshold or regions");
            }
        } else if (key == "threshold") {
            if (!x.is_number() || x.get<double>() < 0 || x.get<double>() >= 1) {
                fail(file, ptr, "expected a share from 0 to below 1");
            }
            c.threshold = x.get<double>();
        } else if (key == "probes_per_check") {
            if (!x.is_number_integer() || x.get<int64_t>() < 1 || x.get<int64_t>() > 64) {
                fail(file, ptr, "expected an integer from 1 to 64");
            }
            c.probes_per_check = x.get<unsigned>();
        } else if (key == "grace") {
            c.grace_ms = static_cast<uint32_t>(seconds(x, file, ptr, 0, 86400) * 1000);
        } else if (key == "lease_ttl") {
            c.lease_ttl_s = static_cast<uint32_t>(seconds(x, file, ptr, 2, 3600));
        }
    }
    if (c.endpoints.empty()) {
        fail(file, "/cluster", "endpoints is required");
    }
    if (c.user.empty() != c.password.empty()) {
        fail(file, "/cluster", "user and password go together");
    }
    if (c.node.empty()) {
        c.node = host_name();
        if (!plain_name(c.node)) {
            fail(file, "/cluster/node", "the host name cannot be a node name: set node");
        }
    }
}

}  // namespace dnslb::config
