// FXSAVE/FXRSTOR: the x87, MXCSR and XMM state as the 512-byte image the SDM lays out, in the
// legacy form (32-bit FPU IP/DP with selectors) and the REX.W form (64-bit IP/DP).
#include <Zydis/Zydis.h>

#include "vmm/emu/cpu.h"
#include "vmm/emu/handlers.h"
#include "vmm/emu/simd.h"

namespace rrvm::emu {

namespace {

template <size_t N> struct Bytes { uint8_t b[N]; };

struct FxImage {
  uint8_t b[512];
  template <typename T> void put(unsigned at, T v) { std::memcpy(b + at, &v, sizeof v); }
  template <typename T> T get(unsigned at) const {
    T v;
    std::memcpy(&v, b + at, sizeof v);
    return v;
  }
};

namespace fx { // offsets in the image
constexpr unsigned kFcw = 0, kFsw = 2, kFtw = 4, kFop = 6, kFip = 8, kFcs = 12, kFdp = 16,
                   kFds = 20, kMxcsr = 24, kMxcsrMask = 28, kSt = 32, kXmm = 160;
}
constexpr uint16_t kFopBits = 0x7ff;

// The image's address; FXSAVE/FXRSTOR need 16-byte alignment (#GP otherwise).
uint64_t image_address(Cpu& c, const Insn& in, Cpu::Access a) {
  if (c.cr0 & (cr0::kEM | cr0::kTS)) Cpu::fault(vec::kNM);
  const uint64_t la = c.linear(in.op[0], in, sizeof(FxImage), a);
  if (la & 15) Cpu::fault(vec::kGP, 0);
  return la;
}

// Outside 64-bit mode only XMM0-7 are part of the image.
unsigned xmm_count(const Cpu& c) {
  return c.mode64 ? 16 : 8;
}

template <bool kRexW> void op_fxsave(Cpu& c, const Insn& in) {
  const uint64_t la = image_address(c, in, Cpu::Access::kWrite);
  FxImage img{};
  const FpuState& f = c.fpu;
  img.put(fx::kFcw, f.fcw);
  img.put(fx::kFsw, f.fsw);
  img.put<uint16_t>(fx::kFtw, f.ftw);
  img.put<uint16_t>(fx::kFop, f.fop & kFopBits);
  if (kRexW) {
    img.put<uint64_t>(fx::kFip, f.fip);
    img.put<uint64_t>(fx::kFdp, f.fdp);
  } else {
    img.put<uint32_t>(fx::kFip, uint32_t(f.fip));
    img.put<uint32_t>(fx::kFcs, f.fcs);
    img.put<uint32_t>(fx::kFdp, uint32_t(f.fdp));
    img.put<uint32_t>(fx::kFds, f.fds);
  }
  img.put(fx::kMxcsr, f.mxcsr);
  img.put(fx::kMxcsrMask, mxcsr::kWritable);
  for (unsigned i = 0; i < 8; ++i) {
    std::memcpy(img.b + fx::kSt + 16 * i, f.st[i].data(), 10);
    std::memset(img.b + fx::kSt + 16 * i + 10, 0, 6);
  }
  for (unsigned i = 0; i < xmm_count(c); ++i)
    std::memcpy(img.b + fx::kXmm + 16 * i, f.xmm[i].data(), 16);
  // The bytes after the last XMM register are reserved or software's: the CPU leaves them.
  if (c.mode64)
    c.write(la, reinterpret_cast<const Bytes<fx::kXmm + 16 * 16>&>(img));
  else
    c.write(la, reinterpret_cast<const Bytes<fx::kXmm + 16 * 8>&>(img));
}

template <bool kRexW> void op_fxrstor(Cpu& c, const Insn& in) {
  const FxImage img = c.read<FxImage>(image_address(c, in, Cpu::Access::kRead));
  const uint32_t mx = img.get<uint32_t>(fx::kMxcsr);
  if (mx & ~mxcsr::kWritable) Cpu::fault(vec::kGP, 0);
  FpuState& f = c.fpu;
  f.fcw = img.get<uint16_t>(fx::kFcw);
  f.fsw = img.get<uint16_t>(fx::kFsw);
  f.ftw = img.b[fx::kFtw];
  f.fop = img.get<uint16_t>(fx::kFop) & kFopBits;
  if (kRexW) {
    f.fip = img.get<uint64_t>(fx::kFip);
    f.fdp = img.get<uint64_t>(fx::kFdp);
  } else {
    f.fip = img.get<uint32_t>(fx::kFip);
    f.fcs = img.get<uint16_t>(fx::kFcs);
    f.fdp = img.get<uint32_t>(fx::kFdp);
    f.fds = img.get<uint16_t>(fx::kFds);
  }
  f.mxcsr = mx;
  for (unsigned i = 0; i < 8; ++i)
    std::memcpy(f.st[i].data(), img.b + fx::kSt + 16 * i, 10);
  for (unsigned i = 0; i < xmm_count(c); ++i)
    std::memcpy(f.xmm[i].data(), img.b + fx::kXmm + 16 * i, 16);
}

} // namespace

Handler select_fxsave(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops, Insn& in,
                      ConvertOperand convert) {
  if (!convert(ops[0], in.op[0], in)) return nullptr;
  switch (zi.mnemonic) {
  case ZYDIS_MNEMONIC_FXSAVE:
    return op_fxsave<false>;
  case ZYDIS_MNEMONIC_FXSAVE64:
    return op_fxsave<true>;
  case ZYDIS_MNEMONIC_FXRSTOR:
    return op_fxrstor<false>;
  case ZYDIS_MNEMONIC_FXRSTOR64:
    return op_fxrstor<true>;
  default:
    return nullptr;
  }
}

} // namespace rrvm::emu
