// Human-readable CPU state for failure reports.
#pragma once

#include <string>

#include "vmm/cpu_state.h"
#include "vmm/guest_memory.h"

namespace rrvm {

// "64-bit long mode, rip 0x100012: 0f 0b  ud2" — the mode, the instruction pointer and the
// instruction there (bytes and disassembly), or why it cannot be read.
std::string describe_instruction_at(const GuestMemory& memory, const CpuState& cpu);

// A multi-line register dump: general registers, rip/rflags, segments, control registers.
std::string register_dump(const CpuState& cpu);

} // namespace rrvm
