// CRC32C (Castagnoli), the checksum of every frame in a trace. It uses the SSE4.2 instruction
// where the CPU has it, because a reader checks every chunk at tens of millions of events/s.
#pragma once

#include <cstdint>
#include <span>

namespace rrvm {

uint32_t crc32c(std::span<const uint8_t> data, uint32_t crc = 0);

// Whether `data` has the checksum `stored`. Fuzzing builds accept any checksum, so that mutated
// inputs reach the decoders behind it instead of all failing here.
inline bool checksum_matches(std::span<const uint8_t> data, uint32_t stored) {
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  (void)data;
  (void)stored;
  return true;
#else
  return crc32c(data) == stored;
#endif
}

} // namespace rrvm
