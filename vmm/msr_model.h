// The MSRs a guest can access, on either engine, and who answers each (issue 10 part 4): one
// table, so that a recording made on kvm replays on emu and both engines refuse the same MSRs.
//
// - kEngine: architectural state the engine carries (EFER, the SYSCALL/SYSENTER MSRs, FS/GS base,
//   PAT); KVM handles it in the kernel, emu in its CPU. Accesses never leave the engine.
// - kClock: derived from the machine's virtual clock (the TSC family): the engine exits and the
//   machine answers, so recording logs the value and replay reproduces it.
// - kConstant: a fixed value consistent with the CPUID rrvm presents (an Intel family 6 CPU
//   without PMU, APIC, MCE or microcode updates); the engine exits, the machine answers, writes
//   are accepted and change nothing.
// Every other MSR raises #GP on both engines (after an exit, so the machine counts it).
#pragma once

#include <cstdint>
#include <span>

#include "vmm/cpu_state.h"

namespace rrvm {

enum class MsrOwner : uint8_t { kEngine, kClock, kConstant };

struct MsrModel {
  uint32_t index;
  const char* name;
  MsrOwner owner;
  uint64_t value = 0;                  // kConstant: what reads return
  uint64_t MsrState::*field = nullptr; // kEngine: where CpuState keeps it, if in MsrState
};

std::span<const MsrModel> msr_models();
// The model of MSR `index`; nullptr for an MSR no engine implements.
const MsrModel* find_msr_model(uint32_t index);
// True when a guest access to `index` exits to the machine (every MSR but the engine's own).
bool machine_answers_msr(uint32_t index);

} // namespace rrvm
