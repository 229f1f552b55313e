// Replaces the global allocation functions of whatever test binary links this file; see
// counting_alloc.hpp.
#include "tests/support/counting_alloc.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {

std::atomic<uint64_t> g_allocations{0};
thread_local uint64_t t_allocations = 0;

void* counted(size_t n) noexcept {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    ++t_allocations;
    return std::malloc(n == 0 ? 1 : n);
}

void* counted_or_throw(size_t n) {
    if (void* p = counted(n)) {
        return p;
    }
    throw std::bad_alloc();
}

}  // namespace

namespace dnslb::test {

uint64_t allocations() noexcept { return g_allocations.load(std::memory_order_relaxed); }
uint64_t thread_allocations() noexcept { return t_allocations; }

}  // namespace dnslb::test

// malloc/free back every form, which GCC's -Wmismatched-new-delete cannot see through once
// inlined; out of line it has nothing to compare. The nothrow forms (Catch2 uses them) must come
// from the same malloc, or ASan reports an alloc-dealloc mismatch when our delete frees them.
// Aligned forms are left to the library: nothing on the query path over-aligns a heap object.
[[gnu::noinline]] void* operator new(size_t n) { return counted_or_throw(n); }
[[gnu::noinline]] void* operator new[](size_t n) { return counted_or_throw(n); }
[[gnu::noinline]] void* operator new(size_t n, const std::nothrow_t&) noexcept {
    return counted(n);
}
[[gnu::noinline]] void* operator new[](size_t n, const std::nothrow_t&) noexcept {
    return counted(n);
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
