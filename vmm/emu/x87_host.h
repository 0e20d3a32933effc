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

namespace rrvm::emu::x87 {

namespace fsw {
constexpr uint16_t kExceptions = 0x3f; // IE DE ZE OE UE PE
constexpr uint16_t kStackFault = 0x40;
constexpr uint16_t kSummary = 0x80; // ES
constexpr uint16_t kBusy = 0x8000;  // B, mirrors ES
constexpr uint16_t kTopShift = 11;
} // namespace fsw

// FCW: reserved bits 13-15 read as zero and bit 6 as one, as FLDCW leaves them on the host.
constexpr uint16_t canonical_fcw(uint16_t v) {
  return uint16_t((v & 0x1f3f) | 0x40);
}
// ES and B follow the unmasked exception flags (FLDCW/FLDENV recompute them on the host too).
uint16_t with_summary(uint16_t fsw_value, uint16_t fcw);
inline uint16_t unmasked(const FpuState& f) {
  return f.fsw & fsw::kExceptions & ~f.fcw;
}
inline unsigned top(const FpuState& f) {
  return (f.fsw >> fsw::kTopShift) & 7;
}

// Replaces FSW; FpuState keeps the registers in stack order, so a new TOP rotates them to keep
// each physical register's contents where it is.
void set_status(FpuState& f, uint16_t fsw_value);

// The two-bit tag FNSAVE/FNSTENV report for a non-empty register: valid, zero or special.
unsigned tag_of(const uint8_t value[10]);
// The full tag word (physical register order) of `f`.
uint16_t full_tag(const FpuState& f);
// The abridged tag (bit set = not empty) of a full tag word.
uint8_t abridged_tag(uint16_t full);

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
