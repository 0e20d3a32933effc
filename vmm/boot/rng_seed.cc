#include "vmm/boot/rng_seed.h"

#include <cstddef>

namespace rrvm {

namespace {

constexpr size_t kSeedBytes = 32; // 256 bits: what the kernel's RNG needs to count as seeded

// SplitMix64: spreads consecutive start times over unrelated seeds.
uint64_t split_mix(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

} // namespace

std::vector<uint8_t> linux_rng_seed(int64_t rtc_base_unix_seconds) {
  uint64_t state = static_cast<uint64_t>(rtc_base_unix_seconds);
  std::vector<uint8_t> seed;
  seed.reserve(kSeedBytes);
  while (seed.size() < kSeedBytes) {
    const uint64_t word = split_mix(state);
    for (int byte = 0; byte < 8; ++byte)
      seed.push_back(static_cast<uint8_t>(word >> (8 * byte)));
  }
  return seed;
}

} // namespace rrvm
