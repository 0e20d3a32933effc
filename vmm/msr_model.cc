#include "vmm/msr_model.h"

#include <algorithm>

#include "vmm/msr_index.h"

namespace rrvm {

namespace {

// IA32_MISC_ENABLE: fast strings on, branch trace and PEBS unavailable (no PMU); no Enhanced
// SpeedStep, MONITOR or thermal control (CPUID leaf 1 advertises none); CPUID not limited, XD not
// disabled (Linux's verify_cpu and early_init_intel would otherwise rewrite it).
constexpr uint64_t kMiscEnableFastStrings = 1ull << 0;
constexpr uint64_t kMiscEnableBtsUnavailable = 1ull << 11;
constexpr uint64_t kMiscEnablePebsUnavailable = 1ull << 12;
// The microcode revision Linux reads back after writing 0 and running CPUID (bits 63:32).
constexpr uint64_t kMicrocodeRevision = 0x21ull << 32;
// IA32_FEATURE_CONTROL locked with VMX and SMX off: CPUID advertises neither.
constexpr uint64_t kFeatureControlLocked = 1;
// IA32_ARCH_CAPABILITIES: RDCL_NO and MDS_NO. emu loads nothing speculatively and has no
// microarchitectural buffers to sample, so neither a rogue data cache load (Meltdown) nor MDS can
// happen. Told so, Linux runs without page-table isolation, as on AMD (QEMU's qemu64), instead of
// switching CR3 at every kernel entry and exit (the Debian kernel's boot took 10 % longer with
// it), and without a VERW at every return to user space. Only emu's CPUID advertises the MSR:
// kvm's hides it (kvm_cpuid.cc), since the host's CPU may well be vulnerable.
constexpr uint64_t kArchCapabilitiesRdclNo = 1ull << 0;
constexpr uint64_t kArchCapabilitiesMdsNo = 1ull << 5;

constexpr MsrModel kModels[] = {
    {msr::kTsc, "IA32_TIME_STAMP_COUNTER", MsrOwner::kClock},
    {msr::kPlatformId, "IA32_PLATFORM_ID", MsrOwner::kConstant, 0},
    {msr::kFeatureControl, "IA32_FEATURE_CONTROL", MsrOwner::kConstant, kFeatureControlLocked},
    {msr::kTscAdjust, "IA32_TSC_ADJUST", MsrOwner::kClock},
    {msr::kBiosSignId, "IA32_BIOS_SIGN_ID", MsrOwner::kConstant, kMicrocodeRevision},
    {msr::kArchCapabilities, "IA32_ARCH_CAPABILITIES", MsrOwner::kConstant,
     kArchCapabilitiesRdclNo | kArchCapabilitiesMdsNo},
    {msr::kMperf, "IA32_MPERF", MsrOwner::kClock},
    {msr::kAperf, "IA32_APERF", MsrOwner::kClock},
    {msr::kSysenterCs, "IA32_SYSENTER_CS", MsrOwner::kEngine, 0, &MsrState::sysenter_cs},
    {msr::kSysenterEsp, "IA32_SYSENTER_ESP", MsrOwner::kEngine, 0, &MsrState::sysenter_esp},
    {msr::kSysenterEip, "IA32_SYSENTER_EIP", MsrOwner::kEngine, 0, &MsrState::sysenter_eip},
    {msr::kMiscEnable, "IA32_MISC_ENABLE", MsrOwner::kConstant,
     kMiscEnableFastStrings | kMiscEnableBtsUnavailable | kMiscEnablePebsUnavailable},
    {msr::kPat, "IA32_PAT", MsrOwner::kEngine, 0, &MsrState::pat},
    {msr::kTscDeadline, "IA32_TSC_DEADLINE", MsrOwner::kClock},
    {msr::kEfer, "IA32_EFER", MsrOwner::kEngine},
    {msr::kStar, "IA32_STAR", MsrOwner::kEngine, 0, &MsrState::star},
    {msr::kLstar, "IA32_LSTAR", MsrOwner::kEngine, 0, &MsrState::lstar},
    {msr::kCstar, "IA32_CSTAR", MsrOwner::kEngine, 0, &MsrState::cstar},
    {msr::kSfmask, "IA32_FMASK", MsrOwner::kEngine, 0, &MsrState::sfmask},
    {msr::kFsBase, "IA32_FS_BASE", MsrOwner::kEngine},
    {msr::kGsBase, "IA32_GS_BASE", MsrOwner::kEngine},
    {msr::kKernelGsBase, "IA32_KERNEL_GS_BASE", MsrOwner::kEngine, 0, &MsrState::kernel_gs_base},
};

} // namespace

std::span<const MsrModel> msr_models() {
  return kModels;
}

const MsrModel* find_msr_model(uint32_t index) {
  auto it = std::find_if(std::begin(kModels), std::end(kModels),
                         [index](const MsrModel& m) { return m.index == index; });
  return it == std::end(kModels) ? nullptr : &*it;
}

bool machine_answers_msr(uint32_t index) {
  const MsrModel* model = find_msr_model(index);
  return !model || model->owner != MsrOwner::kEngine;
}

} // namespace rrvm
