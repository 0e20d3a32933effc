#include "vmm/engine_factory.h"

#include "vmm/emu/emu_engine.h"
#include "vmm/kvm/kvm_engine.h"
#include "vmm/machine.h"

namespace rrvm {

std::unique_ptr<Engine> create_engine(EngineKind kind, GuestMemory& memory, std::string& choice) {
  switch (kind) {
  case EngineKind::kKvm:
    choice = "kvm (--engine kvm)";
    return std::make_unique<KvmEngine>(memory);
  case EngineKind::kEmu:
    choice = "emu (--engine emu)";
    return std::make_unique<EmuEngine>(memory);
  case EngineKind::kAuto:
    break;
  }
  KvmHostInfo host = probe_kvm_host();
  if (host.available && host.hardware_virt) {
    choice = "kvm (auto: the host has hardware virtualization)";
    return std::make_unique<KvmEngine>(memory);
  }
  choice = host.available ? "emu (auto: /dev/kvm is not hardware virtualization here: no vmx/svm)"
                          : "emu (auto: " + host.why_not + ")";
  return std::make_unique<EmuEngine>(memory);
}

} // namespace rrvm
