// The x87 status and tag words as the interpreter keeps them in FpuState (FXSAVE terms): the
// status word's fields, the summary bits the CPU derives, the stack-order register file under a
// changing TOP, and the two tag word forms.
#pragma once

#include <cstdint>

#include "vmm/cpu_state.h"

namespace rrvm::emu::x87 {

namespace fsw {
constexpr uint16_t kExceptions = 0x3f; // IE DE ZE OE UE PE
constexpr uint16_t kPrecision = 0x20;
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

} // namespace rrvm::emu::x87
