// A run's exits by reason. The machine counts each exit here, once; the statistics counters an
// exit reason stands for (bhyve's VMEXIT_*) follow from these counts by one table
// (count_exits), for the machine's statistics and for a trace's, whose exit events or samples
// give the same counts.
#pragma once

#include <array>
#include <cstdint>

#include "vmm/engine.h"
#include "vmm/vm_stats.h"

namespace rrvm {

class ExitCounts {
public:
  void add(ExitReason reason) {
    ++by_reason_[static_cast<size_t>(reason)];
    ++total_;
  }
  uint64_t total() const { return total_; }
  uint64_t of(ExitReason reason) const { return by_reason_[static_cast<size_t>(reason)]; }
  // The counters these exits stand for, added to `stats`.
  void add_to(VmStats& stats) const;

private:
  std::array<uint64_t, kExitReasonCount> by_reason_{};
  uint64_t total_ = 0;
};

// Adds to `stats` what `n` exits of `reason` count in: the total and the reason's own counters.
void count_exits(VmStats& stats, ExitReason reason, uint64_t n = 1);

} // namespace rrvm
