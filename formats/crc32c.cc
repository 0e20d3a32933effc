#include "formats/crc32c.h"

#include <array>
#include <cstring>
#include <nmmintrin.h>

namespace rrvm {
namespace {

constexpr uint32_t kPolynomial = 0x82f63b78; // reflected Castagnoli

constexpr std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit)
      c = (c & 1) ? (c >> 1) ^ kPolynomial : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr auto kTable = make_table();

uint32_t crc32c_portable(std::span<const uint8_t> data, uint32_t crc) {
  for (uint8_t byte : data)
    crc = kTable[(crc ^ byte) & 0xff] ^ (crc >> 8);
  return crc;
}

__attribute__((target("sse4.2"))) uint32_t crc32c_sse42(std::span<const uint8_t> data,
                                                        uint32_t crc) {
  const uint8_t* p = data.data();
  size_t n = data.size();
  uint64_t c = crc;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    c = _mm_crc32_u64(c, word);
  }
  uint32_t c32 = uint32_t(c);
  for (; n > 0; --n, ++p)
    c32 = _mm_crc32_u8(c32, *p);
  return c32;
}

const bool kHaveSse42 = __builtin_cpu_supports("sse4.2");

} // namespace

uint32_t crc32c(std::span<const uint8_t> data, uint32_t crc) {
  crc = ~crc;
  crc = kHaveSse42 ? crc32c_sse42(data, crc) : crc32c_portable(data, crc);
  return ~crc;
}

} // namespace rrvm
