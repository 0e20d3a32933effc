#include "vmm/emu/x87_host.h"

#include <array>
#include <cstring>
#include <utility>

namespace rrvm::emu::x87 {

namespace {

// The 512-byte FXSAVE image (64-bit form); only the x87 fields and MXCSR are filled in.
struct alignas(16) FxsaveImage {
  uint16_t fcw, fsw;
  uint8_t ftw, reserved;
  uint16_t fop;
  uint64_t fip, fdp;
  uint32_t mxcsr, mxcsr_mask;
  uint8_t st[8][16]; // stack order
  uint8_t xmm[16][16];
  uint8_t available[96];
};
static_assert(sizeof(FxsaveImage) == 512);

using Stub = void (*)(FxsaveImage*, void*, uint64_t*);

// One x87 instruction between FXRSTOR and FXSAVE, neither of which waits, so an unmasked
// exception the instruction raises stays pending in the image instead of trapping in the host;
// FNINIT then leaves the host FPU as the ABI expects it. FXRSTOR loads XMM0-15 from the image
// too (FXSAVE/FXRSTOR are much faster than FNSAVE/FRSTOR here). SAHF/LAHF carry SF ZF AF PF CF in
// AH. Memory forms address [rdi] (mod 0, rm 7).
template <unsigned Opcode, unsigned Modrm>
void stub(FxsaveImage* image, void* operand, uint64_t* ax) {
  asm volatile("sahf\n\t"
               "fxrstor64 (%[image])\n\t"
               ".byte %c[opcode], %c[modrm]\n\t"
               "fxsave64 (%[image])\n\t"
               "fninit\n\t"
               "lahf"
               : "+a"(*ax)
               : [image] "r"(image), "D"(operand), [opcode] "i"(Opcode), [modrm] "i"(Modrm)
               : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
                 "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

template <size_t... I>
constexpr std::array<Stub, sizeof...(I)> register_stubs(std::index_sequence<I...>) {
  return {stub<0xd8 + I / 64, 0xc0 + I % 64>...};
}
template <size_t... I>
constexpr std::array<Stub, sizeof...(I)> memory_stubs(std::index_sequence<I...>) {
  return {stub<0xd8 + I / 8, (I % 8) << 3 | 7>...};
}

constexpr auto kRegisterStubs = register_stubs(std::make_index_sequence<8 * 64>());
constexpr auto kMemoryStubs = memory_stubs(std::make_index_sequence<8 * 8>());

uint32_t host_mxcsr() {
  uint32_t v;
  asm volatile("stmxcsr %0" : "=m"(v));
  return v;
}

} // namespace

HostResult run_on_host(const FpuState& guest, uint8_t opcode, uint8_t modrm, void* operand,
                       uint8_t flags) {
  // Exceptions already pending are kept out of the host (they would trap there) and merged back.
  const uint16_t pending = unmasked(guest);
  thread_local FxsaveImage image;
  image.fcw = guest.fcw;
  image.fsw = uint16_t(guest.fsw & ~pending & ~(fsw::kSummary | fsw::kBusy));
  image.ftw = guest.ftw;
  image.mxcsr = host_mxcsr(); // the host's SSE control stays as it is
  for (unsigned i = 0; i < 8; ++i)
    std::memcpy(image.st[i], guest.st[i].data(), 10);
  uint64_t ax = uint64_t(flags) << 8;
  const unsigned op = opcode - 0xd8u;
  if ((modrm >> 6) == 3)
    kRegisterStubs[op * 64 + (modrm & 63)](&image, operand, &ax);
  else
    kMemoryStubs[op * 8 + ((modrm >> 3) & 7)](&image, operand, &ax);

  HostResult r;
  r.new_unmasked = image.fsw & fsw::kExceptions & ~guest.fcw;
  r.fsw = with_summary(uint16_t(image.fsw | pending), guest.fcw);
  r.ftw = image.ftw;
  for (unsigned i = 0; i < 8; ++i)
    std::memcpy(r.st[i].data(), image.st[i], 10);
  r.flags = uint8_t(ax >> 8);
  return r;
}

} // namespace rrvm::emu::x87
