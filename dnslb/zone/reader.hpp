// The zone file's JSON reader. A zone file is parsed in two SAX passes so that the
// 500,000-member `records` object of a big zone is never built as one JSON object (ordered_json
// finds a key by a linear scan, so building it with nlohmann's own parser is quadratic, and the
// tree costs hundreds of bytes per record):
//   1. `Pass1` builds the DOM of everything except the members of the top-level `records`
//      object, which becomes an empty placeholder object. Syntax errors of the whole file are
//      found here, before anything is checked, as with one parse.
//   2. After origin, monitors, pools and SOA are loaded, `stream_records` parses the text
//      again and hands each member of `records` to the builder as a small DOM of its own,
//      in file order, then frees it.
// Objects keep their keys in file order (the order of a pool's `origins` is its failover
// order; messages name the first bad member in file order). A key given twice in one object
// keeps the position of its first occurrence and takes the value of the last one: the
// behaviour of nlohmann's ordered_json parser (ordered_map::operator[]), which the loader
// always had. For `records` the first pass remembers the members whose key repeats (by
// 64-bit hash; a false match only costs keeping that member's value) and keeps their last
// value, so that the second pass loads it at the first position.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "dnslb/zone/loader_detail.hpp"

namespace dnslb::zone::detail {

// What the first pass learnt about the top-level `records` object, for the second.
struct RecordsInfo {
    std::string_view text;
    size_t occurrences = 0;  // of the key "records" in the root object: the last one counts
    size_t members = 0;      // in the last `records` object
    std::unordered_map<std::string, Json> repeated;  // members whose key repeats: last value
};

// Pass 1: the DOM of `text` without the members of /records (an empty placeholder object
// instead), and what `stream_records` needs. Syntax errors of the whole file are found here
// and thrown as LoadError naming the file, line and column.
void read_zone_json(std::string_view text, const std::string& file, Json& root, RecordsInfo& info);

// Pass 2: each member of the last /records object, in file order, to `fn(key, value)`, until
// fn returns false. `info.text` must still be alive.
using RecordFn = std::function<bool(const std::string& key, const Json& value)>;
void stream_records(const RecordsInfo& info, const RecordFn& fn);

}  // namespace dnslb::zone::detail
