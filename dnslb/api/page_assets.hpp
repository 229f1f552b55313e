// The dashboard page's files (dnslb/api/page/ and the map libraries from node_modules/),
// embedded into the binary at build time by tools/embed-page: the server needs no files and
// no other host to serve the page.
#pragma once

#include <cstddef>
#include <span>

namespace dnslb::api {

struct PageAsset {
    const char* path;  // "/index.html", "/assets/app.js", ...
    const char* content_type;
    const unsigned char* data;
    size_t size;
};

std::span<const PageAsset> page_assets();

}  // namespace dnslb::api
