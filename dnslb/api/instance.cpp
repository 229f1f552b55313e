#include "dnslb/api/instance.hpp"

namespace dnslb::api {

const char* trigger_name(ReloadTrigger t) noexcept {
    switch (t) {
        case ReloadTrigger::kSignal:
            return "SIGHUP";
        case ReloadTrigger::kFileChange:
            return "file change";
        case ReloadTrigger::kApi:
            return "API";
    }
    return "?";
}

}  // namespace dnslb::api
