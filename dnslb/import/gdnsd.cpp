#include "dnslb/import/gdnsd.hpp"

#include <iostream>

namespace dnslb::import {

int convert_gdnsd(const std::string& dir, const std::string& output_dir) {
    std::cerr << "not yet " << dir << output_dir << "\n";
    return 1;
}

}  // namespace dnslb::import
