// One string from several parts, sized once: for messages built in loops (a + b + c makes a
// temporary per +). Not for the query path, which does not build strings.
#pragma once

#include <string>
#include <string_view>

namespace dnslb::base {

template <class... Parts>
std::string concat(const Parts&... parts) {
    const std::string_view views[] = {std::string_view(parts)...};
    size_t size = 0;
    for (auto v : views) {
        size += v.size();
    }
    std::string out;
    out.reserve(size);
    for (auto v : views) {
        out += v;
    }
    return out;
}

}  // namespace dnslb::base
