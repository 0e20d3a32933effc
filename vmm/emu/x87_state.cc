#include "vmm/emu/x87_state.h"

#include <cstring>

namespace rrvm::emu::x87 {

uint16_t with_summary(uint16_t fsw_value, uint16_t fcw) {
  fsw_value &= ~(fsw::kSummary | fsw::kBusy);
  if (fsw_value & fsw::kExceptions & ~fcw) fsw_value |= fsw::kSummary | fsw::kBusy;
  return fsw_value;
}

void set_status(FpuState& f, uint16_t fsw_value) {
  const unsigned old_top = top(f);
  f.fsw = fsw_value;
  const unsigned shift = (old_top - top(f)) & 7;
  if (!shift) return;
  const auto old = f.st;
  for (unsigned i = 0; i < 8; ++i)
    f.st[i] = old[(i + 8 - shift) & 7];
}

unsigned tag_of(const uint8_t value[10]) {
  uint64_t mantissa;
  std::memcpy(&mantissa, value, 8);
  const unsigned exponent = (value[8] | value[9] << 8) & 0x7fff;
  if (exponent == 0x7fff) return 2;
  if (exponent == 0) return mantissa == 0 ? 1 : 2;
  return mantissa >> 63 ? 0 : 2; // an unnormal is special
}

uint16_t full_tag(const FpuState& f) {
  uint16_t tags = 0;
  for (unsigned p = 0; p < 8; ++p) {
    const unsigned t = (f.ftw >> p) & 1 ? tag_of(f.st[(p - top(f)) & 7].data()) : 3;
    tags |= uint16_t(t << (2 * p));
  }
  return tags;
}

uint8_t abridged_tag(uint16_t full) {
  uint8_t ftw = 0;
  for (unsigned p = 0; p < 8; ++p)
    if (((full >> (2 * p)) & 3) != 3) ftw |= uint8_t(1u << p);
  return ftw;
}

} // namespace rrvm::emu::x87
