// A zone transfer (AXFR, RFC 5936) from a primary, as the records of a master file.
#pragma once

#include <string>

#include "dnslb/import/master_file.hpp"

namespace dnslb::import {

// `server` is ADDR or ADDR:PORT, IPv6 in brackets ([2001:db8::1]:53); port 53 by default.
// Throws ImportError when the server cannot be reached, refuses or sends a broken transfer.
MasterFile read_axfr(const std::string& server, const std::string& zone);

}  // namespace dnslb::import
