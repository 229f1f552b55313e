// Server configuration: a JSON file (`--config`) and command-line flags, flags winning.
// Loaded on the control thread; errors name the file and the JSON pointer.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "dnslb/config/guard_settings.hpp"
#include "dnslb/geo/geo.hpp"

namespace dnslb::config {

class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct ListenAddress {
    std::string host;  // numeric IPv4 or IPv6
    uint16_t port = 53;
    std::string text() const;
};

struct NetOverride {
    std::string cidr;
    geo::Location where;
};

// The "cluster" section: the servers of one NS set share health verdicts, probe work and
// operator actions through etcd. Absent (enabled false): the server decides alone.
struct ClusterConfig {
    bool enabled = false;
    std::vector<std::string> endpoints;  // etcd client URLs, "http://127.0.0.1:2379"
    std::string prefix = "/dnslb/default";
    std::string node;  // "" until loaded: the host name
    std::string region;
    std::string ca;    // PEM files for https endpoints
    std::string cert;  // client certificate (mutual TLS)
    std::string key;
    std::string user;  // etcd authentication; "" = none
    std::string password;
    std::string verdict = "majority";  // majority, any-up, all-up, threshold, regions
    double threshold = 0.18;           // verdict "threshold": up when more than this share is up
    unsigned probes_per_check = 3;
    uint32_t grace_ms = 30000;  // etcd unreachable: keep the cluster's verdicts this long
    uint32_t lease_ttl_s = 10;
};

struct Config {
    std::string file;  // where it came from, "" for flags only
    std::vector<ListenAddress> listen;
    unsigned workers = 0;  // 0: one per core
    std::string xdp;       // the interface of the AF_XDP mode for UDP; "" = sockets only
    std::string zones_dir = "zones";
    std::string key_dir = "keys";  // DNSSEC key files of the signed zones
    std::vector<std::string> geoip;
    std::vector<NetOverride> nets;
    std::string http;  // "" = no HTTP API; else "ADDR:PORT" or "PORT" (loopback)
    unsigned probers = 1;
    std::string chaos_version;
    std::string chaos_id;
    std::vector<std::string> explain_from = {"127.0.0.0/8", "::1/128"};
    // Default location for askers nobody can place; used by proximity steering when set.
    bool has_default_location = false;
    double default_lat = 0;
    double default_lon = 0;
    TcpSettings tcp;    // the "tcp" key
    GuardConfig guard;  // rrl, cookies, attack
    std::string log_level = "info";
    std::string api_token;        // bearer token of the API's POST endpoints; "" = they are refused
    std::string api_read_token;   // bearer token of the read-only views; "" = open
    double query_log_sample = 0;  // share of queries logged, 0..1
    std::string probe_source;     // local address the health checks (and etcd) are sent from
    ClusterConfig cluster;
    // Demand recording ("demand"): table slots per query thread (0: off), and the file the
    // merged demand is saved to at shutdown and loaded from at start ("": none).
    size_t demand_networks = 4096;
    std::string demand_file;
};

// Parses `--listen` style "127.0.0.1:5353", "[::1]:5353", "::1" (port 53). Throws ConfigError.
ListenAddress parse_listen(const std::string& text);

// Parses the HTTP API address: "127.0.0.1:8053", "[::1]:8053" or a bare port "8053", which
// means 127.0.0.1 (the API is loopback-only unless an address says otherwise). The port is
// required. Throws ConfigError.
ListenAddress parse_http_listen(const std::string& text);

// True for 127.0.0.0/8 and ::1.
bool is_loopback(const ListenAddress& addr);

// Parses a query-log sampling rate "0.01" (0..1). Throws ConfigError.
double parse_sample_rate(const std::string& text);

// Reads a JSON config file into `cfg` (keys as documented in README). Throws ConfigError with
// "<file>: <pointer>: <reason>".
void load_config_file(const std::string& path, Config& cfg);

// The "rrl", "cookies", "attack" and "tcp" keys; false for any other key.
bool load_guard_key(const std::string& key, const nlohmann::json& v, const std::string& file,
                    Config& cfg);

// The "cluster" section into cfg.cluster. Throws ConfigError.
void load_cluster(const nlohmann::json& v, const std::string& file, Config& cfg);

// Every key the configuration file accepts, as the path of sections above it and the key
// ("listen", "rrl/slip"; "nets/*/lat" for a key inside each entry of a map). The parser
// accepts exactly these and names a section's keys in its unknown-key errors; dnslb.json(5)
// documents each one (a test compares the two).
extern const std::vector<std::string_view> kConfigKeys;

// Keys kept for old configurations: the alias and the key it stands for.
extern const std::vector<std::pair<std::string_view, std::string_view>> kConfigAliases;

// Throws ConfigError "<file>: <ptr>/<key>: unknown key (expected ...)" unless `key` is one of
// kConfigKeys in `section` ("" for the top level). `ptr` is the section's JSON pointer.
void check_key(const std::string& file, const std::string& ptr, std::string_view section,
               const std::string& key);

// Parses "a.b.c.d/n" or "x::/n" into family/bytes/prefix; throws std::invalid_argument.
void parse_cidr(const std::string& text, uint8_t& family, uint8_t* bytes, uint8_t& prefix);
// The workers to start: `workers`, or one per CPU core when it is 0 (at least one).
unsigned worker_count(const Config& cfg) noexcept;

}  // namespace dnslb::config
