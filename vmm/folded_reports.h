// The reports and input polls a gate under --verify hashes lets the machine handle itself. Such a
// gate does nothing with most reports (exits, port, MMIO and MSR reads) but fold them into its
// digest, and nothing with most polls but count them, while an exit on emu costs a few hundred
// host instructions: the virtual calls to Gate::on_exit, on_port_read and take_input and the
// gate's mode checks were most of what recording added to each exit. The gate keeps its digest
// and poll count here and says from which report and which poll on it wants to see them again (a
// check, a register hash, the first report of a verification window or a logged input is due);
// before that, the machine does exactly what the gate would (report_exit, report_read and
// poll_input in vmm/gate.h).
#pragma once

#include <atomic>
#include <cstdint>

#include "vmm/engine.h"
#include "vmm/maybe_count.h"
#include "vmm/report_digest.h"

namespace rrvm {

// The input flag of a gate whose input never arrives from elsewhere (a replay's): pointing at it
// spares every poll a null test.
inline const std::atomic<bool> kNoInputEver{false};

struct FoldedReports {
  ReportDigest digest;
  // The report count from which the gate wants each report itself (Gate::on_exit, on_port_read,
  // ...): a report is folded by the machine only when the count after it stays below.
  uint64_t gate_wants_at = UINT64_MAX;
  MaybeCount last_icount = 0;

  // Input polls so far (Gate::take_input calls, whoever answered them). The machine answers a
  // poll below `gate_polls_at` itself, with nothing, unless `input_waiting` (a recording's host
  // input, or a stop request) is set.
  uint64_t polls = 0;
  uint64_t gate_polls_at = UINT64_MAX;
  const std::atomic<bool>* input_waiting = &kNoInputEver;

  bool foldable() const { return digest.reports() + 1 < gate_wants_at; }
  void fold(ExitReason reason, uint64_t rip, MaybeCount icount) {
    last_icount = icount;
    digest.exit(static_cast<uint8_t>(reason), rip, *icount);
  }
  // An older trace's replay folds its exits as that format did.
  void fold_format3(ExitReason reason, uint64_t rip, MaybeCount icount) {
    last_icount = icount;
    digest.format3_exit(static_cast<uint8_t>(reason), rip, *icount);
  }
  void fold_format2(ExitReason reason, uint64_t rip, MaybeCount icount) {
    last_icount = icount;
    digest.format2_exit(static_cast<uint8_t>(reason), rip, icount.value_or(0));
  }
  bool poll_is_empty() const {
    return polls < gate_polls_at && !input_waiting->load(std::memory_order_relaxed);
  }
};

} // namespace rrvm
