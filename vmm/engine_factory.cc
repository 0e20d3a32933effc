#include "vmm/engine_factory.h"

#include "vmm/emu/emu_engine.h"
#include "vmm/error.h"
#include "vmm/kvm/kvm_engine.h"
#include "vmm/machine.h"

namespace rrvm {

EngineChoice create_engine(EngineKind kind, GuestMemory& memory, ClockMode clock,
                           bool emu_translate) {
  if (clock == ClockMode::kIcount) {
    if (kind == EngineKind::kKvm)
      throw Error(ExitCode::kUsage, "--clock icount needs an instruction count: it runs only "
                                    "with --engine emu (or auto), not kvm");
    return {std::make_unique<EmuEngine>(memory, CpuidTable::emulated(clock), emu_translate),
            kind == EngineKind::kEmu ? "emu (--engine emu)" : "emu (auto: --clock icount)"};
  }
  switch (kind) {
  case EngineKind::kKvm:
    return {std::make_unique<KvmEngine>(memory), "kvm (--engine kvm)"};
  case EngineKind::kEmu:
    return {std::make_unique<EmuEngine>(memory, CpuidTable::emulated(), emu_translate),
            "emu (--engine emu)"};
  case EngineKind::kAuto:
    break;
  }
  KvmHostInfo host = probe_kvm_host();
  if (host.available && host.hardware_virt)
    return {std::make_unique<KvmEngine>(memory),
            "kvm (auto: the host has hardware virtualization)"};
  return {std::make_unique<EmuEngine>(memory, CpuidTable::emulated(), emu_translate),
          host.available ? "emu (auto: /dev/kvm is not hardware virtualization here: no vmx/svm)"
                         : "emu (auto: " + host.why_not + ")"};
}

} // namespace rrvm
