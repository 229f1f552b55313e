// The counting allocator shared by every test that proves "no allocation": linking
// test_support_dep replaces the global operator new/delete of the test binary with malloc-backed
// ones that count each allocation, process-wide and per thread.
//
// Use the per-thread count around code that runs on the calling thread (other threads, such as
// Catch2's or a server's, then cannot disturb it); the process-wide count when the code under
// test may allocate on a thread of its own.
#pragma once

#include <cstdint>

namespace dnslb::test {

// Allocations through operator new (every form) since the process started.
uint64_t allocations() noexcept;
// The same, made by the calling thread only.
uint64_t thread_allocations() noexcept;

// Counts the calling thread's allocations from construction on.
class AllocationWindow {
public:
    AllocationWindow() noexcept : start_(thread_allocations()) {}
    uint64_t count() const noexcept { return thread_allocations() - start_; }

private:
    uint64_t start_;
};

}  // namespace dnslb::test
