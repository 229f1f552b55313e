// Polling for the tests that watch a server or a backend change state.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace dnslb::test {

// Polls `pred` every `step` until it holds or `limit` passes; returns its last value.
inline bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit,
                       std::chrono::milliseconds step = std::chrono::milliseconds(5)) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) {
            return true;
        }
        std::this_thread::sleep_for(step);
    }
    return pred();
}

}  // namespace dnslb::test
