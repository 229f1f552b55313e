#include "dnslb/import/master_file.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "dnslb/base/concat.hpp"

namespace dnslb::import {

namespace {

constexpr int kMaxIncludeDepth = 16;  // a file that includes itself stops here

struct RdfFree {
    void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
using RdfPtr = std::unique_ptr<ldns_rdf, RdfFree>;
struct FileClose {
    void operator()(FILE* f) const { std::fclose(f); }
};

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw ImportError(path + ": cannot open: " + std::generic_category().message(errno));
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> out;
    std::string line;
    std::istringstream in(text);
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        out.push_back(line);
    }
    return out;
}

std::vector<std::string> tokens(const std::string& line) {
    std::vector<std::string> out;
    std::istringstream in(line);
    std::string t;
    while (in >> t) {
        if (t[0] == ';') {
            break;
        }
        out.push_back(t);
    }
    return out;
}

bool blank_or_comment(const std::string& line) {
    const size_t b = line.find_first_not_of(" \t");
    return b == std::string::npos || line[b] == ';';
}

std::string upper(std::string s) {
    for (char& c : s) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return s;
}

bool is_directive(const std::string& line, const char* name) {
    const size_t n = std::strlen(name);
    return line.size() >= n && upper(line.substr(0, n)) == name &&
           (line.size() == n || line[n] == ' ' || line[n] == '\t');
}

// One master file being read, with the state RFC 1035 section 5.1 gives it.
class Reader {
public:
    Reader(const ReadOptions& options, MasterFile& out) : options_(options), out_(out) {}

    void read(const std::string& path, ldns_rdf* origin, uint32_t ttl, int depth);

private:
    void include(const Place& at, const std::string& line, const ldns_rdf* origin, uint32_t ttl,
                 const std::string& dir, int depth);
    bool dynamic(const Place& at, const std::string& line, ldns_rdf* origin, const ldns_rdf* prev,
                 uint32_t ttl);

    const ReadOptions& options_;
    MasterFile& out_;
};

std::string origin_or_root(const ldns_rdf* origin) {
    return origin != nullptr ? rdf_text(origin) : std::string(".");
}

void Reader::read(const std::string& path, ldns_rdf* origin_in, uint32_t ttl_in, int depth) {
    std::string text = read_text(path);
    const std::vector<std::string> lines = split_lines(text);
    // Directives ldns does not know are hidden from it (it would read "$GENERATE" as an owner
    // name), keeping the line count; they become notes below.
    std::string fed;
    fed.reserve(text.size());
    for (const auto& line : lines) {
        const bool known = is_directive(line, "$ORIGIN") || is_directive(line, "$TTL") ||
                           is_directive(line, "$INCLUDE");
        if (!line.empty() && line[0] == '$' && !known) {
            fed += ";\n";
        } else {
            fed += line + "\n";
        }
    }
    std::unique_ptr<FILE, FileClose> f(fmemopen(fed.data(), fed.size(), "r"));
    if (!f) {
        throw ImportError(path + ": cannot read: " + std::generic_category().message(errno));
    }
    RdfPtr origin(origin_in != nullptr ? ldns_rdf_clone(origin_in) : nullptr);
    ldns_rdf* origin_raw = origin.release();
    ldns_rdf* prev = nullptr;
    uint32_t ttl = ttl_in;
    int line_nr = 1;
    const std::string dir = std::filesystem::path(path).parent_path().string();
    struct Guard {
        ldns_rdf** a;
        ldns_rdf** b;
        ~Guard() {
            ldns_rdf_deep_free(*a);
            ldns_rdf_deep_free(*b);
        }
    } guard{&origin_raw, &prev};
    while (true) {
        const int before = line_nr;
        ldns_rr* raw = nullptr;
        const ldns_status st =
            ldns_rr_new_frm_fp_l(&raw, f.get(), &ttl, &origin_raw, &prev, &line_nr);
        RrPtr rr(raw);
        // The entry's first line: ldns counts from where it started reading.
        size_t first = static_cast<size_t>(before);
        while (first <= lines.size() && first < static_cast<size_t>(line_nr) &&
               blank_or_comment(lines[first - 1])) {
            ++first;
        }
        const std::string line = first <= lines.size() ? lines[first - 1] : std::string();
        const Place at{path, first};
        if (st == LDNS_STATUS_OK && origin_raw == nullptr && !line.empty() && line[0] != ' ' &&
            line[0] != '\t' && !tokens(line).empty() && tokens(line)[0].back() != '.') {
            // ldns would take the root for the origin.
            throw ImportError(at.str() + ": relative name before any $ORIGIN: give the " +
                              "zone's name with --origin: '" + line + "'");
        }
        if (st == LDNS_STATUS_OK) {
            out_.records.push_back(SourceRecord{std::move(rr), {}, at});
        } else if (st == LDNS_STATUS_SYNTAX_INCLUDE) {
            include(at, line, origin_raw, ttl, dir, depth);
        } else if (st == LDNS_STATUS_SYNTAX_ORIGIN && origin_raw == nullptr) {
            throw ImportError(at.str() + ": bad $ORIGIN: '" + line + "'");
        } else if (st != LDNS_STATUS_SYNTAX_EMPTY && st != LDNS_STATUS_SYNTAX_TTL &&
                   st != LDNS_STATUS_SYNTAX_ORIGIN && !dynamic(at, line, origin_raw, prev, ttl)) {
            std::string why = ldns_get_errorstr_by_id(st);
            if (origin_raw == nullptr) {
                why += " (no $ORIGIN before it: give the zone's name with --origin)";
            }
            throw ImportError(base::concat(at.str(), ": ", why, ": '", line, "'"));
        }
        if (std::feof(f.get()) != 0) {
            break;
        }
    }
    for (size_t i = 0; i < lines.size(); ++i) {
        const std::string& line = lines[i];
        if (!line.empty() && line[0] == '$' && !is_directive(line, "$ORIGIN") &&
            !is_directive(line, "$TTL") && !is_directive(line, "$INCLUDE")) {
            const std::string name = tokens(line).empty() ? line : tokens(line)[0];
            out_.notes.push_back(Place{path, i + 1}.str() + ": " + upper(name) +
                                 " is not supported, its records are not converted: '" + line +
                                 "'");
        }
    }
}

// RFC 1035 section 5.1: `$INCLUDE <file> [<origin>]`; the including file's origin and TTL are
// unchanged afterwards. A relative path is taken from the including file's directory.
void Reader::include(const Place& at, const std::string& line, const ldns_rdf* origin, uint32_t ttl,
                     const std::string& dir, int depth) {
    const std::vector<std::string> t = tokens(line);
    if (t.size() < 2) {
        throw ImportError(at.str() + ": $INCLUDE without a file name");
    }
    if (depth >= kMaxIncludeDepth) {
        throw ImportError(at.str() + ": $INCLUDE nested more than " +
                          std::to_string(kMaxIncludeDepth) + " deep");
    }
    std::filesystem::path file(t[1]);
    if (file.is_relative() && !dir.empty()) {
        file = std::filesystem::path(dir) / file;
    }
    RdfPtr inc_origin(origin != nullptr ? ldns_rdf_clone(origin) : nullptr);
    if (t.size() >= 3) {
        std::string name = t[2];
        if (name.back() != '.') {
            const std::string base = origin_or_root(origin);
            name += base == "." ? "." : "." + base;
        }
        inc_origin.reset(ldns_dname_new_frm_str(name.c_str()));
        if (!inc_origin) {
            throw ImportError(at.str() + ": bad origin in $INCLUDE: '" + t[2] + "'");
        }
    }
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) {
        throw ImportError(at.str() + ": $INCLUDE " + file.string() + ": cannot open");
    }
    read(file.string(), inc_origin.get(), ttl, depth + 1);
}

// gdnsd's `owner [ttl[/min]] [IN] DYNA|DYNC plugin!resource` (gdnsd.zonefile(5)).
bool Reader::dynamic(const Place& at, const std::string& line, ldns_rdf* origin,
                     const ldns_rdf* prev, uint32_t ttl) {
    std::vector<std::string> t = tokens(line);
    size_t type_at = 0;
    while (type_at < t.size() && upper(t[type_at]) != "DYNA" && upper(t[type_at]) != "DYNC") {
        ++type_at;
    }
    if (type_at >= t.size() || type_at + 2 != t.size() || type_at > 3) {
        return false;
    }
    if (!options_.dynamic) {
        out_.notes.push_back(at.str() + ": " + upper(t[type_at]) +
                             " is gdnsd's (convert with --gdnsd), not converted: '" + line + "'");
        return true;
    }
    DynamicRecord d;
    d.type = upper(t[type_at]);
    d.target = t[type_at + 1];
    d.default_ttl = ttl;
    size_t i = 0;
    const bool owner_given = line[0] != ' ' && line[0] != '\t';
    if (owner_given) {
        const std::string& o = t[i++];
        const std::string base = origin_or_root(origin);
        d.owner = o == "@" ? base : o.back() == '.' ? o : o + (base == "." ? "." : "." + base);
    } else if (prev != nullptr) {
        d.owner = rdf_text(prev);
    } else {
        return false;
    }
    for (; i < type_at; ++i) {
        if (upper(t[i]) == "IN") {
            continue;
        }
        if (std::isdigit(static_cast<unsigned char>(t[i][0])) == 0) {
            return false;
        }
        d.ttl = t[i];
    }
    SourceRecord r;
    r.dynamic = std::move(d);
    r.place = at;
    out_.records.push_back(std::move(r));
    return true;
}

}  // namespace

std::string Place::str() const {
    return line == 0 ? file : file + ": " + unit + " " + std::to_string(line);
}

std::string rdf_text(const ldns_rdf* rdf) {
    char* s = ldns_rdf2str(rdf);
    std::string out = s != nullptr ? s : "";
    free(s);  // NOLINT(cppcoreguidelines-no-malloc): ldns allocates with malloc
    return out;
}

std::string rdata_text(const ldns_rr* rr) {
    std::string out;
    for (size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
        if (i > 0) {
            out += ' ';
        }
        out += rdf_text(ldns_rr_rdf(rr, i));
    }
    return out;
}

MasterFile read_master_file(const std::string& path, const ReadOptions& options) {
    MasterFile out;
    RdfPtr origin;
    if (!options.origin.empty()) {
        std::string name = options.origin;
        if (name.back() != '.') {
            name += '.';
        }
        origin.reset(ldns_dname_new_frm_str(name.c_str()));
        if (!origin) {
            throw ImportError("--origin: '" + options.origin + "' is not a domain name");
        }
        out.origin = rdf_text(origin.get());
    }
    Reader reader(options, out);
    reader.read(path, origin.get(), options.default_ttl, 0);
    return out;
}

}  // namespace dnslb::import
