#include "vmm/kvm/kvm_cpuid.h"

#include <cerrno>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <vector>

#include "vmm/error.h"
#include "vmm/kvm/kvm_flexible_arrays.h"

namespace rrvm {

namespace {

constexpr unsigned kMaxEntries = 256;

void hide_nondeterministic(CpuidEntry& e) {
  using namespace cpuid_hidden;
  switch (e.function) {
  case 1:
    e.ecx &= ~(kLeaf1EcxRdrand | kLeaf1EcxTscDeadline | kLeaf1EcxPdcm);
    e.ecx &= ~(1u << 21); // x2APIC: there is no local APIC model
    e.edx &= ~(1u << 4);  // TSC: RDTSC cannot be trapped on KVM
    e.edx &= ~(1u << 9);  // APIC
    e.ebx &= 0x0000ffff;  // APIC ID 0, one logical processor
    break;
  case 6:
    e.ecx &= ~1u; // APERF/MPERF
    break;
  case 7:
    if (e.index == 0) {
      e.ebx &= ~(kLeaf7EbxRdseed | kLeaf7EbxRtm | kLeaf7EbxHle);
      e.ecx &= ~kLeaf7EcxRdpid;
    }
    break;
  case 0xa:  // architectural PMU
  case 0x15: // TSC/crystal frequency
  case 0x16:
    e.eax = e.ebx = e.ecx = e.edx = 0;
    break;
  case 0x80000001:
    e.edx &= ~kExt1EdxRdtscp;
    break;
  case 0x80000007:
    e.edx &= ~(1u << 8); // invariant TSC
    break;
  default:
    break;
  }
}

// Features whose MSRs the one MSR model (vmm/msr_model.h) does not answer: on kvm every MSR
// outside the model raises #GP as on emu, so CPUID must not advertise them either.
namespace msr_features {
constexpr uint32_t kLeaf1EcxDtes64 = 1u << 2, kLeaf1EcxVmx = 1u << 5, kLeaf1EcxSmx = 1u << 6,
                   kLeaf1EcxEst = 1u << 7, kLeaf1EcxTm2 = 1u << 8;
constexpr uint32_t kLeaf1EdxMce = 1u << 7, kLeaf1EdxMtrr = 1u << 12, kLeaf1EdxMca = 1u << 14,
                   kLeaf1EdxDs = 1u << 21, kLeaf1EdxAcpi = 1u << 22, kLeaf1EdxTm = 1u << 29;
// IBRS/IBPB, STIBP, L1D_FLUSH, ARCH_CAPABILITIES, CORE_CAPABILITIES, SSBD: SPEC_CTRL and friends.
// The model answers ARCH_CAPABILITIES with emu's RDCL_NO, which the host's CPU may not deserve.
constexpr uint32_t kLeaf7EdxSpeculationMsrs = 0xfc000000u;
constexpr uint32_t kLeafDSub1EaxXsaves = 1u << 3; // IA32_XSS
} // namespace msr_features

void hide_unmodelled_msr_features(CpuidEntry& e) {
  using namespace msr_features;
  switch (e.function) {
  case 1:
    e.ecx &= ~(kLeaf1EcxDtes64 | kLeaf1EcxVmx | kLeaf1EcxSmx | kLeaf1EcxEst | kLeaf1EcxTm2);
    e.edx &=
        ~(kLeaf1EdxMce | kLeaf1EdxMtrr | kLeaf1EdxMca | kLeaf1EdxDs | kLeaf1EdxAcpi | kLeaf1EdxTm);
    break;
  case 6: // thermal and power management: all MSR-based
    e.eax = e.ebx = e.ecx = e.edx = 0;
    break;
  case 7:
    if (e.index == 0) e.edx &= ~kLeaf7EdxSpeculationMsrs;
    break;
  case 0xd:
    if (e.index == 1) e.eax &= ~kLeafDSub1EaxXsaves;
    break;
  default:
    break;
  }
}

} // namespace

CpuidTable fixed_kvm_cpuid(int kvm_fd) {
  KvmArray<kvm_cpuid_entry2> cpuid(kMaxEntries);
  if (ioctl(kvm_fd, kKvmGetSupportedCpuid, cpuid.get()) < 0)
    throw Error(ExitCode::kNoHost, errno_message("kvm: KVM_GET_SUPPORTED_CPUID", errno));
  std::vector<CpuidEntry> entries;
  for (unsigned i = 0; i < cpuid.header()->count; ++i) {
    const auto& k = cpuid.entries()[i];
    if (k.function >= 0x40000000 && k.function < 0x50000000) continue; // KVM paravirt leaves
    CpuidEntry e{k.function, k.index, (k.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) != 0,
                 k.eax,      k.ebx,   k.ecx,
                 k.edx};
    hide_nondeterministic(e);
    hide_unmodelled_msr_features(e);
    entries.push_back(e);
  }
  return CpuidTable(std::move(entries));
}

void set_kvm_cpuid(int vcpu_fd, const CpuidTable& table) {
  const auto& entries = table.entries();
  if (entries.size() > kMaxEntries)
    throw Error(ExitCode::kBadInput, "CPUID table has too many entries");
  KvmArray<kvm_cpuid_entry2> cpuid(static_cast<uint32_t>(entries.size()));
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    auto& k = cpuid.entries()[i];
    k.function = e.function;
    k.index = e.index;
    k.flags = e.indexed ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
    k.eax = e.eax;
    k.ebx = e.ebx;
    k.ecx = e.ecx;
    k.edx = e.edx;
  }
  if (ioctl(vcpu_fd, kKvmSetCpuid2, cpuid.get()) < 0)
    throw Error(ExitCode::kNoHost, errno_message("kvm: KVM_SET_CPUID2", errno));
}

} // namespace rrvm
