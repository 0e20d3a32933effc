// What the differential tests share: the ring-3 64-bit start state both engines run from, one
// run of a sequence to its final OUT, and the CI rule that /dev/kvm must be usable there.
#pragma once

#include <optional>
#include <string>

#include "vmm/cpu_state.h"
#include "vmm/engine.h"
#include "vmm/guest_memory.h"

namespace rrvm::test {

// The user-mode state both runs start from (GDT, TSS and page tables as in initial_state()).
CpuState ring3_state(GuestMemory& mem);

// Runs one sequence from `start` to its final OUT; nullopt with `why` set on any other exit.
std::optional<CpuState> run_sequence(Engine& engine, const CpuState& start, std::string* why);

// True under CI, where a skipped differential test is a failure.
bool ci();

} // namespace rrvm::test
