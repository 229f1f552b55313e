// Tests for dnslb/config/config.cpp that the e2e tests (which start the binary with real
// configuration files) cannot pin as precisely.
#include "dnslb/config/config.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

using Catch::Matchers::Contains;

// e273bb5: nlohmann::json reports a number too large for a double as out_of_range, not as a
// parse_error; it escaped load_config_file as an uncaught exception (found by fuzz-config).
TEST_CASE("regression: a number too large for a double (1e400) escaped the config loader",
          "[config][regression]") {
    char path[] = "/tmp/dnslb-config-test-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    {
        std::ofstream out(path);
        out << R"({"workers": 1e400})";
    }
    dnslb::config::Config cfg;
    CHECK_THROWS_AS(dnslb::config::load_config_file(path, cfg), dnslb::config::ConfigError);
    CHECK_THROWS_WITH(dnslb::config::load_config_file(path, cfg), Contains(path));
    std::remove(path);
}
