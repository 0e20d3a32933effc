// `rrvm replay TRACE --stats`: the deterministic counters the replay recomputed, beside those the
// recording stored in its summary, each difference flagged.
#pragma once

#include <iosfwd>
#include <string>

#include "vmm/vm_stats.h"

namespace rrvm {

// Prints `vcpu0 stats:` then, per deterministic counter, `%-40s\t<replayed>\t<recorded>` with
// "DIFFERS" after any that differ. Returns the number of differences (0 when the trace has no
// summary to compare with, which it says).
unsigned print_stats_comparison(std::ostream& out, const std::string& trace_path,
                                const VmStats& replayed);

} // namespace rrvm
