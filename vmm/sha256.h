// SHA-256 (FIPS 180-4), named once: the trace's image digests and the kernel cache's keys.
//
// In-tree rather than OpenSSL's: linking libcrypto costs every rrvm process ~2 ms of dynamic
// loading and ~125 page faults at start (measured on an empty program), and a recording paid its
// first-use initialisation too, for one function. The SHA extensions (Intel since Goldmont and
// Ice Lake, AMD since Zen) hash at OpenSSL's speed; other CPUs take the portable rounds.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace rrvm {

using Sha256 = std::array<uint8_t, 32>;

Sha256 sha256_of(std::span<const uint8_t> bytes);
std::string sha256_hex(const Sha256& digest);

// The two ways of running the rounds, for tests that hold them to each other.
enum class Sha256Rounds { kPortable, kShaExtensions };
// Whether this host's CPU can run `rounds`.
bool sha256_rounds_available(Sha256Rounds rounds);
// `rounds` must be available: the SHA extensions' instructions fault on a CPU without them.
Sha256 sha256_of(std::span<const uint8_t> bytes, Sha256Rounds rounds);

} // namespace rrvm
