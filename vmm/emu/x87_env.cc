#include "vmm/emu/x87_env.h"

#include <cstring>

#include "vmm/emu/x87_state.h"

namespace rrvm::emu::x87 {

namespace {

// Reserved upper halves of the 32-bit slots read back as ones on the host.
constexpr uint32_t kHighOnes = 0xffff0000;

void put16(uint8_t* p, uint16_t v) {
  std::memcpy(p, &v, 2);
}
void put32(uint8_t* p, uint32_t v) {
  std::memcpy(p, &v, 4);
}
uint16_t get16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
uint32_t get32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

} // namespace

void store_env(const FpuState& f, EnvLayout layout, uint8_t* out) {
  const uint16_t tags = full_tag(f);
  const uint32_t fip = uint32_t(f.fip), fdp = uint32_t(f.fdp);
  const uint16_t fop = f.fop & 0x7ff;
  if (layout.wide) {
    put32(out + 0, kHighOnes | f.fcw);
    put32(out + 4, kHighOnes | f.fsw);
    put32(out + 8, kHighOnes | tags);
    if (layout.real) {
      put32(out + 12, kHighOnes | (fip & 0xffff));
      put32(out + 16, (fip >> 16) << 12 | fop);
      put32(out + 20, kHighOnes | (fdp & 0xffff));
      put32(out + 24, (fdp >> 16) << 12);
    } else {
      put32(out + 12, fip);
      put32(out + 16, uint32_t(fop) << 16 | f.fcs);
      put32(out + 20, fdp);
      put32(out + 24, kHighOnes | f.fds);
    }
    return;
  }
  put16(out + 0, f.fcw);
  put16(out + 2, f.fsw);
  put16(out + 4, tags);
  if (layout.real) {
    put16(out + 6, uint16_t(fip));
    put16(out + 8, uint16_t(((fip >> 16) & 0xf) << 12 | fop));
    put16(out + 10, uint16_t(fdp));
    put16(out + 12, uint16_t(((fdp >> 16) & 0xf) << 12));
  } else {
    put16(out + 6, uint16_t(fip));
    put16(out + 8, f.fcs);
    put16(out + 10, uint16_t(fdp));
    put16(out + 12, f.fds);
  }
}

void load_env(FpuState& f, EnvLayout layout, const uint8_t* in) {
  uint16_t tags, fsw_value;
  if (layout.wide) {
    f.fcw = canonical_fcw(get16(in + 0));
    fsw_value = get16(in + 4);
    tags = get16(in + 8);
    if (layout.real) {
      f.fip = (get32(in + 12) & 0xffff) | ((get32(in + 16) >> 12) & 0xffff) << 16;
      f.fop = get32(in + 16) & 0x7ff;
      f.fdp = (get32(in + 20) & 0xffff) | ((get32(in + 24) >> 12) & 0xffff) << 16;
    } else {
      f.fip = get32(in + 12);
      f.fop = (get32(in + 16) >> 16) & 0x7ff;
      f.fdp = get32(in + 20);
    }
  } else {
    f.fcw = canonical_fcw(get16(in + 0));
    fsw_value = get16(in + 2);
    tags = get16(in + 4);
    if (layout.real) {
      f.fip = get16(in + 6) | uint32_t(get16(in + 8) >> 12) << 16;
      f.fop = get16(in + 8) & 0x7ff;
      f.fdp = get16(in + 10) | uint32_t(get16(in + 12) >> 12) << 16;
    } else {
      f.fip = get16(in + 6);
      f.fop = 0; // this layout has no opcode field
      f.fdp = get16(in + 10);
    }
  }
  f.fcs = f.fds = 0; // deprecated on the host (CPUID.7.EBX[13]): never loaded, stored as zero
  set_status(f, with_summary(fsw_value, f.fcw));
  f.ftw = abridged_tag(tags);
}

} // namespace rrvm::emu::x87
