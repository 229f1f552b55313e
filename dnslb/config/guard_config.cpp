// The "rrl", "cookies", "attack" and "tcp" sections of the server configuration.
#include <nlohmann/json.hpp>

#include "dnslb/config/config.hpp"

namespace dnslb::config {

namespace {

using json = nlohmann::json;

[[noreturn]] void fail(const std::string& file, const std::string& ptr, const std::string& why) {
    throw ConfigError(file + ": " + ptr + ": " + why);
}

uint32_t number(const json& v, const std::string& file, const std::string& ptr, uint64_t lo,
                uint64_t hi) {
    if (!v.is_number_integer() || v.get<int64_t>() < static_cast<int64_t>(lo) ||
        v.get<uint64_t>() > hi) {
        fail(file, ptr,
             "expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
    }
    return v.get<uint32_t>();
}

bool boolean(const json& v, const std::string& file, const std::string& ptr) {
    if (!v.is_boolean()) {
        fail(file, ptr, "expected true or false");
    }
    return v.get<bool>();
}

template <typename F>
void each(const json& v, const std::string& file, const std::string& ptr, F&& f) {
    if (!v.is_object()) {
        fail(file, ptr, "expected an object");
    }
    for (const auto& [key, val] : v.items()) {
        check_key(file, ptr, std::string_view(ptr).substr(1), key);
        std::string at = ptr;
        at += '/';
        at += key;
        if (!f(key, val, at)) {
            fail(file, at, "key listed in kConfigKeys but not read");
        }
    }
}

void load_rrl(const json& v, const std::string& file, GuardConfig& g) {
    g.rrl.enabled = true;  // a section present means on, unless it says otherwise
    each(v, file, "/rrl", [&](const std::string& k, const json& x, const std::string& p) {
        if (k == "enabled") {
            g.rrl.enabled = boolean(x, file, p);
        } else if (k == "responses_per_second") {
            g.rrl.responses_per_second = number(x, file, p, 1, 1000000);
        } else if (k == "nxdomains_per_second") {
            g.rrl.nxdomains_per_second = number(x, file, p, 1, 1000000);
        } else if (k == "errors_per_second") {
            g.rrl.errors_per_second = number(x, file, p, 1, 1000000);
        } else if (k == "referrals_per_second") {
            g.rrl.referrals_per_second = number(x, file, p, 1, 1000000);
        } else if (k == "slip") {
            g.rrl.slip = number(x, file, p, 0, 10);
        } else if (k == "ipv4_prefix") {
            g.rrl.ipv4_prefix = static_cast<uint8_t>(number(x, file, p, 8, 32));
        } else if (k == "ipv6_prefix") {
            g.rrl.ipv6_prefix = static_cast<uint8_t>(number(x, file, p, 16, 128));
        } else if (k == "table_size") {
            g.rrl.table_size = number(x, file, p, 1024, 1U << 24);
        } else if (k == "exempt") {
            if (!x.is_array()) {
                fail(file, p, "expected a list of networks");
            }
            for (size_t i = 0; i < x.size(); ++i) {
                uint8_t fam = 0;
                uint8_t bytes[16];
                uint8_t prefix = 0;
                if (!x[i].is_string()) {
                    fail(file, p + "/" + std::to_string(i), "expected a network like 192.0.2.0/24");
                }
                try {
                    parse_cidr(x[i].get<std::string>(), fam, bytes, prefix);
                } catch (const std::invalid_argument& e) {
                    fail(file, p + "/" + std::to_string(i), e.what());
                }
                g.rrl_exempt.push_back(x[i].get<std::string>());
            }
        } else {
            return false;
        }
        return true;
    });
}

std::array<uint8_t, 16> hex_secret(const json& v, const std::string& file, const std::string& p) {
    std::array<uint8_t, 16> out{};
    std::string hex = v.is_string() ? v.get<std::string>() : "";
    if (hex.size() != 32) {
        fail(file, p, "expected 32 hexadecimal digits (a 128-bit secret)");
    }
    for (size_t i = 0; i < 16; ++i) {
        char* end = nullptr;
        std::string byte = hex.substr(i * 2, 2);
        long b = std::strtol(byte.c_str(), &end, 16);
        if (*end != '\0') {
            fail(file, p, "expected 32 hexadecimal digits (a 128-bit secret)");
        }
        out[i] = static_cast<uint8_t>(b);
    }
    return out;
}

}  // namespace

bool load_guard_key(const std::string& key, const json& v, const std::string& file, Config& cfg) {
    GuardConfig& g = cfg.guard;
    if (key == "rrl") {
        load_rrl(v, file, g);
    } else if (key == "cookies") {
        each(v, file, "/cookies", [&](const std::string& k, const json& x, const std::string& p) {
            if (k == "enabled") {
                g.cookies.enabled = boolean(x, file, p);
            } else if (k == "secret") {
                g.cookies.master = hex_secret(x, file, p);
                g.cookie_secret_set = true;
            } else if (k == "rotate") {
                g.cookies.rotate_s = number(x, file, p, 60, uint64_t{86400} * 30);
            } else {
                return false;
            }
            return true;
        });
    } else if (key == "attack") {
        each(v, file, "/attack", [&](const std::string& k, const json& x, const std::string& p) {
            if (k == "auto_qps") {
                g.attack.auto_qps = number(x, file, p, 0, 100000000);
            } else if (k == "tc_above_bytes") {
                g.attack.tc_above_bytes = number(x, file, p, 64, 1232);
            } else if (k == "rrl_divisor") {
                g.attack.rrl_divisor = number(x, file, p, 1, 1000);
            } else {
                return false;
            }
            return true;
        });
    } else if (key == "tcp") {
        each(v, file, "/tcp", [&](const std::string& k, const json& x, const std::string& p) {
            if (k == "idle_timeout") {
                cfg.tcp.idle_timeout_ms = number(x, file, p, 1, 3600) * 1000;
            } else if (k == "max_connections") {
                cfg.tcp.max_connections = number(x, file, p, 1, 1000000);
            } else if (k == "max_per_source") {
                cfg.tcp.max_per_source = number(x, file, p, 1, 1000000);
            } else if (k == "max_queries") {
                cfg.tcp.max_queries = number(x, file, p, 1, 100000000);
            } else if (k == "query_timeout") {
                cfg.tcp.query_timeout_ms = number(x, file, p, 1, 600) * 1000;
            } else {
                return false;
            }
            return true;
        });
    } else {
        return false;
    }
    return true;
}

}  // namespace dnslb::config
