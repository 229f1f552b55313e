#include "dnslb/cli.hpp"

#include <cstdlib>
#include <ctime>
#include <iostream>
#include <string_view>
#include <utility>

#include "dnslb/answer/explain.hpp"
#include "dnslb/control/build.hpp"
#include "dnslb/control/sign.hpp"
#include "dnslb/dnssec/dnssec.hpp"
#include "dnslb/import/import.hpp"
#include "dnslb/zone/loader.hpp"

namespace dnslb::cli {

namespace {

unsigned parse_count(const std::string& flag, const std::string& v, unsigned lo, unsigned hi) {
    char* end = nullptr;
    long n = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || n < lo || n > hi) {
        throw UsageError(flag + " expects a number from " + std::to_string(lo) + " to " +
                         std::to_string(hi) + ", got '" + v + "'");
    }
    return static_cast<unsigned>(n);
}

// Options whose value is kept as given, in the arguments or in the server configuration.
constexpr std::pair<std::string_view, std::string Args::*> kTextArgs[] = {
    {"--client", &Args::client},     {"--subnet", &Args::subnet}, {"--origin", &Args::origin},
    {"--output", &Args::output},     {"--axfr", &Args::axfr},     {"--gdnsd", &Args::gdnsd},
    {"--pool", &Args::pool},         {"--server", &Args::server}, {"--query-log", &Args::query_log},
    {"--networks", &Args::networks}, {"--svg", &Args::svg}};
constexpr std::pair<std::string_view, std::string config::Config::*> kTextConfig[] = {
    {"--zones", &config::Config::zones_dir},
    {"--key-dir", &config::Config::key_dir},
    {"--chaos-version", &config::Config::chaos_version},
    {"--chaos-id", &config::Config::chaos_id},
    {"--log-level", &config::Config::log_level},
    {"--xdp", &config::Config::xdp}};

// Stores the value of `arg` if it is a text option; false if it is not one.
template <typename Target, typename Member, size_t N, typename Value>
bool text_option(const std::string& arg, const std::pair<std::string_view, Member> (&table)[N],
                 Target& target, Value&& value) {
    for (const auto& [flag, member] : table) {
        if (arg == flag) {
            target.*member = value();
            return true;
        }
    }
    return false;
}

}  // namespace

Args parse(int argc, char** argv) {
    Args a;
    std::vector<std::string> argv_s(argv + 1, argv + argc);
    // The config file is read first wherever it appears, so flags override it.
    for (size_t i = 0; i + 1 < argv_s.size(); ++i) {
        if (argv_s[i] == "--config") {
            config::load_config_file(argv_s[i + 1], a.config);
        }
    }
    bool listen_from_flags = false;
    for (size_t i = 0; i < argv_s.size(); ++i) {
        const std::string& arg = argv_s[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argv_s.size()) {
                throw UsageError(arg + " needs a value");
            }
            return argv_s[++i];
        };
        if (text_option(arg, kTextArgs, a, value) ||
            text_option(arg, kTextConfig, a.config, value)) {
            continue;
        }
        if (arg == "-h" || arg == "--help") {
            a.help = true;
        } else if (arg == "-V" || arg == "--version") {
            a.version = true;
        } else if (arg == "--config") {
            value();
        } else if (arg == "--listen") {
            if (!listen_from_flags) {
                a.config.listen.clear();
                listen_from_flags = true;
            }
            a.config.listen.push_back(config::parse_listen(value()));
        } else if (arg == "--workers") {
            a.config.workers = parse_count(arg, value(), 1, 256);
        } else if (arg == "--geoip") {
            a.config.geoip.push_back(value());
        } else if (arg == "--probers") {
            a.config.probers = parse_count(arg, value(), 1, 64);
        } else if (arg == "--http") {
            a.config.http = value();
            config::parse_http_listen(a.config.http);
        } else if (arg == "--tcp-idle-timeout") {
            a.config.tcp.idle_timeout_ms = parse_count(arg, value(), 1, 3600) * 1000;
        } else if (arg == "--tcp-max-connections") {
            a.config.tcp.max_connections = parse_count(arg, value(), 1, 1000000);
        } else if (arg == "--query-log-sample") {
            a.config.query_log_sample = config::parse_sample_rate(value());
        } else if (arg == "--algorithm") {
            a.algorithm = parse_count(arg, value(), 13, 15);
            if (a.algorithm == 14) {
                throw UsageError("--algorithm expects 13 (ECDSAP256SHA256) or 15 (Ed25519)");
            }
        } else if (arg == "--add") {
            a.add.push_back(value());
        } else if (arg == "--remove") {
            a.remove.push_back(value());
        } else if (arg == "--route-factor") {
            std::string v = value();
            char* end = nullptr;
            a.route_factor = std::strtod(v.c_str(), &end);
            if (v.empty() || *end != '\0' || !(a.route_factor >= 1 && a.route_factor <= 10)) {
                throw UsageError("--route-factor expects a number from 1 to 10, got '" + v + "'");
            }
        } else if (arg == "--ksk") {
            a.key_flags = dnssec::kFlagsCsk;
        } else if (arg == "--zsk") {
            a.key_flags = dnssec::kFlagsZsk;
        } else if (arg.size() > 1 && arg[0] == '-') {
            throw UsageError("unknown option '" + arg + "'");
        } else if (a.command.empty()) {
            a.command = arg;
        } else {
            a.positional.push_back(arg);
        }
    }
    if (a.config.listen.empty()) {
        a.config.listen.push_back(config::parse_listen("127.0.0.1:5353"));
    }
    if (a.command.empty() && !a.help && !a.version) {
        throw UsageError("missing command (serve, check, explain, import, keygen or plan)");
    }
    return a;
}

namespace {

// The server-level settings `check` can verify without binding sockets: the geo databases open
// and have a known schema, and the HTTP API is not exposed without a token.
void check_server_config(const config::Config& cfg, int& errors,
                         std::vector<std::string>& warnings) {
    try {
        server::make_resolver(cfg);
    } catch (const std::exception& e) {
        std::cerr << "error: " << (cfg.file.empty() ? "" : cfg.file + ": /geoip: ") << e.what()
                  << "\n";
        ++errors;
    }
    if (!cfg.http.empty()) {
        config::ListenAddress http = config::parse_http_listen(cfg.http);
        if (!config::is_loopback(http) && cfg.api_token.empty()) {
            warnings.push_back((cfg.file.empty() ? std::string("--http") : cfg.file + ": /http") +
                               ": the HTTP API listens on " + http.text() +
                               ", beyond loopback, and no api_token is set");
        }
        for (const auto& dns : cfg.listen) {
            if (dns.host == http.host && dns.port == http.port) {
                std::cerr << "error: " << (cfg.file.empty() ? "--http" : cfg.file + ": /http")
                          << ": " << http.text() << " is also a DNS listen address\n";
                ++errors;
            }
        }
    }
}

}  // namespace

int check(const Args& args) {
    int errors = 0;
    std::vector<zone::Diagnostic> warnings;
    std::vector<std::string> server_warnings;
    if (!args.positional.empty()) {
        for (const auto& file : args.positional) {
            try {
                zone::load_zone_file(file, &warnings);
            } catch (const zone::LoadError& e) {
                std::cerr << "error: " << e.what() << "\n";
                ++errors;
            }
        }
    } else {
        check_server_config(args.config, errors, server_warnings);
        zone::DirResult r = zone::load_zone_dir(args.config.zones_dir);
        for (const auto& e : r.errors) {
            std::cerr << "error: " << e << "\n";
            ++errors;
        }
        warnings = r.warnings;
        // Signed zones: their keys must be readable, match the zone and be active now. A zone
        // with no key at all is only a warning: `dnslb serve` makes one.
        for (auto& z : r.zones) {
            if (!z->dnssec.on) {
                continue;
            }
            try {
                server::sign_zone(*z, args.config.key_dir, static_cast<int64_t>(::time(nullptr)),
                                  false);
            } catch (const zone::LoadError& e) {
                const std::string what = e.what();
                if (what.find(": no active ") != std::string::npos &&
                    what.find("KSK/CSK") != std::string::npos) {
                    server_warnings.push_back(what + "; dnslb serve makes one");
                } else {
                    std::cerr << "error: " << what << "\n";
                    ++errors;
                }
            }
        }
        if (r.zones.empty() && r.errors.empty()) {
            // As after installing the package: legal, but every query would get REFUSED.
            server_warnings.push_back(args.config.zones_dir +
                                      ": no zone files (*.json): every query gets REFUSED");
        }
    }
    for (const auto& w : server_warnings) {
        std::cerr << "warning: " << w << "\n";
    }
    for (const auto& w : warnings) {
        std::cerr << "warning: " << w.str() << "\n";
    }
    std::cout << (errors == 0 ? "ok" : "failed") << ": " << errors << " errors, "
              << warnings.size() + server_warnings.size() << " warnings\n";
    return errors == 0 ? 0 : 1;
}

int explain(const Args& args) {
    if (args.positional.size() != 1 || (!args.client.empty() && !args.subnet.empty())) {
        std::cerr << "dnslb: explain takes one NAME and at most one of --client, --subnet\n";
        return 2;
    }
    try {
        steering::Asker asker =
            args.subnet.empty()
                ? server::parse_asker(args.client.empty() ? "127.0.0.1" : args.client, false)
                : server::parse_asker(args.subnet, true);
        std::vector<std::string> errors;
        auto snap = server::build_snapshot(args.config, nullptr, server::make_resolver(args.config),
                                           errors);
        for (const auto& e : errors) {
            std::cerr << "error: " << e << "\n";
        }
        for (const auto& line : server::explain(*snap, args.positional[0], asker)) {
            std::cout << line << "\n";
        }
    } catch (const std::exception& e) {
        std::cerr << "dnslb: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

int import(const Args& args) {
    import::Options o;
    o.origin = args.origin;
    o.output = args.output;
    o.axfr = args.axfr;
    o.gdnsd = args.gdnsd;
    o.files = args.positional;
    return import::run(o);
}

// Prints the key's base name, then its DS record for the parent. The private key is never printed.
int keygen(const Args& args) {
    if (args.positional.size() != 1) {
        throw UsageError("keygen expects one zone name");
    }
    try {
        dnssec::Key key =
            dnssec::generate_key(args.positional[0], static_cast<uint8_t>(args.algorithm),
                                 static_cast<uint16_t>(args.key_flags));
        std::cout << dnssec::write_key(key, args.config.key_dir) << "\n";
        if (key.flags == dnssec::kFlagsCsk) {
            std::cout << dnssec::ds_text(key) << "\n";
        }
    } catch (const dnssec::Error& e) {
        std::cerr << "dnslb keygen: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

}  // namespace dnslb::cli
