// The one way to include ldns from C++. ldns 1.8.3's headers define `true`/`false` themselves
// unless <stdbool.h> came first, which breaks <optional> and friends in C++.
#pragma once

#include <stdbool.h>  // NOLINT(modernize-deprecated-headers): must precede ldns

#include <ldns/ldns.h>
