// `dnslb import --gdnsd DIR`: a gdnsd configuration directory (DIR/config, DIR/zones/*) to dnslb
// zone files. geoip, metafo and multifo resources become pools, http_status and tcp_connect
// service types monitors, DYNA/DYNC records names bound to those pools; the rest is reported.
#pragma once

#include <string>

namespace dnslb::import {

// Returns the exit status: 0, or 1 with a message when the configuration cannot be read or a
// zone does not convert (then no file is written).
int convert_gdnsd(const std::string& dir, const std::string& output_dir);

}  // namespace dnslb::import
