// Facts and checks shared by the SSE/MMX handlers (sse.cc) and FXSAVE/FXRSTOR (fxsave.cc).
#pragma once

#include <cstdint>
#include <cstring>

#include "vmm/emu/cpu.h"
#include "vmm/emu/x87_state.h"

namespace rrvm::emu {

namespace mxcsr {
constexpr uint32_t kIE = 1u << 0, kDE = 1u << 1, kZE = 1u << 2, kOE = 1u << 3, kUE = 1u << 4,
                   kPE = 1u << 5, kDAZ = 1u << 6, kFTZ = 1u << 15;
constexpr uint32_t kFlags = 0x3f;
constexpr unsigned kMaskShift = 7;      // exception masks are the flags shifted left by 7
constexpr uint32_t kMasks = 0x3fu << 7; // all exceptions masked
constexpr uint32_t kWritable = 0xffff;  // MXCSR_MASK: every other bit raises #GP when loaded
} // namespace mxcsr

// #UD/#NM for an instruction that uses the XMM registers or MXCSR; one test when SSE is usable.
inline void check_sse(const Cpu& c) {
  if (((c.cr0 & (cr0::kEM | cr0::kTS)) | (~c.cr4 & cr4::kOSFXSR)) == 0) [[likely]]
    return;
  if ((c.cr0 & cr0::kEM) || !(c.cr4 & cr4::kOSFXSR)) Cpu::fault(vec::kUD);
  Cpu::fault(vec::kNM);
}

struct Bytes16 {
  uint8_t b[16];
};

// The XMM registers as the host stubs address them.
inline uint8_t (*xmm_file(Cpu& c))[16] {
  return reinterpret_cast<uint8_t(*)[16]>(c.fpu.xmm.data());
}

// #UD/#NM/#MF for an instruction that uses the MMX registers.
inline void check_mmx(const Cpu& c) {
  if (c.cr0 & cr0::kEM) Cpu::fault(vec::kUD);
  if (c.cr0 & cr0::kTS) Cpu::fault(vec::kNM);
  if (c.fpu.fsw & x87::fsw::kSummary) Cpu::fault(vec::kMF);
}

// MMi is the significand of physical x87 register i, which is ST((i - TOP) mod 8).
inline uint64_t read_mm(const FpuState& f, unsigned i) {
  uint64_t v;
  std::memcpy(&v, f.st[(i - x87::top(f)) & 7].data(), 8);
  return v;
}

// After any MMX instruction: TOP is 0 (so the stack order becomes the physical order) and every
// register is tagged valid (EMMS then empties them).
inline void enter_mmx_mode(FpuState& f) {
  x87::set_status(f, f.fsw & ~(7u << x87::fsw::kTopShift));
  f.ftw = 0xff;
}

// An MMX register write; the exponent and sign bits of the x87 register become all ones.
inline void write_mm(FpuState& f, unsigned i, uint64_t v) {
  std::memcpy(f.st[i].data(), &v, 8); // in MMX mode ST(i) is physical register i
  f.st[i][8] = f.st[i][9] = 0xff;
}

} // namespace rrvm::emu
