// The exits a gate under --verify hashes lets the machine fold into its digest itself. Such a
// gate does nothing with most exits but fold them, and an exit on emu costs a few hundred host
// instructions: the virtual call to Gate::on_exit and the gate's mode checks were a third of what
// recording added to each exit. The gate keeps the digest here and says from which report on it
// wants to see the exits again (a check, a register hash or the first report of a verification
// window is due); before that, the machine folds them exactly as the gate would.
#pragma once

#include <array>
#include <cstdint>

#include "vmm/engine.h"
#include "vmm/report_digest.h"

namespace rrvm {

struct FoldedExits {
  ReportDigest digest;
  // The report count from which the gate wants each exit itself (Gate::on_exit): an exit is
  // folded by the machine only when the count after it stays below.
  uint64_t gate_wants_at = UINT64_MAX;
  uint64_t last_rip = 0;
  uint64_t last_icount = 0;
  std::array<uint64_t, 256> exits_by_reason{}; // since the recording's last stats sample

  bool foldable() const { return digest.reports() + 1 < gate_wants_at; }
  void fold(ExitReason reason, uint64_t rip, uint64_t icount) {
    last_rip = rip;
    last_icount = icount;
    digest.exit(static_cast<uint8_t>(reason), rip, icount);
    ++exits_by_reason[static_cast<uint8_t>(reason)];
  }
};

} // namespace rrvm
