// Zigzag LEB128, for the delta-encoded columns (rips, clock samples): small deltas of either sign
// take one or two bytes, which zstd then squeezes further.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rrvm {

constexpr size_t kMaxVarintBytes = 10;

inline uint64_t zigzag(int64_t v) {
  return (uint64_t(v) << 1) ^ uint64_t(v >> 63);
}
inline int64_t unzigzag(uint64_t v) {
  return int64_t(v >> 1) ^ -int64_t(v & 1);
}

// Writes at `out`, which must have kMaxVarintBytes of room; returns the end.
inline uint8_t* put_varint(uint8_t* out, uint64_t v) {
  while (v >= 0x80) {
    *out++ = uint8_t(v) | 0x80;
    v >>= 7;
  }
  *out++ = uint8_t(v);
  return out;
}

// Reads one value from [in, end); nullptr if it runs past `end` or is longer than 10 bytes.
inline const uint8_t* get_varint(const uint8_t* in, const uint8_t* end, uint64_t& v) {
  if (in != end && *in < 0x80) [[likely]] {
    v = *in;
    return in + 1;
  }
  uint64_t result = 0;
  for (unsigned shift = 0; shift < 70 && in != end; shift += 7) {
    const uint8_t byte = *in++;
    result |= uint64_t(byte & 0x7f) << shift;
    if (byte < 0x80) {
      v = result;
      return in;
    }
  }
  return nullptr;
}

} // namespace rrvm
