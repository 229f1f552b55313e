// Prometheus text exposition: a label value with backslash, double quote and newline escaped.
#pragma once

#include <string>

namespace dnslb::base {

inline std::string prom_label(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace dnslb::base
