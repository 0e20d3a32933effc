// The host CPU's own x87 unit as the reference implementation of every x87 data instruction: the
// guest's x87 state is loaded into the host FPU with FXRSTOR, the guest's instruction is executed
// there (same opcode and ModRM, memory operands redirected to a host buffer), and FXSAVE brings
// the result back. Results, status flags, condition codes, tags and the SDM's effects of unmasked
// exceptions (no pop, biased results, no store) are therefore the host CPU's, bit for bit.
// Transcendental instructions (FSIN, FPATAN, F2XM1…) can differ between CPU vendors and
// generations: a recording that uses them replays exactly on the same kind of CPU only.
#pragma once

#include <array>
#include <cstdint>

#include "vmm/cpu_state.h"
#include "vmm/emu/x87_state.h"

namespace rrvm::emu::x87 {

// The host's result of one x87 data instruction. `opcode` is D8-DF; `modrm` a register form
// (mod 3), or for memory forms the ModRM whose reg field selects the operation, with `operand`
// the host copy of the memory operand (read and written in place). `flags` carries the low byte
// of RFLAGS in and out (FCMOVcc reads CF/ZF/PF, FCOMI writes them).
struct HostResult {
  std::array<std::array<uint8_t, 10>, 8> st; // stack order, for the new TOP
  uint16_t fsw;                              // with ES/B
  uint8_t ftw;
  uint16_t new_unmasked; // unmasked exceptions this instruction raised
  uint8_t flags;
};
HostResult run_on_host(const FpuState& guest, uint8_t opcode, uint8_t modrm, void* operand,
                       uint8_t flags);

} // namespace rrvm::emu::x87
