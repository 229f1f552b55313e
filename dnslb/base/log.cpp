#include "dnslb/base/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <stdexcept>

namespace dnslb::log {

namespace {
std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
constexpr const char* kNames[] = {"debug", "info", "warn", "error"};
}  // namespace

void set_level(const std::string& name) {
    for (int i = 0; i < 4; ++i) {
        if (name == kNames[i]) {
            g_level.store(i);
            return;
        }
    }
    throw std::invalid_argument("unknown log level '" + name +
                                "' (expected debug, info, warn or error)");
}

bool enabled(Level l) noexcept { return static_cast<int>(l) >= g_level.load(); }

void write(Level l, const std::string& message) {
    if (!enabled(l)) {
        return;
    }
    using namespace std::chrono;
    auto now = system_clock::now();
    std::time_t t = system_clock::to_time_t(now);
    auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    // One fprintf per line: stdio locks the stream, so lines from threads never interleave.
    std::fprintf(stderr, "%s.%03dZ %-5s %s\n", stamp, static_cast<int>(ms),
                 kNames[static_cast<int>(l)], message.c_str());
}

}  // namespace dnslb::log
