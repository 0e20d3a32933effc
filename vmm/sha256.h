// SHA-256, named once: the trace's image digests and the kernel cache's keys.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace rrvm {

using Sha256 = std::array<uint8_t, 32>;

Sha256 sha256_of(std::span<const uint8_t> bytes);
std::string sha256_hex(const Sha256& digest);

} // namespace rrvm
