// The keys of the server configuration file: one list for the parser, its messages and the
// test that holds dnslb.json(5) to it.
#include <algorithm>

#include "dnslb/config/config.hpp"

namespace dnslb::config {

const std::vector<std::string_view> kConfigKeys = {
    "$schema",
    "$comment",
    "listen",
    "workers",
    "xdp",
    "zones",
    "key_dir",
    "geoip",
    "probers",
    "http",
    "api_token",
    "api_read_token",
    "log_level",
    "explain_from",
    "nets",
    "nets/*/lat",
    "nets/*/lon",
    "nets/*/country",
    "default_location",
    "default_location/lat",
    "default_location/lon",
    "chaos",
    "chaos/version",
    "chaos/id",
    "query_log",
    "query_log/sample",
    "demand",
    "demand/networks",
    "demand/file",
    "rrl",
    "rrl/enabled",
    "rrl/responses_per_second",
    "rrl/nxdomains_per_second",
    "rrl/errors_per_second",
    "rrl/referrals_per_second",
    "rrl/slip",
    "rrl/ipv4_prefix",
    "rrl/ipv6_prefix",
    "rrl/table_size",
    "rrl/exempt",
    "cookies",
    "cookies/enabled",
    "cookies/secret",
    "cookies/rotate",
    "attack",
    "attack/auto_qps",
    "attack/tc_above_bytes",
    "attack/rrl_divisor",
    "tcp",
    "tcp/idle_timeout",
    "tcp/max_connections",
    "tcp/max_per_source",
    "tcp/max_queries",
    "tcp/query_timeout",
    "tcp_idle_timeout",
    "tcp_max_connections",
    "probe_source",
    "cluster",
    "cluster/endpoints",
    "cluster/prefix",
    "cluster/node",
    "cluster/region",
    "cluster/tls",
    "cluster/tls/ca",
    "cluster/tls/cert",
    "cluster/tls/key",
    "cluster/user",
    "cluster/password",
    "cluster/verdict",
    "cluster/threshold",
    "cluster/probes_per_check",
    "cluster/grace",
    "cluster/lease_ttl",
};

const std::vector<std::pair<std::string_view, std::string_view>> kConfigAliases = {
    {"tcp_idle_timeout", "tcp/idle_timeout"},
    {"tcp_max_connections", "tcp/max_connections"},
};

void check_key(const std::string& file, const std::string& ptr, std::string_view section,
               const std::string& key) {
    std::string expected;
    for (std::string_view k : kConfigKeys) {
        const bool in_section = section.empty()
                                    ? k.find('/') == std::string_view::npos
                                    : k.size() > section.size() + 1 &&
                                          k.substr(0, section.size()) == section &&
                                          k[section.size()] == '/' &&
                                          k.find('/', section.size() + 1) == std::string_view::npos;
        if (!in_section) {
            continue;
        }
        std::string_view name = section.empty() ? k : k.substr(section.size() + 1);
        if (name == key) {
            return;
        }
        const bool alias = std::any_of(kConfigAliases.begin(), kConfigAliases.end(),
                                       [&](const auto& a) { return a.first == k; });
        if (!alias && name[0] != '$') {
            expected += (expected.empty() ? "" : ", ") + std::string(name);
        }
    }
    throw ConfigError(file + ": " + ptr + "/" + key + ": unknown key (expected " + expected + ")");
}

}  // namespace dnslb::config
