// Command-line parsing and the offline commands (check, explain, import, keygen, plan).
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "dnslb/config/config.hpp"

namespace dnslb::cli {

class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Args {
    std::string command;
    config::Config config;
    std::vector<std::string> positional;
    std::string client;               // explain --client
    std::string subnet;               // explain --subnet
    std::string origin;               // import --origin
    std::string output;               // import --output
    std::string axfr;                 // import --axfr
    std::string gdnsd;                // import --gdnsd
    unsigned algorithm = 13;          // keygen --algorithm
    unsigned key_flags = 257;         // keygen: CSK; --ksk 257, --zsk 256
    std::string pool;                 // plan --pool
    std::vector<std::string> add;     // plan --add NAME:LAT,LON
    std::vector<std::string> remove;  // plan --remove NAME
    std::string server;               // plan --server URL
    std::string query_log;            // plan --query-log FILE
    std::string networks;             // plan --networks FILE
    std::string svg;                  // plan --svg FILE
    double route_factor = 1.5;        // plan --route-factor
    bool help = false;
    bool version = false;
};

// Throws UsageError for bad flags, config::ConfigError for a bad config file or value.
Args parse(int argc, char** argv);
int check(const Args& args);
int explain(const Args& args);
int import(const Args& args);  // the converters live in dnslb/import/
int keygen(const Args& args);  // DNSSEC key files, dnslb/dnssec/
int plan(const Args& args);    // the what-if planner, dnslb/plan/ (cli_plan.cpp)

}  // namespace dnslb::cli
