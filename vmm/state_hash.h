// Hashes that identify a vCPU state: a kick on kvm is recorded as rip + these hashes, and replay
// accepts the breakpoint hit where they match (equal state means an equivalent future).
#pragma once

#include <cstdint>
#include <span>

#include "vmm/cpu_state.h"

namespace rrvm {

// A fast 64-bit hash for equality checks (not for security).
uint64_t hash_bytes(std::span<const uint8_t> bytes, uint64_t seed = 0);

// The registers that determine what the vCPU does next: general registers, rip, rflags, control
// registers, segment selectors and bases, and the x87/SSE state (registers, control and status
// words, tags, MXCSR; not the last instruction's opcode and pointers, which only exception
// handlers read and which CPUs record differently).
uint64_t hash_cpu_state(const CpuState& cpu);

} // namespace rrvm
