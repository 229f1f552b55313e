// Zone files and the zone directory: reading, digests, and which zones a reload keeps. The
// JSON reader is zone/reader.*, the checks zone/checks.cpp.
#include "dnslb/zone/loader.hpp"

#include <sodium.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace dnslb::zone {

namespace {

std::string read_zone_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw LoadError(path + ": cannot open: " + std::generic_category().message(errno));
    }
    std::string text;  // read in place: the file can be tens of MB
    std::error_code size_ec;
    const auto size = std::filesystem::file_size(path, size_ec);
    if (!size_ec) {
        text.reserve(size);
    }
    char chunk[65536];
    while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
        text.append(chunk, static_cast<size_t>(in.gcount()));
    }
    if (in.bad()) {
        throw LoadError(path + ": cannot read: " + std::generic_category().message(errno));
    }
    return text;
}

std::array<uint8_t, 32> digest_of(std::string_view text) {
    std::array<uint8_t, 32> out{};
    crypto_generichash(out.data(), out.size(), reinterpret_cast<const uint8_t*>(text.data()),
                       text.size(), nullptr, 0);
    return out;
}

}  // namespace

std::unique_ptr<Zone> load_zone_file(const std::string& path, std::vector<Diagnostic>* warnings) {
    std::string text = read_zone_file(path);
    auto zone = load_zone_text(text, path, warnings);
    zone->source_digest = digest_of(text);
    return zone;
}

DirResult load_zone_dir(const std::string& dir, const PreviousZone& previous) {
    namespace fs = std::filesystem;
    DirResult out;
    std::vector<std::string> files;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        const auto ends = [&](std::string_view suffix) {
            return name.size() >= suffix.size() &&
                   name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
        };
        if (ends(".json") && !ends(".schema.json") && !it->is_directory()) {
            files.push_back(it->path().string());
        }
    }
    if (ec) {
        out.errors.push_back(dir + ": cannot read directory: " + ec.message());
        return out;
    }
    std::sort(files.begin(), files.end());
    std::map<std::string, std::string> origins;  // origin wire -> file
    for (const auto& path : files) {
        try {
            std::vector<Diagnostic> warnings;
            std::string text = read_zone_file(path);
            std::array<uint8_t, 32> digest = digest_of(text);
            std::shared_ptr<const Zone> same = previous ? previous(path, digest) : nullptr;
            std::unique_ptr<Zone> zone;
            if (same == nullptr) {
                zone = load_zone_text(text, path, &warnings);
                zone->source_digest = digest;
            }
            const Zone& z = same != nullptr ? *same : *zone;
            const auto [it, fresh] = origins.emplace(z.origin, path);
            if (!fresh) {
                throw LoadError(path + ": /origin: zone " + z.origin_text +
                                " is already loaded from " + it->second);
            }
            out.warnings.insert(out.warnings.end(), warnings.begin(), warnings.end());
            if (same != nullptr) {
                out.unchanged.push_back(std::move(same));
            } else {
                out.zones.push_back(std::move(zone));
            }
        } catch (const LoadError& e) {
            out.errors.emplace_back(e.what());
            out.failed_files.push_back(path);
        }
    }
    return out;
}

}  // namespace dnslb::zone
