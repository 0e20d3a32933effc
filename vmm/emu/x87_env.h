// The x87 environment and save images as FNSTENV/FLDENV and FNSAVE/FRSTOR lay them out in guest
// memory: 14 bytes (16-bit operand size) or 28 bytes (32-bit), in the real-mode layout (20/32-bit
// linear pointers split around the opcode) or the protected-mode one (offset and selector), with
// FNSAVE's 80 bytes of registers in stack order after the environment.
#pragma once

#include <cstddef>
#include <cstdint>

#include "vmm/cpu_state.h"

namespace rrvm::emu::x87 {

struct EnvLayout {
  bool wide; // 32-bit operand size
  bool real; // real or virtual-8086 mode
  size_t env_size() const { return wide ? 28 : 14; }
  size_t save_size() const { return env_size() + 80; }
};

// Writes the environment of `f` (the tag word computed from the registers, as the CPU does).
void store_env(const FpuState& f, EnvLayout layout, uint8_t* out);
// Loads FCW, FSW (ES/B recomputed), FTW and the pointers from an environment image.
void load_env(FpuState& f, EnvLayout layout, const uint8_t* in);

} // namespace rrvm::emu::x87
