#include "vmm/engine_factory.h"

#include "vmm/kvm/kvm_engine.h"
#include "vmm/machine.h"

namespace rrvm {

std::unique_ptr<Engine> create_engine(EngineKind kind, GuestMemory& memory, std::string& choice) {
  switch (kind) {
  case EngineKind::kKvm:
    choice = "kvm (--engine kvm)";
    return std::make_unique<KvmEngine>(memory);
  case EngineKind::kEmu:
    throw Error(ExitCode::kUsage, "--engine emu: the interpreter engine is not available yet");
  case EngineKind::kAuto:
    break;
  }
  KvmHostInfo host = probe_kvm_host();
  if (!host.available)
    throw Error(ExitCode::kNoHost, host.why_not + " (and the emu engine is not available yet)");
  choice = host.hardware_virt ? "kvm (auto: host has hardware virtualization)"
                              : "kvm (auto: /dev/kvm present; no vmx/svm, so ring-0 and 32-bit "
                                "guest code is slow on this host)";
  return std::make_unique<KvmEngine>(memory);
}

} // namespace rrvm
