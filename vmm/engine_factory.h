// Chooses and creates the vCPU engine for --engine auto|kvm|emu.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "vmm/emu/emu_engine.h"
#include "vmm/engine.h"
#include "vmm/guest_memory.h"
#include "vmm/virtual_clock.h"

namespace rrvm {

enum class EngineKind : uint8_t { kAuto, kKvm, kEmu };

struct EngineChoice {
  std::unique_ptr<Engine> engine;
  // Which engine runs and why, e.g. "emu (auto: /dev/kvm is not hardware virtualization here: no
  // vmx/svm)".
  std::string why;
};

// How `--clock host` is kept for `kind`: sampled at every exit on kvm, the adaptive clock on emu
// (auto: emu when the host has no hardware virtualization).
ClockMode host_following_clock(EngineKind kind);

// The engine for `kind`, running the guest in `memory` (which must outlive it). The clocks of
// the instruction count (kIcount, kAdaptive) need emu: auto picks it and kvm is refused (Error
// kUsage). `emu_translate`: an emu engine translates hot code (EmuEngine). `emu_cpuid`: the CPU
// an emu engine presents, by default CpuidTable::emulated(clock); a replay passes the one its
// recording presented, which an older rrvm may have made differently.
EngineChoice create_engine(EngineKind kind, GuestMemory& memory, ClockMode clock = ClockMode::kHost,
                           bool emu_translate = kEmuTranslateByDefault,
                           std::optional<CpuidTable> emu_cpuid = std::nullopt);

} // namespace rrvm
