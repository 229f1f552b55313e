// gdnsd's configuration syntax, vscf (gdnsd.config(5) "LOW-LEVEL SYNTAX"): hashes { k => v },
// arrays [ v, v ], strings quoted or bare with RFC 1035 escapes, comments with # or ;, and
// $include{path}. Parsed into JSON whose scalars are all strings, keys kept in file order.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace dnslb::import {

// Parses the file at `path` (the top level is an implicit hash, or an array in [ ]).
// Throws ImportError("FILE: line N: reason").
nlohmann::ordered_json parse_vscf_file(const std::string& path);
nlohmann::ordered_json parse_vscf(const std::string& text, const std::string& file,
                                  const std::string& dir);

}  // namespace dnslb::import
