// One line per event on stderr: "<UTC time> <level> <message>". Not for the query path.
#pragma once

#include <string>

namespace dnslb::log {

enum class Level : int { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Throws std::invalid_argument for an unknown name (debug, info, warn, error).
void set_level(const std::string& name);
bool enabled(Level l) noexcept;
void write(Level l, const std::string& message);

inline void debug(const std::string& m) { write(Level::kDebug, m); }
inline void info(const std::string& m) { write(Level::kInfo, m); }
inline void warn(const std::string& m) { write(Level::kWarn, m); }
inline void error(const std::string& m) { write(Level::kError, m); }

}  // namespace dnslb::log
