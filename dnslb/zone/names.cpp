// Names, JSON pointers, durations and the typed JSON readers shared by the loader.
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "dnslb/zone/loader_detail.hpp"

namespace dnslb::zone {

namespace detail {

namespace {

constexpr size_t kMaxLabel = 63;  // RFC 1035 section 2.3.4
constexpr size_t kMaxName = 255;

char fold(char c, bool lower) {
    return lower && c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Characters that end a token in presentation format and must be escaped inside a name.
bool needs_escape(unsigned char c) {
    return c <= ' ' || c >= 0x7f || c == '"' || c == '(' || c == ')' || c == ';' || c == '\\';
}

bool close_label(std::string& out, size_t& label_start, std::string& why) {
    const size_t len = out.size() - label_start - 1;
    if (len == 0) {
        why = "empty label";
        return false;
    }
    if (len > kMaxLabel) {
        why = "label longer than 63 bytes";
        return false;
    }
    out[label_start] = static_cast<char>(len);
    label_start = out.size();
    out.push_back('\0');
    return true;
}

}  // namespace

bool ends_with_dot(std::string_view text) noexcept {
    if (text.empty() || text.back() != '.') {
        return false;
    }
    size_t backslashes = 0;
    for (size_t i = text.size() - 1; i > 0 && text[i - 1] == '\\'; --i) {
        ++backslashes;
    }
    return backslashes % 2 == 0;
}

bool text_to_wire(std::string_view text, bool absolute, bool lower, std::string& out,
                  std::string& why) {
    out.clear();
    if (text == ".") {
        out.push_back('\0');
        return true;
    }
    if (text.empty()) {
        why = "empty name";
        return false;
    }
    if (absolute && !ends_with_dot(text)) {
        why = "name '" + std::string(text) + "' is not absolute (no trailing dot)";
        return false;
    }
    size_t label_start = 0;
    out.push_back('\0');
    for (size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '.') {
            if (!close_label(out, label_start, why)) {
                return false;
            }
            continue;
        }
        if (c == '\\') {
            if (i + 3 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 1])) &&
                std::isdigit(static_cast<unsigned char>(text[i + 2])) &&
                std::isdigit(static_cast<unsigned char>(text[i + 3]))) {
                const int v =
                    (text[i + 1] - '0') * 100 + (text[i + 2] - '0') * 10 + (text[i + 3] - '0');
                if (v > 255) {
                    why = "escape \\" + std::string(text.substr(i + 1, 3)) + " out of range";
                    return false;
                }
                out.push_back(fold(static_cast<char>(v), lower));
                i += 3;
            } else if (i + 1 < text.size()) {
                out.push_back(fold(text[i + 1], lower));
                ++i;
            } else {
                why = "dangling backslash";
                return false;
            }
            continue;
        }
        if (needs_escape(c)) {
            why = "character '" + std::string(1, static_cast<char>(c)) +
                  "' must be escaped in a name";
            return false;
        }
        out.push_back(fold(static_cast<char>(c), lower));
    }
    if (out.size() - label_start > 1) {  // relative name: close the last label
        if (!close_label(out, label_start, why)) {
            return false;
        }
    }
    out.resize(out.size() - 1);  // drop the placeholder opened after the last dot
    if (ends_with_dot(text)) {
        out.push_back('\0');
    }
    if (out.size() > kMaxName) {
        why = "name longer than 255 bytes";
        return false;
    }
    return true;
}

std::string_view parent_name(std::string_view wire) noexcept {
    if (wire.empty() || wire[0] == 0) {
        return {};
    }
    const size_t skip = 1 + static_cast<uint8_t>(wire[0]);
    return skip < wire.size() ? wire.substr(skip) : std::string_view{};
}

std::string lower_wire(std::string_view wire) {
    std::string out(wire);
    for (auto& c : out) {
        c = fold(c, true);
    }
    return out;
}

std::string ptr_join(const std::string& base, std::string_view key) {
    std::string out = base;
    out.push_back('/');
    for (const char c : key) {
        if (c == '~') {
            out += "~0";
        } else if (c == '/') {
            out += "~1";
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::string ptr_join(const std::string& base, size_t index) {
    return base + "/" + std::to_string(index);
}

void Ctx::fail(const std::string& ptr, const std::string& reason) const {
    throw LoadError(ptr.empty() ? file_ + ": " + reason : file_ + ": " + ptr + ": " + reason);
}

void Ctx::warn(const std::string& ptr, const std::string& message) const {
    if (warnings_ != nullptr) {
        warnings_->push_back(Diagnostic{file_, ptr, message});
    }
}

void Ctx::check_keys(const Json& obj, const std::string& ptr,
                     std::initializer_list<std::string_view> allowed) const {
    for (const auto& item : obj.items()) {
        const std::string& key = item.key();
        if (key == "$comment") {
            continue;
        }
        bool known = false;
        std::string list;
        for (const auto a : allowed) {
            known = known || a == key;
            list += list.empty() ? "" : ", ";
            list += a;
        }
        if (!known) {
            std::string reason = "unknown key '";
            reason.append(key).append("' (expected one of: ").append(list).append(")");
            fail(ptr_join(ptr, key), reason);
        }
    }
}

const Json& Ctx::object(const Json& v, const std::string& ptr) const {
    if (!v.is_object()) {
        fail(ptr, std::string("expected an object, got ") + v.type_name());
    }
    return v;
}

const std::string& Ctx::string(const Json& v, const std::string& ptr) const {
    if (!v.is_string()) {
        fail(ptr, std::string("expected a string, got ") + v.type_name());
    }
    return v.get_ref<const std::string&>();
}

int64_t Ctx::integer(const Json& v, const std::string& ptr, int64_t min, int64_t max) const {
    int64_t n = 0;
    if (v.is_number_unsigned()) {
        const auto u = v.get<uint64_t>();
        if (u > static_cast<uint64_t>(max)) {
            fail(ptr, std::to_string(u) + " is out of range " + std::to_string(min) + ".." +
                          std::to_string(max));
        }
        n = static_cast<int64_t>(u);
    } else if (v.is_number_integer()) {
        n = v.get<int64_t>();
    } else if (v.is_number_float()) {
        fail(ptr, "expected an integer, got " + v.dump());
    } else {
        fail(ptr, std::string("expected an integer, got ") + v.type_name());
    }
    if (n < min || n > max) {
        fail(ptr, std::to_string(n) + " is out of range " + std::to_string(min) + ".." +
                      std::to_string(max));
    }
    return n;
}

double Ctx::number(const Json& v, const std::string& ptr, double min, double max) const {
    if (!v.is_number()) {
        fail(ptr, std::string("expected a number, got ") + v.type_name());
    }
    const auto d = v.get<double>();
    if (!(d >= min && d <= max)) {
        fail(ptr, v.dump() + " is out of range " + Json(min).dump() + ".." + Json(max).dump());
    }
    return d;
}

uint32_t Ctx::ttl(const Json& v, const std::string& ptr) const {
    if (!v.is_number()) {
        fail(ptr, std::string("a TTL is an integer number of seconds, got ") + v.type_name());
    }
    return static_cast<uint32_t>(integer(v, ptr, 0, kMaxTtl));
}

uint64_t Ctx::duration_ms(const Json& v, const std::string& ptr, bool positive) const {
    std::optional<uint64_t> ms;
    if (v.is_number()) {
        const auto s = v.get<double>();
        if (s >= 0 && s < 1e12) {
            ms = static_cast<uint64_t>(std::llround(s * 1000));
        }
    } else if (v.is_string()) {
        ms = parse_duration_ms(v.get_ref<const std::string&>());
    } else {
        fail(ptr, std::string("expected a duration (seconds, or a string like \"500ms\"), got ") +
                      v.type_name());
    }
    if (!ms) {
        fail(ptr, "'" + (v.is_string() ? v.get<std::string>() : v.dump()) +
                      "' is not a duration (seconds, or a number with ms, s, m, h or d)");
    }
    if (positive && *ms == 0) {
        fail(ptr, "duration must be greater than zero");
    }
    return *ms;
}

}  // namespace detail

std::string name_to_wire(std::string_view text) {
    std::string out;
    std::string why;
    if (!detail::text_to_wire(text, true, true, out, why)) {
        throw LoadError("'" + std::string(text) + "': " + why);
    }
    return out;
}

std::string wire_to_text(std::string_view wire) {
    std::string out;
    size_t i = 0;
    while (i < wire.size()) {
        const auto len = static_cast<uint8_t>(wire[i]);
        if (len == 0 || i + 1 + len > wire.size()) {
            break;
        }
        for (size_t j = i + 1; j <= i + len; ++j) {
            const auto c = static_cast<unsigned char>(wire[j]);
            if (c == '.' || c == '\\' || c == '"' || c == '(' || c == ')' || c == ';') {
                out.push_back('\\');
                out.push_back(static_cast<char>(c));
            } else if (c <= ' ' || c >= 0x7f) {
                char buf[5];
                std::snprintf(buf, sizeof buf, "\\%03u", static_cast<unsigned>(c));
                out += buf;
            } else {
                out.push_back(static_cast<char>(c));
            }
        }
        out.push_back('.');
        i += 1 + len;
    }
    return out.empty() ? "." : out;
}

bool is_subdomain(std::string_view wire, std::string_view apex) noexcept {
    while (!wire.empty()) {
        if (wire.size() == apex.size()) {
            return wire == apex;
        }
        if (wire.size() < apex.size()) {
            return false;
        }
        wire = detail::parent_name(wire);
    }
    return false;
}

std::optional<uint64_t> parse_duration_ms(std::string_view text) noexcept {
    size_t n = 0;
    while (n < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[n])) != 0 || text[n] == '.')) {
        ++n;
    }
    if (n == 0 || !std::isdigit(static_cast<unsigned char>(text[0]))) {
        return std::nullopt;
    }
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + n, value);
    if (ec != std::errc{} || end != text.data() + n) {
        return std::nullopt;
    }
    const std::string_view unit = text.substr(n);
    double scale = 0;
    if (unit.empty() || unit == "s") {
        scale = 1000;
    } else if (unit == "ms") {
        scale = 1;
    } else if (unit == "m") {
        scale = 60'000;
    } else if (unit == "h") {
        scale = 3'600'000;
    } else if (unit == "d") {
        scale = 86'400'000;
    } else {
        return std::nullopt;
    }
    const double ms = value * scale;
    if (!(ms < 1e15)) {
        return std::nullopt;
    }
    return static_cast<uint64_t>(std::llround(ms));
}

}  // namespace dnslb::zone
