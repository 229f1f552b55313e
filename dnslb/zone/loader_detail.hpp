// Shared by the loader's translation units; not part of the public interface.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dnslb/zone/loader.hpp"
#include "dnslb/zone/zone.hpp"

namespace dnslb::zone::detail {

// ordered_json keeps keys in file order: the order of `origins` is the failover order.
using Json = nlohmann::ordered_json;

// Presentation name to wire. `lower` folds ASCII case (RFC 4343). Accepts relative names
// (no trailing dot) when `absolute` is false. Returns false with a reason in `why`.
bool text_to_wire(std::string_view text, bool absolute, bool lower, std::string& out,
                  std::string& why);
// True when the last character is a dot that no backslash escapes.
bool ends_with_dot(std::string_view text) noexcept;
// The wire name one label up; the root has no parent (returns empty).
std::string_view parent_name(std::string_view wire) noexcept;
std::string lower_wire(std::string_view wire);

// JSON pointer (RFC 6901) building.
std::string ptr_join(const std::string& base, std::string_view key);
std::string ptr_join(const std::string& base, size_t index);

// Per-file loading context: where messages go and the typed JSON readers that name the place.
class Ctx {
public:
    Ctx(std::string file, std::vector<Diagnostic>* warnings)
        : file_(std::move(file)), warnings_(warnings) {}

    [[noreturn]] void fail(const std::string& ptr, const std::string& reason) const;
    void warn(const std::string& ptr, const std::string& message) const;

    // The typo guard: every key of `obj` must be in `allowed` (or "$comment").
    void check_keys(const Json& obj, const std::string& ptr,
                    std::initializer_list<std::string_view> allowed) const;
    const Json& object(const Json& v, const std::string& ptr) const;
    const std::string& string(const Json& v, const std::string& ptr) const;
    int64_t integer(const Json& v, const std::string& ptr, int64_t min, int64_t max) const;
    double number(const Json& v, const std::string& ptr, double min, double max) const;
    uint32_t ttl(const Json& v, const std::string& ptr) const;
    // Seconds as a number, or a duration string; must be > 0 when `positive`.
    uint64_t duration_ms(const Json& v, const std::string& ptr, bool positive) const;

    const std::string& file() const { return file_; }

private:
    std::string file_;
    std::vector<Diagnostic>* warnings_;
};

// Fills zone.monitors from /monitors, then zone.pools from /pools (monitors first: pools refer
// to them by name).
void load_monitors(const Ctx& ctx, const Json& root, Zone& zone);
void load_pools(const Ctx& ctx, const Json& root, Zone& zone);

}  // namespace dnslb::zone::detail
