// `dnslb import`: zone files, zone transfers and gdnsd configurations to dnslb zone files.
#pragma once

#include <string>
#include <vector>

namespace dnslb::import {

struct Options {
    std::string origin;              // --origin
    std::string output;              // --output: a file, or with --gdnsd a directory; empty: stdout
    std::string axfr;                // --axfr ADDR[:PORT]
    std::string gdnsd;               // --gdnsd DIR
    std::vector<std::string> files;  // ZONEFILE
};

// Runs the command; returns the exit status (0, 1 on a conversion error, 2 on a usage error).
// Notes go to stderr as "note: ..."; nothing is written when the conversion fails.
int run(const Options& options);

// Writes `text` to `path` through a temporary file in the same directory and a rename, so that
// a reader never sees half a file and a failure leaves nothing behind. Throws ImportError.
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace dnslb::import
