#include "vmm/sha256.h"

// OpenSSL 3's EVP interface loads its configuration and providers on first use, which cost a
// short recording a tenth of its time (every recording hashes its images); the low-level digest,
// deprecated in favour of EVP but the same code underneath, starts at once.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

namespace rrvm {

Sha256 sha256_of(std::span<const uint8_t> bytes) {
  static_assert(std::tuple_size_v<Sha256> == SHA256_DIGEST_LENGTH);
  Sha256 digest{};
  SHA256_CTX context;
  SHA256_Init(&context);
  SHA256_Update(&context, bytes.data(), bytes.size());
  SHA256_Final(digest.data(), &context);
  return digest;
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
