#include "dnslb/import/import.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <system_error>

#include "dnslb/import/axfr.hpp"
#include "dnslb/import/gdnsd.hpp"
#include "dnslb/import/master_file.hpp"
#include "dnslb/import/zone_json.hpp"

namespace dnslb::import {

namespace {

// One zone from a file or a transfer: its JSON text, with the notes in it and on stderr.
std::string convert(MasterFile& source, const std::string& label) {
    std::vector<std::string> notes = std::move(source.notes);
    ZoneJson z = build_zone(source.records, notes);
    if (!notes.empty()) {
        z.zone["notes"] = notes;
    }
    std::string text = zone_text(z.zone);
    verify(text, label, z.kept);
    for (const auto& n : notes) {
        std::cerr << "note: " << n << "\n";
    }
    return text;
}

int usage(const std::string& why) {
    std::cerr << "dnslb: import: " << why << "\nTry 'dnslb --help'.\n";
    return 2;
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& text) {
    namespace fs = std::filesystem;
    const fs::path target(path);
    const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    std::string tmp = (dir / ("." + target.filename().string() + ".XXXXXX")).string();
    const int fd = mkstemp(tmp.data());
    if (fd < 0) {
        throw ImportError(path + ": cannot create: " + std::generic_category().message(errno));
    }
    size_t done = 0;
    bool ok = true;
    while (ok && done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        ok = n > 0;
        done += ok ? static_cast<size_t>(n) : 0;
    }
    const int err = errno;
    ok = ok && fchmod(fd, 0644) == 0 && fsync(fd) == 0;
    ok = (::close(fd) == 0) && ok;
    if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
        const int e = ok ? errno : err;
        ::unlink(tmp.c_str());
        throw ImportError(path + ": cannot write: " + std::generic_category().message(e));
    }
}

int run(const Options& o) {
    if (!o.gdnsd.empty()) {
        if (!o.axfr.empty() || !o.files.empty() || !o.origin.empty()) {
            return usage("--gdnsd takes no ZONEFILE, --axfr or --origin");
        }
        return convert_gdnsd(o.gdnsd, o.output);
    }
    if (!o.axfr.empty() && (o.origin.empty() || !o.files.empty())) {
        return usage("--axfr needs --origin ZONE and no ZONEFILE");
    }
    if (o.axfr.empty() && o.files.size() != 1) {
        return usage("expected one ZONEFILE (or --axfr, or --gdnsd)");
    }
    try {
        MasterFile source;
        std::string label;
        if (!o.axfr.empty()) {
            source = read_axfr(o.axfr, o.origin);
            label = "AXFR from " + o.axfr;
        } else {
            ReadOptions ro;
            ro.origin = o.origin;
            source = read_master_file(o.files[0], ro);
            label = o.files[0];
        }
        const std::string text = convert(source, label);
        if (o.output.empty()) {
            std::cout << text << std::flush;
        } else {
            write_file_atomically(o.output, text);
        }
    } catch (const ImportError& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

}  // namespace dnslb::import
