// Signing speed of dnslb's DNSSEC core on one core: signatures per second for algorithms 13 and
// 15 over a two-address A RRset, and the RRSIG RDATA size. Usage: dnssec_bench [SECONDS]
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "dnslb/dnssec/dnssec.hpp"

int main(int argc, char** argv) {
    using namespace dnslb::dnssec;
    double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
    RRset rrset{"www.lb.example", 1, 1, 300, {{192, 0, 2, 1}, {192, 0, 2, 2}}};
    for (uint8_t alg : {kEcdsaP256Sha256, kEd25519}) {
        Key key = generate_key("lb.example", alg, kFlagsCsk);
        auto start = std::chrono::steady_clock::now();
        auto deadline = start + std::chrono::duration<double>(seconds);
        size_t n = 0, bytes = 0;
        while (n < 100'000'000 && std::chrono::steady_clock::now() < deadline) {
            for (int i = 0; i < 100; ++i, ++n) {
                bytes = sign_rrset(key, rrset, 1'800'000'000, 1'800'700'000).size();
            }
        }
        double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::printf(
            "algorithm %u: %.0f signatures/s on one core, RRSIG RDATA %zu bytes "
            "(signature 64)\n",
            alg, static_cast<double>(n) / el, bytes);
    }
    return 0;
}
