// Base of the test classes that own a process, a socket or a directory: an owner is neither
// copied nor assigned (and, having a destructor of its own, not moved either).
#pragma once

namespace dnslb::test {

class NoCopy {
public:
    NoCopy(const NoCopy&) = delete;
    NoCopy& operator=(const NoCopy&) = delete;

protected:
    NoCopy() = default;
    ~NoCopy() = default;
};

}  // namespace dnslb::test
