// The statistics a trace holds, read without re-executing it: the counters of the footer's
// summary and, per sampling interval, the host-time counters and the exits by reason.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vmm/vm_stats.h"

namespace rrvm {

// One sampling interval: from the previous sample (or the start of the run) to a sample.
struct StatsInterval {
  uint64_t start_ns = 0; // host time since the run started
  uint64_t end_ns = 0;
  uint64_t runtime_ns = 0; // within the interval
  uint64_t ready_ns = 0;
  uint64_t idle_ns = 0;
  uint64_t exits = 0;
  std::map<std::string, uint64_t> exits_by_reason; // exit_reason_name → exits in the interval

  uint64_t length_ns() const { return end_ns - start_ns; }
  double ready_percent() const;
  double idle_percent() const;
  double exits_per_second() const;
};

struct StatsReport {
  VmStats counters;
  // False for a trace without a footer (a killed recording): the counters are then rebuilt from
  // its events and samples, and only those that they determine are filled.
  bool has_summary = false;
  // Counters in the summary that this rrvm does not know (a trace from another version).
  std::vector<std::pair<std::string, uint64_t>> unknown_counters;
  std::optional<int32_t> guest_exit_status;
  std::vector<StatsInterval> intervals;
  // Why the trace is not complete, if it is not.
  std::string truncation;
  // Not complete, but only the footer is damaged: every event is there.
  bool every_event = false;
};

// Throws Error(kBadInput) for a file that is not a trace.
StatsReport read_stats_report(const std::string& trace_path);

} // namespace rrvm
