#include "dnslb/import/vscf.hpp"

#include <glob.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "dnslb/base/concat.hpp"
#include "dnslb/import/master_file.hpp"

namespace dnslb::import {

namespace {

using Json = nlohmann::ordered_json;

constexpr int kMaxDepth = 64;  // nesting of hashes, arrays and includes

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw ImportError(path + ": cannot open");
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

class Parser {
public:
    Parser(const std::string& text, std::string file, std::string dir, int depth)
        : text_(text), file_(std::move(file)), dir_(std::move(dir)), depth_(depth) {}

    Json top() {
        skip();
        Json out;
        if (peek() == '[') {
            ++pos_;
            out = array_body();
        } else {
            out = hash_body(true);
        }
        skip();
        if (pos_ < text_.size()) {
            fail("unexpected '" + std::string(1, text_[pos_]) + "'");
        }
        return out;
    }

private:
    [[noreturn]] void fail(const std::string& why) const {
        size_t line = 1;
        for (size_t i = 0; i < pos_ && i < text_.size(); ++i) {
            line += text_[i] == '\n' ? 1 : 0;
        }
        throw ImportError(file_ + ": line " + std::to_string(line) + ": " + why);
    }
    char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
    void skip() {
        while (pos_ < text_.size()) {
            const char c = text_[pos_];
            if (c == '#' || c == ';') {
                while (pos_ < text_.size() && text_[pos_] != '\n') {
                    ++pos_;
                }
            } else if (std::isspace(static_cast<unsigned char>(c)) != 0) {
                ++pos_;
            } else {
                return;
            }
        }
    }
    static bool bare_char(char c) {
        return std::isspace(static_cast<unsigned char>(c)) == 0 &&
               std::string_view("][}{;#,\"=").find(c) == std::string_view::npos && c != '\0';
    }
    // One escape after a backslash: \DDD or \X.
    void escape(std::string& out) {
        ++pos_;
        if (pos_ + 2 < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_])) &&
            std::isdigit(static_cast<unsigned char>(text_[pos_ + 1])) &&
            std::isdigit(static_cast<unsigned char>(text_[pos_ + 2]))) {
            const int v =
                (text_[pos_] - '0') * 100 + (text_[pos_ + 1] - '0') * 10 + (text_[pos_ + 2] - '0');
            if (v > 255) {
                fail("escape \\" + text_.substr(pos_, 3) + " out of range");
            }
            out.push_back(static_cast<char>(v));
            pos_ += 3;
        } else if (pos_ < text_.size()) {
            out.push_back(text_[pos_++]);
        } else {
            fail("dangling backslash");
        }
    }
    std::string scalar() {
        std::string out;
        if (peek() == '"') {
            ++pos_;
            while (peek() != '"') {
                if (pos_ >= text_.size()) {
                    fail("unterminated quoted string");
                }
                if (peek() == '\\') {
                    escape(out);
                } else {
                    out.push_back(text_[pos_++]);
                }
            }
            ++pos_;
            return out;
        }
        if (peek() == '$') {
            fail("a bare string cannot start with '$'");
        }
        while (pos_ < text_.size() && (bare_char(text_[pos_]) || text_[pos_] == '\\')) {
            if (text_[pos_] == '\\') {
                escape(out);
            } else {
                out.push_back(text_[pos_++]);
            }
        }
        if (out.empty()) {
            fail(pos_ < text_.size() ? "unexpected '" + std::string(1, text_[pos_]) + "'"
                                     : "unexpected end of file");
        }
        return out;
    }
    bool at_include() const { return text_.compare(pos_, 9, "$include{") == 0; }
    std::vector<std::string> include_files() {
        pos_ += 9;
        skip();
        const std::string path = scalar();
        skip();
        if (peek() != '}') {
            fail("expected '}' after the $include path");
        }
        ++pos_;
        std::filesystem::path p(path);
        if (p.is_relative()) {
            p = std::filesystem::path(dir_) / p;
        }
        std::vector<std::string> files;
        if (std::filesystem::is_directory(p)) {
            for (const auto& e : std::filesystem::directory_iterator(p)) {
                if (e.is_regular_file()) {
                    files.push_back(e.path().string());
                }
            }
            std::sort(files.begin(), files.end());
            return files;
        }
        glob_t g{};
        // NOLINTNEXTLINE(concurrency-mt-unsafe): the import command runs one thread
        if (::glob(p.c_str(), 0, nullptr, &g) == 0) {
            for (size_t i = 0; i < g.gl_pathc; ++i) {
                files.emplace_back(g.gl_pathv[i]);
            }
        }
        globfree(&g);
        if (files.empty()) {
            fail("$include{" + path + "}: no such file");
        }
        return files;
    }
    Json parse_file(const std::string& path) const {
        if (depth_ >= kMaxDepth) {
            fail("$include nested too deep");
        }
        const std::string text = read_text(path);
        return Parser(text, path, std::filesystem::path(path).parent_path().string(), depth_ + 1)
            .top();
    }
    Json value() {
        skip();
        if (++depth_ > kMaxDepth) {
            fail("nested too deep");
        }
        Json out;
        if (peek() == '{') {
            ++pos_;
            out = hash_body(false);
        } else if (peek() == '[') {
            ++pos_;
            out = array_body();
        } else if (at_include()) {
            const auto files = include_files();
            if (files.size() != 1) {
                fail("$include of several files where a value is expected");
            }
            out = parse_file(files[0]);
        } else {
            out = scalar();
        }
        --depth_;
        return out;
    }
    void separator() {
        skip();
        if (peek() == ',') {
            ++pos_;
        }
    }
    Json hash_body(bool top) {
        Json out = Json::object();
        while (true) {
            skip();
            if (!top && peek() == '}') {
                ++pos_;
                return out;
            }
            if (pos_ >= text_.size()) {
                if (top) {
                    return out;
                }
                fail("unexpected end of file: missing '}'");
            }
            if (at_include()) {
                for (const auto& f : include_files()) {
                    Json inc = parse_file(f);
                    if (!inc.is_object()) {
                        fail(f + ": an included file merged into a hash must be a hash");
                    }
                    for (auto& [k, v] : inc.items()) {
                        if (out.contains(k)) {
                            fail(base::concat("key '", k, "' from ", f, " is already set"));
                        }
                        out[k] = v;
                    }
                }
                separator();
                continue;
            }
            const std::string key = scalar();
            skip();
            if (text_.compare(pos_, 2, "=>") == 0) {
                pos_ += 2;
            } else if (peek() == '=') {
                ++pos_;
            } else {
                fail("expected '=>' after key '" + key + "'");
            }
            if (out.contains(key)) {
                fail("key '" + key + "' is given twice");
            }
            out[key] = value();
            separator();
        }
    }
    Json array_body() {
        Json out = Json::array();
        while (true) {
            skip();
            if (peek() == ']') {
                ++pos_;
                return out;
            }
            if (pos_ >= text_.size()) {
                fail("unexpected end of file: missing ']'");
            }
            out.push_back(value());
            separator();
        }
    }

    const std::string& text_;
    std::string file_;
    std::string dir_;
    int depth_;
    size_t pos_ = 0;
};

}  // namespace

Json parse_vscf(const std::string& text, const std::string& file, const std::string& dir) {
    return Parser(text, file, dir, 0).top();
}

Json parse_vscf_file(const std::string& path) {
    const std::string text = read_text(path);
    return parse_vscf(text, path, std::filesystem::path(path).parent_path().string());
}

}  // namespace dnslb::import
