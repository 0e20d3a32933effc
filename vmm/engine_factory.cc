#include "vmm/engine_factory.h"

#include "vmm/emu/emu_engine.h"
#include "vmm/error.h"
#include "vmm/kvm/kvm_engine.h"
#include "vmm/machine.h"

namespace rrvm {

ClockMode host_following_clock(EngineKind kind) {
  if (kind == EngineKind::kAuto) {
    const KvmHostInfo host = probe_kvm_host();
    kind = host.available && host.hardware_virt ? EngineKind::kKvm : EngineKind::kEmu;
  }
  return kind == EngineKind::kEmu ? ClockMode::kAdaptive : ClockMode::kHost;
}

EngineChoice create_engine(EngineKind kind, GuestMemory& memory, ClockMode clock,
                           bool emu_translate, std::optional<CpuidTable> emu_cpuid) {
  if (clock != ClockMode::kHost && kind == EngineKind::kKvm)
    throw Error(ExitCode::kUsage, std::string("--clock ") + clock_mode_name(clock) +
                                      " needs an instruction count: it runs only with "
                                      "--engine emu (or auto), not kvm");
  auto emu = [&] {
    return std::make_unique<EmuEngine>(memory, emu_cpuid.value_or(CpuidTable::emulated(clock)),
                                       emu_translate);
  };
  switch (kind) {
  case EngineKind::kKvm:
    return {std::make_unique<KvmEngine>(memory), "kvm (--engine kvm)"};
  case EngineKind::kEmu:
    return {emu(), "emu (--engine emu)"};
  case EngineKind::kAuto:
    break;
  }
  if (clock == ClockMode::kIcount) return {emu(), "emu (auto: --clock icount)"};
  KvmHostInfo host = probe_kvm_host();
  if (host.available && host.hardware_virt) {
    if (clock == ClockMode::kAdaptive)
      return {emu(), "emu (auto: the adaptive clock needs an instruction count)"};
    return {std::make_unique<KvmEngine>(memory),
            "kvm (auto: the host has hardware virtualization)"};
  }
  return {emu(), host.available
                     ? "emu (auto: /dev/kvm is not hardware virtualization here: no vmx/svm)"
                     : "emu (auto: " + host.why_not + ")"};
}

} // namespace rrvm
