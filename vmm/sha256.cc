#include "vmm/sha256.h"

#include <bit>
#include <cpuid.h>
#include <cstring>
#include <immintrin.h>

namespace rrvm {
namespace {

constexpr size_t kBlockBytes = 64;
// The message length in bits closes the padded message, big-endian.
constexpr size_t kLengthBytes = 8;

using State = std::array<uint32_t, 8>; // a..h

// The first 32 bits of the fractional parts of the square roots of the first 8 primes.
constexpr State kInitialState = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

// The first 32 bits of the fractional parts of the cube roots of the first 64 primes.
alignas(16) constexpr uint32_t kRoundConstants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

uint32_t load_big_endian(const uint8_t* p) {
  uint32_t word;
  std::memcpy(&word, p, sizeof word);
  return __builtin_bswap32(word);
}

void compress_portable(State& state, const uint8_t* blocks, size_t count) {
  for (; count > 0; --count, blocks += kBlockBytes) {
    uint32_t w[64];
    for (int t = 0; t < 16; ++t)
      w[t] = load_big_endian(blocks + 4 * t);
    for (int t = 16; t < 64; ++t) {
      const uint32_t s0 = std::rotr(w[t - 15], 7) ^ std::rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
      const uint32_t s1 = std::rotr(w[t - 2], 17) ^ std::rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
      w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    auto [a, b, c, d, e, f, g, h] = state;
    for (int t = 0; t < 64; ++t) {
      const uint32_t sum1 = std::rotr(e, 6) ^ std::rotr(e, 11) ^ std::rotr(e, 25);
      const uint32_t choose = (e & f) ^ (~e & g);
      const uint32_t t1 = h + sum1 + choose + kRoundConstants[t] + w[t];
      const uint32_t sum0 = std::rotr(a, 2) ^ std::rotr(a, 13) ^ std::rotr(a, 22);
      const uint32_t majority = (a & b) ^ (a & c) ^ (b & c);
      h = g, g = f, f = e, e = d + t1;
      d = c, c = b, b = a, a = t1 + sum0 + majority;
    }
    const State rounds = {a, b, c, d, e, f, g, h};
    for (size_t i = 0; i < state.size(); ++i)
      state[i] += rounds[i];
  }
}

// SHA256RNDS2 keeps the working variables as two vectors, ABEF and CDGH (A in the top lane), and
// runs two rounds on the low two words of a message-plus-constant vector; SHA256MSG1 and MSG2
// extend the message schedule four words at a time.
__attribute__((target("sha,sse4.1"))) void
compress_sha_extensions(State& state, const uint8_t* blocks, size_t count) {
  const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bll, 0x0405060700010203ll);
  const __m128i abcd = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i*)&state[0]), 0xb1);
  const __m128i efgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i*)&state[4]), 0x1b);
  __m128i abef = _mm_alignr_epi8(abcd, efgh, 8);
  __m128i cdgh = _mm_blend_epi16(efgh, abcd, 0xf0);
  for (; count > 0; --count, blocks += kBlockBytes) {
    const __m128i abef_before = abef, cdgh_before = cdgh;
    __m128i w[4]; // words 4i..4i+3 of the schedule in w[i % 4]
    // Unrolled, the schedule's vector indices are constants and the lanes stay in registers.
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) {
      __m128i& words = w[i % 4];
      if (i < 4) {
        words = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i*)(blocks + 16 * i)), byte_swap);
      } else {
        const __m128i older = _mm_add_epi32(_mm_sha256msg1_epu32(words, w[(i - 3) % 4]),
                                            _mm_alignr_epi8(w[(i - 1) % 4], w[(i - 2) % 4], 4));
        words = _mm_sha256msg2_epu32(older, w[(i - 1) % 4]);
      }
      __m128i input = _mm_add_epi32(words, _mm_load_si128((const __m128i*)&kRoundConstants[4 * i]));
      // Two rounds make the old A, B, E, F the new C, D, G, H: each pair of rounds writes the
      // vector that held C, D, G, H, and the two swap roles for the next pair.
      cdgh = _mm_sha256rnds2_epu32(cdgh, abef, input);
      input = _mm_shuffle_epi32(input, 0x0e);
      abef = _mm_sha256rnds2_epu32(abef, cdgh, input);
    }
    abef = _mm_add_epi32(abef, abef_before);
    cdgh = _mm_add_epi32(cdgh, cdgh_before);
  }
  const __m128i feba = _mm_shuffle_epi32(abef, 0x1b);
  const __m128i dchg = _mm_shuffle_epi32(cdgh, 0xb1);
  _mm_storeu_si128((__m128i*)&state[0], _mm_blend_epi16(feba, dchg, 0xf0));
  _mm_storeu_si128((__m128i*)&state[4], _mm_alignr_epi8(dchg, feba, 8));
}

bool cpu_has_sha_extensions() {
  constexpr unsigned kSha = 1u << 29;   // CPUID.(EAX=7,ECX=0):EBX
  constexpr unsigned kSse41 = 1u << 19; // CPUID.1:ECX
  constexpr unsigned kSsse3 = 1u << 9;  // CPUID.1:ECX
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) || !(ebx & kSha)) return false;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & kSse41) && (ecx & kSsse3);
}

const bool kHaveShaExtensions = cpu_has_sha_extensions();

} // namespace

bool sha256_rounds_available(Sha256Rounds rounds) {
  return rounds == Sha256Rounds::kPortable || kHaveShaExtensions;
}

Sha256 sha256_of(std::span<const uint8_t> bytes, Sha256Rounds rounds) {
  const auto compress =
      rounds == Sha256Rounds::kShaExtensions ? compress_sha_extensions : compress_portable;
  State state = kInitialState;
  const size_t whole = bytes.size() / kBlockBytes;
  compress(state, bytes.data(), whole);

  // The rest, a 1 bit, zeros, and the length: one block, or two when the length does not fit.
  uint8_t tail[2 * kBlockBytes] = {};
  const size_t rest = bytes.size() % kBlockBytes;
  if (rest > 0) std::memcpy(tail, bytes.data() + whole * kBlockBytes, rest); // data() may be null
  tail[rest] = 0x80;
  const size_t tail_bytes = rest + 1 + kLengthBytes <= kBlockBytes ? kBlockBytes : 2 * kBlockBytes;
  const uint64_t bits = __builtin_bswap64(uint64_t(bytes.size()) * 8);
  std::memcpy(tail + tail_bytes - kLengthBytes, &bits, kLengthBytes);
  compress(state, tail, tail_bytes / kBlockBytes);

  Sha256 digest;
  for (size_t i = 0; i < state.size(); ++i) {
    const uint32_t word = __builtin_bswap32(state[i]);
    std::memcpy(&digest[4 * i], &word, sizeof word);
  }
  return digest;
}

Sha256 sha256_of(std::span<const uint8_t> bytes) {
  return sha256_of(bytes,
                   kHaveShaExtensions ? Sha256Rounds::kShaExtensions : Sha256Rounds::kPortable);
}

std::string sha256_hex(const Sha256& digest) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  for (uint8_t byte : digest) {
    text += kDigits[byte >> 4];
    text += kDigits[byte & 0xf];
  }
  return text;
}

} // namespace rrvm
