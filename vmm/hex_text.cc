#include "vmm/hex_text.h"

#include <cstdio>

namespace rrvm {

std::string hex_text(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

} // namespace rrvm
