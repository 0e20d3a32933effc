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
  exit_status_ = static_cast<int>(((v << 1) | 1) & 0xFF);
}

void DebugExit::save(StateWriter& out) const {
  out.put<uint8_t>(exit_status_.has_value());
  out.put<int32_t>(exit_status_.value_or(0));
}

void DebugExit::restore(StateReader& in) {
  const bool has = in.get<uint8_t>() != 0;
  const auto status = in.get<int32_t>();
  exit_status_ = has ? std::optional<int>(status) : std::nullopt;
}

} // namespace rrvm
