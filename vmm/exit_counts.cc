#include "vmm/exit_counts.h"

#include <optional>

namespace rrvm {

namespace {

// The counter an exit of a reason counts in besides the total, and whether userspace (the
// machine's devices or MSR model) handled it.
struct ExitCounters {
  std::optional<VmStat> counter;
  bool userspace = false;
  bool host_wakeup = false; // a host timer interrupted the running vCPU
};

ExitCounters counters_of(ExitReason reason) {
  switch (reason) {
  case ExitReason::kIo:
    return {VmStat::VMEXIT_INOUT, true};
  case ExitReason::kMmio:
    return {VmStat::VMEXIT_NESTED_FAULT, true};
  case ExitReason::kHlt:
    return {VmStat::VMEXIT_HLT};
  case ExitReason::kInterruptWindow:
    return {VmStat::VMEXIT_INTR_WINDOW};
  case ExitReason::kMsrRead:
    return {VmStat::VMEXIT_RDMSR, true};
  case ExitReason::kMsrWrite:
    return {VmStat::VMEXIT_WRMSR, true};
  case ExitReason::kKicked:
    return {VmStat::VMEXIT_EXTINT, false, true};
  case ExitReason::kInstructionLimit: // emu's quantum: its stand-in for the host timer's interrupt
    return {VmStat::VMEXIT_EXTINT};
  case ExitReason::kInternalError:
  case ExitReason::kUnsupported:
    return {VmStat::VMEXIT_UNKNOWN};
  case ExitReason::kShutdown:
  case ExitReason::kDebug:
    break;
  }
  return {};
}

} // namespace

void count_exits(VmStats& stats, ExitReason reason, uint64_t n) {
  stats.add(VmStat::VMEXIT_COUNT, n);
  const ExitCounters counters = counters_of(reason);
  if (counters.counter) stats.add(*counters.counter, n);
  if (counters.userspace) stats.add(VmStat::VMEXIT_USERSPACE, n);
  if (counters.host_wakeup) stats.add(VmStat::RRVM_HOST_WAKEUPS, n);
}

void ExitCounts::add_to(VmStats& stats) const {
  for (size_t reason = 0; reason < by_reason_.size(); ++reason)
    if (by_reason_[reason]) count_exits(stats, ExitReason(reason), by_reason_[reason]);
}

} // namespace rrvm
