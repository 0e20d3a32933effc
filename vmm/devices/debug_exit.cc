#include "vmm/devices/debug_exit.h"

namespace rrvm {

namespace {
uint64_t size_mask(unsigned size) {
  return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}
} // namespace

uint64_t DebugExit::read(uint64_t, unsigned size) {
  return size_mask(size);
}

void DebugExit::write(uint64_t, unsigned size, uint64_t value) {
  const uint64_t v = value & size_mask(size);
  end_.request(EndRequest::guest_exit(static_cast<int>(((v << 1) | 1) & 0xFF)));
}

} // namespace rrvm
