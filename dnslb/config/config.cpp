#include "dnslb/config/config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "dnslb/base/errno_text.hpp"

namespace dnslb::config {

namespace {

using json = nlohmann::json;

[[noreturn]] void fail(const std::string& file, const std::string& pointer,
                       const std::string& why) {
    throw ConfigError(file + ": " + pointer + ": " + why);
}

std::string get_string(const json& v, const std::string& file, const std::string& ptr) {
    if (!v.is_string()) {
        fail(file, ptr, "expected a string");
    }
    return v.get<std::string>();
}

unsigned get_uint(const json& v, const std::string& file, const std::string& ptr, unsigned lo,
                  unsigned hi) {
    if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi) {
        fail(file, ptr,
             "expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
    }
    return v.get<unsigned>();
}

double get_coord(const json& v, const std::string& file, const std::string& ptr, double limit) {
    if (!v.is_number() || std::fabs(v.get<double>()) > limit) {
        fail(file, ptr,
             "expected a number from " + std::to_string(-limit) + " to " + std::to_string(limit));
    }
    return v.get<double>();
}

std::vector<std::string> string_list(const json& v, const std::string& file,
                                     const std::string& ptr) {
    std::vector<std::string> out;
    if (v.is_string()) {
        out.push_back(v.get<std::string>());
        return out;
    }
    if (!v.is_array()) {
        fail(file, ptr, "expected a string or a list of strings");
    }
    for (size_t i = 0; i < v.size(); ++i) {
        out.push_back(get_string(v[i], file, ptr + "/" + std::to_string(i)));
    }
    return out;
}

void load_nets(const json& nets, const std::string& file, Config& cfg) {
    if (!nets.is_object()) {
        fail(file, "/nets", "expected an object mapping CIDR to a location");
    }
    for (const auto& [cidr, spec] : nets.items()) {
        std::string ptr = "/nets/" + cidr;
        uint8_t fam = 0;
        uint8_t bytes[16];
        uint8_t prefix = 0;
        try {
            parse_cidr(cidr, fam, bytes, prefix);
        } catch (const std::invalid_argument& e) {
            fail(file, ptr, e.what());
        }
        if (!spec.is_object()) {
            fail(file, ptr, "expected an object with lat/lon and/or country");
        }
        NetOverride n;
        n.cidr = cidr;
        n.where.known = true;
        for (const auto& [key, val] : spec.items()) {
            check_key(file, ptr, "nets/*", key);
            if (key == "lat") {
                n.where.lat = get_coord(val, file, ptr + "/lat", 90);
            } else if (key == "lon") {
                n.where.lon = get_coord(val, file, ptr + "/lon", 180);
            } else if (key == "country") {
                std::string cc = get_string(val, file, ptr + "/country");
                if (cc.size() != 2 || !std::isupper(static_cast<unsigned char>(cc[0])) ||
                    !std::isupper(static_cast<unsigned char>(cc[1]))) {
                    fail(file, ptr + "/country", "expected a two-letter ISO 3166 code like DE");
                }
                n.where.country = geo::country_code(cc[0], cc[1]);
                n.where.continent = geo::continent_of(n.where.country);
            }
        }
        bool has_lat = spec.contains("lat");
        if (has_lat != spec.contains("lon")) {
            fail(file, ptr, "lat and lon go together");
        }
        n.where.has_coords = has_lat;
        if (!has_lat && n.where.country == 0) {
            fail(file, ptr, "expected lat/lon or country");
        }
        cfg.nets.push_back(n);
    }
}

}  // namespace

std::string ListenAddress::text() const {
    return host.find(':') != std::string::npos ? "[" + host + "]:" + std::to_string(port)
                                               : host + ":" + std::to_string(port);
}

ListenAddress parse_listen(const std::string& text) {
    ListenAddress out;
    std::string port;
    if (!text.empty() && text[0] == '[') {
        auto close = text.find(']');
        if (close == std::string::npos) {
            throw ConfigError("listen address '" + text + "': missing ']'");
        }
        out.host = text.substr(1, close - 1);
        if (close + 1 < text.size()) {
            if (text[close + 1] != ':') {
                throw ConfigError("listen address '" + text + "': expected ':' after ']'");
            }
            port = text.substr(close + 2);
        }
    } else if (std::count(text.begin(), text.end(), ':') == 1) {
        out.host = text.substr(0, text.find(':'));
        port = text.substr(text.find(':') + 1);
    } else {
        out.host = text;
    }
    unsigned char buf[16];
    if (inet_pton(AF_INET, out.host.c_str(), buf) != 1 &&
        inet_pton(AF_INET6, out.host.c_str(), buf) != 1) {
        throw ConfigError("listen address '" + text +
                          "': expected a numeric IPv4 or IPv6 address, like 127.0.0.1:5353 or "
                          "[::1]:5353");
    }
    if (!port.empty()) {
        char* end = nullptr;
        long p = std::strtol(port.c_str(), &end, 10);
        if (*end != '\0' || p < 1 || p > 65535) {
            throw ConfigError("listen address '" + text + "': port must be 1..65535");
        }
        out.port = static_cast<uint16_t>(p);
    }
    return out;
}

unsigned worker_count(const Config& cfg) noexcept {
    const unsigned n = cfg.workers != 0 ? cfg.workers : std::thread::hardware_concurrency();
    return n != 0 ? n : 1;
}

void parse_cidr(const std::string& text, uint8_t& family, uint8_t* bytes, uint8_t& prefix) {
    auto slash = text.find('/');
    std::string addr = text.substr(0, slash);
    std::memset(bytes, 0, 16);
    if (inet_pton(AF_INET, addr.c_str(), bytes) == 1) {
        family = 4;
    } else if (inet_pton(AF_INET6, addr.c_str(), bytes) == 1) {
        family = 6;
    } else {
        throw std::invalid_argument("'" + text + "' is not an IPv4 or IPv6 network");
    }
    unsigned max = family == 4 ? 32 : 128;
    prefix = static_cast<uint8_t>(max);
    if (slash != std::string::npos) {
        char* end = nullptr;
        long p = std::strtol(text.c_str() + slash + 1, &end, 10);
        if (*end != '\0' || slash + 1 == text.size() || p < 0 || p > static_cast<long>(max)) {
            throw std::invalid_argument("'" + text + "': prefix length must be 0.." +
                                        std::to_string(max));
        }
        prefix = static_cast<uint8_t>(p);
    }
    for (unsigned bit = prefix; bit < max; ++bit) {
        if ((bytes[bit / 8] & (0x80U >> (bit % 8))) != 0) {
            throw std::invalid_argument("'" + text + "': address has bits set beyond /" +
                                        std::to_string(prefix));
        }
    }
}

ListenAddress parse_http_listen(const std::string& text) {
    bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
    std::string full = digits ? "127.0.0.1:" + text : text;
    bool has_port = full.rfind("]:") != std::string::npos ||
                    (full[0] != '[' && std::count(full.begin(), full.end(), ':') == 1);
    if (!has_port) {
        throw ConfigError("HTTP address '" + text +
                          "': expected ADDR:PORT (127.0.0.1:8053, [::1]:8053) or a port");
    }
    try {
        return parse_listen(full);
    } catch (const ConfigError& e) {
        throw ConfigError(std::string("HTTP ") + e.what());
    }
}

bool is_loopback(const ListenAddress& addr) {
    unsigned char buf[16];
    if (inet_pton(AF_INET, addr.host.c_str(), buf) == 1) {
        return buf[0] == 127;
    }
    return inet_pton(AF_INET6, addr.host.c_str(), buf) == 1 &&
           std::memcmp(buf, in6addr_loopback.s6_addr, 16) == 0;
}

double parse_sample_rate(const std::string& text) {
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !(v >= 0 && v <= 1)) {
        throw ConfigError("query log sample rate '" + text + "': expected a number from 0 to 1");
    }
    return v;
}

void load_config_file(const std::string& path, Config& cfg) {
    std::ifstream in(path);
    if (!in) {
        throw ConfigError(path + ": cannot open: " + base::errno_text(errno));
    }
    std::stringstream ss;
    ss << in.rdbuf();
    json doc;
    try {
        doc = json::parse(ss.str());
    } catch (const json::exception& e) {
        // parse_error, and out_of_range for numbers too large for a double (1e400).
        throw ConfigError(path + ": " + e.what());
    }
    if (!doc.is_object()) {
        fail(path, "", "expected a JSON object");
    }
    cfg.file = path;
    for (const auto& [key, v] : doc.items()) {
        check_key(path, "", "", key);
        std::string ptr = "/" + key;
        if (key == "listen") {
            cfg.listen.clear();
            auto list = string_list(v, path, ptr);
            for (size_t i = 0; i < list.size(); ++i) {
                try {
                    cfg.listen.push_back(parse_listen(list[i]));
                } catch (const ConfigError& e) {
                    fail(path, ptr + "/" + std::to_string(i), e.what());
                }
            }
        } else if (key == "workers") {
            cfg.workers = get_uint(v, path, ptr, 0, 256);
        } else if (key == "xdp") {
            cfg.xdp = get_string(v, path, ptr);
        } else if (key == "zones") {
            cfg.zones_dir = get_string(v, path, ptr);
        } else if (key == "key_dir") {
            cfg.key_dir = get_string(v, path, ptr);
        } else if (key == "geoip") {
            cfg.geoip = string_list(v, path, ptr);
        } else if (key == "nets") {
            load_nets(v, path, cfg);
        } else if (key == "http") {
            cfg.http = get_string(v, path, ptr);
            try {
                parse_http_listen(cfg.http);
            } catch (const ConfigError& e) {
                fail(path, ptr, e.what());
            }
        } else if (key == "probers") {
            cfg.probers = get_uint(v, path, ptr, 1, 64);
        } else if (key == "chaos") {
            if (!v.is_object()) {
                fail(path, ptr, "expected an object with version and/or id");
            }
            for (const auto& [ck, cv] : v.items()) {
                check_key(path, ptr, "chaos", ck);
                if (ck == "version") {
                    cfg.chaos_version = get_string(cv, path, ptr + "/version");
                } else {
                    cfg.chaos_id = get_string(cv, path, ptr + "/id");
                }
            }
        } else if (key == "explain_from") {
            cfg.explain_from = string_list(v, path, ptr);
            for (size_t i = 0; i < cfg.explain_from.size(); ++i) {
                uint8_t fam = 0;
                uint8_t bytes[16];
                uint8_t prefix = 0;
                try {
                    parse_cidr(cfg.explain_from[i], fam, bytes, prefix);
                } catch (const std::invalid_argument& e) {
                    fail(path, ptr + "/" + std::to_string(i), e.what());
                }
            }
        } else if (key == "default_location") {
            for (auto it = v.begin(); v.is_object() && it != v.end(); ++it) {
                check_key(path, ptr, "default_location", it.key());
            }
            if (!v.is_object() || !v.contains("lat") || !v.contains("lon")) {
                fail(path, ptr, "expected an object with lat and lon");
            }
            cfg.default_lat = get_coord(v["lat"], path, ptr + "/lat", 90);
            cfg.default_lon = get_coord(v["lon"], path, ptr + "/lon", 180);
            cfg.has_default_location = true;
        } else if (key == "tcp_idle_timeout") {
            if (!v.is_number() || v.get<double>() <= 0 || v.get<double>() > 3600) {
                fail(path, ptr, "expected seconds, more than 0 and at most 3600");
            }
            cfg.tcp.idle_timeout_ms = static_cast<uint32_t>(v.get<double>() * 1000);
        } else if (key == "tcp_max_connections") {
            cfg.tcp.max_connections = get_uint(v, path, ptr, 1, 1000000);
        } else if (key == "log_level") {
            cfg.log_level = get_string(v, path, ptr);
        } else if (key == "probe_source") {
            cfg.probe_source = get_string(v, path, ptr);
            uint8_t bytes[16];
            if (inet_pton(AF_INET, cfg.probe_source.c_str(), bytes) != 1 &&
                inet_pton(AF_INET6, cfg.probe_source.c_str(), bytes) != 1) {
                fail(path, ptr, "expected an IPv4 or IPv6 address");
            }
        } else if (key == "cluster") {
            load_cluster(v, path, cfg);
        } else if (key == "api_token") {
            cfg.api_token = get_string(v, path, ptr);
        } else if (key == "api_read_token") {
            cfg.api_read_token = get_string(v, path, ptr);
        } else if (key == "query_log") {
            if (!v.is_object()) {
                fail(path, ptr, "expected an object like {\"sample\": 0.01}");
            }
            for (const auto& [qk, qv] : v.items()) {
                check_key(path, ptr, "query_log", qk);
                if (!qv.is_number() || qv.get<double>() < 0 || qv.get<double>() > 1) {
                    fail(path, ptr + "/sample", "expected a number from 0 to 1");
                }
                cfg.query_log_sample = qv.get<double>();
            }
        } else if (key == "demand") {
            if (!v.is_object()) {
                fail(path, ptr, "expected an object like {\"networks\": 4096, \"file\": \"...\"}");
            }
            for (const auto& [dk, dv] : v.items()) {
                check_key(path, ptr, "demand", dk);
                if (dk == "networks") {
                    cfg.demand_networks = get_uint(dv, path, ptr + "/networks", 0, 1U << 20U);
                } else {
                    cfg.demand_file = get_string(dv, path, ptr + "/file");
                }
            }
        } else if (key != "$schema" && key != "$comment" && !load_guard_key(key, v, path, cfg)) {
            fail(path, ptr, "key listed in kConfigKeys but not read");
        }
    }
}

}  // namespace dnslb::config
