// SSE and MMX instructions run on the host CPU: each distinct instruction becomes a small host
// stub that loads the guest registers it names, executes the instruction itself (its memory
// operand redirected to a buffer, its GPR operands to scratch registers) and stores the results
// back. Floating-point stubs run under the guest's MXCSR, which the handler loads. The host is the
// reference the SDM describes, so rounding, DAZ/FTZ, NaN propagation and the status flags are exact
// by construction; the handler (sse.cc) does the checks and the exception delivery around it.
#pragma once

#include <Zydis/Zydis.h>

#include <cstdint>

namespace rrvm::emu {

// Everything a stub reads and writes besides the XMM registers, which it addresses directly.
struct alignas(16) SimdFrame {
  uint8_t mem[16];     // the memory operand's bytes
  uint64_t mm[8];      // MM0-MM7 (the x87 registers' significands)
  uint64_t gpr[5];     // the GPR operands: two explicit (in R8, R9), then RAX, RCX, RDX
  uint64_t rflags;     // after the instruction
  uint32_t mxcsr;      // in: the guest's MXCSR with all exceptions masked; out: after
  uint32_t host_mxcsr; // the caller's MXCSR, restored before the stub returns
};

constexpr unsigned kSimdExplicitGprs = 2;
constexpr unsigned kSimdRax = 2, kSimdRcx = 3, kSimdRdx = 4; // SimdFrame::gpr slots

using SimdStub = void (*)(uint8_t (*xmm)[16], SimdFrame* frame);

// What a stub touches, for the handler's checks and write-back.
struct SimdOp {
  SimdStub stub = nullptr;
  uint16_t xmm_written = 0; // XMM registers the instruction writes
  uint8_t mm_used = 0, mm_written = 0;
  uint8_t mem_size = 0; // bytes of the memory operand, 0 if none
  bool mem_read = false, mem_write = false;
  bool aligned = false;    // a 16-byte operand that must be 16-byte aligned (#GP otherwise)
  bool uses_xmm = false;   // needs CR4.OSFXSR and a usable SSE unit
  bool uses_mxcsr = false; // floating point: MXCSR rounding/flags, may raise #XM
  uint8_t gpr_read = 0, gpr_written = 0; // bit i: SimdFrame::gpr[i]
  uint32_t flags = 0; // RFLAGS bits the instruction defines (copied from the host)
};

// Runs `op` under `mxcsr` (flags clear) and returns the exception flags it raised. Masked
// exceptions are the common case and cost no signal handling; with some unmasked, the host's
// SIGFPE is caught: `*trapped` is then set, the flags are those the host CPU set when it raised
// the exception (the SDM's rules for which ones, exactly), and the XMM registers and the frame's
// outputs are untouched.
uint32_t run_fp(const SimdOp& op, uint8_t (*xmm)[16], SimdFrame* frame, uint32_t mxcsr,
                bool* trapped);

// The stub for a decoded legacy-encoded SSE/MMX instruction, built once per distinct host
// encoding and kept for the life of the process; nullptr if the instruction has operands a stub
// cannot redirect (an implicit memory operand, a GPR other than RAX/RCX/RDX implicitly).
const SimdOp* simd_op(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops);

} // namespace rrvm::emu
