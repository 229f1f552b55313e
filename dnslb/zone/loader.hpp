// Zone loading: JSON zone files (format in zones/zone.schema.json and the README) to Zone.
// Runs on the control thread only; may allocate and throw freely.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "dnslb/zone/zone.hpp"

namespace dnslb::zone {

// A load error names the file, the JSON pointer (or line:col for syntax errors) and the reason:
//   "zones/example.json: /records/www/A/1: '300.1.1.1' is not an IPv4 address"
class LoadError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Diagnostic {
    std::string file;
    std::string pointer;  // JSON pointer, or "line:col" for syntax errors
    std::string message;
    std::string str() const { return file + ": " + pointer + ": " + message; }
};

// Parses and validates one zone. `file` is used in messages. Throws LoadError.
std::unique_ptr<Zone> load_zone_text(std::string_view json_text, const std::string& file,
                                     std::vector<Diagnostic>* warnings = nullptr);
std::unique_ptr<Zone> load_zone_file(const std::string& path,
                                     std::vector<Diagnostic>* warnings = nullptr);

struct DirResult {
    std::vector<std::unique_ptr<Zone>> zones;  // the zones that loaded
    std::vector<std::string> errors;           // one line per zone that did not
    std::vector<Diagnostic> warnings;
    std::vector<std::string> failed_files;               // files whose zone did not load
    std::vector<std::shared_ptr<const Zone>> unchanged;  // `previous` gave them back: not reloaded
};
// Given a file and the digest of its bytes, the zone already loaded from those very bytes, or
// nullptr.
using PreviousZone = std::function<std::shared_ptr<const Zone>(
    const std::string& path, const std::array<uint8_t, 32>& digest)>;
// Loads every *.json file in `dir` except *.schema.json, in name order. A bad zone is reported
// and skipped; the others load. Two files with the same origin: the second is an error. With
// `previous`, a file whose bytes equal those of an already loaded zone is not parsed again:
// that zone is listed in `unchanged` (a reload then costs only what changed).
DirResult load_zone_dir(const std::string& dir, const PreviousZone& previous = {});

// Helpers shared with the server and tools.
// Presentation name (absolute, with trailing dot) to lower-cased wire format; throws LoadError.
std::string name_to_wire(std::string_view text);
// Wire name to presentation with trailing dot (for logs and explain).
std::string wire_to_text(std::string_view wire);
// A duration string: a decimal number with an optional unit ms, s (default), m, h or d:
// "500ms", "2s", "1.5s", "1m", "30". Returns milliseconds, or nullopt when malformed, negative
// or too large. JSON numbers in zone files are seconds and go through the same rules.
std::optional<uint64_t> parse_duration_ms(std::string_view text) noexcept;
// True when `wire` equals `apex` or lies below it (both lower-cased wire names).
bool is_subdomain(std::string_view wire, std::string_view apex) noexcept;

}  // namespace dnslb::zone
