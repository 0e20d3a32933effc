// Guest-virtual (linear) to guest-physical translation in the CPU's current paging mode: none,
// 32-bit, PAE, or 4-level long mode. Used to show the faulting instruction and by the debugger.
#pragma once

#include <cstdint>
#include <optional>

#include "vmm/cpu_state.h"
#include "vmm/guest_memory.h"

namespace rrvm {

// Translates a linear address; nullopt when it is not mapped (or a paging structure lies outside
// guest RAM).
std::optional<uint64_t> linear_to_physical(const GuestMemory& memory, const CpuState& cpu,
                                           uint64_t linear);

// Reads up to out.size() bytes at a linear address, stopping at the first unmapped byte; returns
// how many were read.
size_t read_linear(const GuestMemory& memory, const CpuState& cpu, uint64_t linear,
                   std::span<uint8_t> out);

} // namespace rrvm
