#include "vmm/sha256.h"

#include <openssl/evp.h>

#include "vmm/error.h"

namespace rrvm {

Sha256 sha256_of(std::span<const uint8_t> bytes) {
  Sha256 digest{};
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1 ||
      length != digest.size())
    throw Error(ExitCode::kInternal, "sha256 failed");
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
