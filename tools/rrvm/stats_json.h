// `rrvm stats --json`: a StatsReport as one JSON document, for machines.
//
//   {"vcpus": [{"vcpu": 0, "stats": [{"id", "description", "value", "deterministic"}, ...]}],
//    "summary": bool, "guest_exit_status": int|null, "truncated": string|null,
//    "unknown_stats": [{"description", "value"}],
//    "intervals": [{"start_ns", "end_ns", "runtime_ns", "ready_ns", "idle_ns", "exits",
//                   "ready_pct", "idle_pct", "exits_per_s", "exits_by_reason": {reason: n}}]}
#pragma once

#include <iosfwd>

#include "tools/rrvm/stats_report.h"

namespace rrvm {

void write_stats_json(std::ostream& out, const StatsReport& report);

} // namespace rrvm
