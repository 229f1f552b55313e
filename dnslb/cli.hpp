// Command-line parsing and the offline commands (check, explain, import).
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
    std::string client;  // explain --client
    std::string subnet;  // explain --subnet
    std::string origin;  // import --origin
    std::string output;  // import --output
    std::string axfr;    // import --axfr
    std::string gdnsd;   // import --gdnsd
    bool help = false;
    bool version = false;
};

// Throws UsageError for bad flags, config::ConfigError for a bad config file or value.
Args parse(int argc, char** argv);
int check(const Args& args);
int explain(const Args& args);
int import(const Args& args);  // the converters live in dnslb/import/

}  // namespace dnslb::cli
