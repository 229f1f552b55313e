// Prints the configuration keys the parser accepts (dnslb::config::kConfigKeys), one a line,
// aliases marked "alias-of <key>", for docs_test.py.
#include <iostream>

#include "dnslb/config/config.hpp"

int main() {
    for (std::string_view key : dnslb::config::kConfigKeys) {
        std::cout << key;
        for (const auto& [alias, of] : dnslb::config::kConfigAliases) {
            if (alias == key) {
                std::cout << " alias-of " << of;
            }
        }
        std::cout << "\n";
    }
    return 0;
}
