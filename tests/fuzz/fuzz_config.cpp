// Fuzz target: the configuration file loader on arbitrary bytes. ConfigError is the expected way
// to reject an input; any other exception, a crash or a sanitizer report is a bug.
//
// load_config_file() reads a path, so the input is written to an in-memory file (memfd) and
// loaded through /proc/self/fd: no disk I/O per input and nothing left behind.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "dnslb/config/config.hpp"
#include "tests/fuzz/fuzz_common.hpp"

using namespace dnslb;

namespace {

struct MemFile {
    int fd = -1;
    std::string path;
};

const MemFile& mem_file() {
    static const MemFile f = [] {
        MemFile m;
        m.fd = memfd_create("dnslb-fuzz-config", 0);
        fuzz::check(m.fd >= 0, "memfd_create failed");
        m.path = "/proc/self/fd/" + std::to_string(m.fd);
        return m;
    }();
    return f;
}

void write_input(const uint8_t* data, size_t size) {
    int fd = mem_file().fd;
    fuzz::check(ftruncate(fd, 0) == 0, "ftruncate failed");
    size_t done = 0;
    while (done < size) {
        ssize_t n = pwrite(fd, data + done, size - done, static_cast<off_t>(done));
        fuzz::check(n > 0, "pwrite failed");
        done += static_cast<size_t>(n);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    write_input(data, size);
    config::Config cfg;
    try {
        config::load_config_file(mem_file().path, cfg);
    } catch (const config::ConfigError&) {
        return 0;
    }
    fuzz::check(cfg.file == mem_file().path, "loaded config does not name its file");
    for (const auto& l : cfg.listen) {
        // What the loader accepted must round-trip through the flag parser.
        try {
            fuzz::check(config::parse_listen(l.text()).port == l.port, "listen port changed");
        } catch (const config::ConfigError& e) {
            fuzz::fail("accepted listen address does not parse back:", e.what());
        }
    }
    return 0;
}
