// Fuzz target: the zone loader on arbitrary bytes. A LoadError is the expected way to reject an
// input; any other exception, a crash or a sanitizer report is a bug. A LoadError that merely
// wraps a JSON library exception is a bug too: it means a check in the loader is missing (the
// loader turns those into LoadError so that a reload cannot crash, but the message then names
// no place the user can fix).
//
// A zone that loads is then served: its apex and every name in it (up to a bound) are queried
// for A, AAAA, ANY and each type present, over UDP and TCP, and every response must parse.
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dnslb/answer/responder.hpp"
#include "dnslb/zone/loader.hpp"
#include "tests/fuzz/fuzz_common.hpp"

using namespace dnslb;

namespace {

constexpr const char* kFile = "fuzz.json";
constexpr size_t kMaxNamesQueried = 16;  // keeps an execution in the milliseconds

// A query for `wire_name` (lower-cased wire format, as the loader stores names).
size_t make_query(const std::string& wire_name, uint16_t type, bool edns, uint8_t* buf,
                  size_t cap) {
    const uint8_t header[12] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, uint8_t{edns}};
    const uint8_t opt[11] = {0, 0, 41, 0x10, 0x00, 0, 0, 0x80, 0, 0, 0};  // DO set
    size_t need = sizeof header + wire_name.size() + 4 + (edns ? sizeof opt : 0);
    if (need > cap) {
        return 0;
    }
    size_t pos = 0;
    std::memcpy(buf, header, sizeof header);
    pos += sizeof header;
    std::memcpy(buf + pos, wire_name.data(), wire_name.size());
    pos += wire_name.size();
    buf[pos++] = static_cast<uint8_t>(type >> 8);
    buf[pos++] = static_cast<uint8_t>(type);
    buf[pos++] = 0;
    buf[pos++] = 1;  // IN
    if (edns) {
        std::memcpy(buf + pos, opt, sizeof opt);
        pos += sizeof opt;
    }
    return pos;
}

void ask(const server::Snapshot& snap, const std::string& name, uint16_t type) {
    static server::Stats stats;
    static server::QueryContext ctx{stats};
    static std::vector<uint8_t> out(65535);
    uint8_t query[512];
    server::ClientAddress client;
    client.family = 4;
    client.bytes[0] = 192;
    client.bytes[1] = 0;
    client.bytes[2] = 2;
    client.bytes[3] = 1;
    for (bool edns : {false, true}) {
        size_t qlen = make_query(name, type, edns, query, sizeof query);
        fuzz::check(qlen > 0, "loaded name does not fit a query");
        for (auto t : {server::Transport::kUdp, server::Transport::kTcp}) {
            size_t n = server::respond(snap, query, qlen, client, t, out.data(), out.size(), ctx);
            fuzz::check(n > 0, "no answer to a query for a loaded name");
            fuzz::check(n <= (t == server::Transport::kTcp ? 65535U
                              : edns                       ? 1232U
                                                           : 512U),
                        "response longer than the transport allows");
            fuzz::check_response(out.data(), n, 0x1234);
        }
    }
}

void serve(std::unique_ptr<zone::Zone> z) {
    server::Snapshot snap;
    snap.zones.emplace_back(std::move(z));
    snap.index();
    const zone::Zone& loaded = *snap.zones.front();
    fuzz::check(loaded.nodes.count(loaded.origin) == 1, "zone loaded without an apex node");
    size_t queried = 0;
    for (const auto& [name, node] : loaded.nodes) {
        if (queried++ == kMaxNamesQueried) {
            break;
        }
        for (uint16_t type : {dns::kTypeA, dns::kTypeAAAA, dns::kTypeANY}) {
            ask(snap, name, type);
        }
        for (const auto& rrset : node.rrsets) {
            ask(snap, name, rrset.type);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    std::unique_ptr<zone::Zone> z;
    try {
        std::vector<zone::Diagnostic> warnings;
        z = zone::load_zone_text(text, kFile, &warnings);
    } catch (const zone::LoadError& e) {
        // "fuzz.json: [json.exception.type_error.302] ...": a JSON library exception that a
        // loader check should have turned into a message with a JSON pointer.
        const std::string prefix = std::string(kFile) + ": [json.exception.";
        if (std::string_view(e.what()).substr(0, prefix.size()) == prefix) {
            fuzz::fail("JSON library exception escaped the loader's checks:", e.what());
        }
        return 0;
    }
    fuzz::check(z != nullptr, "load_zone_text returned no zone and threw nothing");
    serve(std::move(z));
    return 0;
}
