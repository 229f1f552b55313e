// The text of an errno value, from strerror_r: std::strerror may share one buffer between
// threads (POSIX does not require it to be thread-safe), and the probers, the control thread
// and start-up all report system errors.
#pragma once

#include <cstring>
#include <string>

namespace dnslb::base {

inline std::string errno_text(int err) {
    char buf[128];
    // GNU strerror_r returns a pointer to the message: into buf, or to a static string.
    return ::strerror_r(err, buf, sizeof buf);
}

}  // namespace dnslb::base
