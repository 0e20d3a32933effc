#include "tools/rrvm/stats_compare.h"

#include <ostream>
#include <vector>

#include "formats/trace_reader.h"

namespace rrvm {

unsigned print_stats_comparison(std::ostream& out, const std::string& trace_path,
                                const VmStats& replayed) {
  // Only the footer is needed: the reader reads the rest lazily.
  TraceReader reader(trace_path);
  VmStats recorded;
  std::vector<bool> in_summary(static_cast<unsigned>(VmStat::kCount));
  if (const auto& footer = reader.footer()) {
    for (const auto& [description, value] : footer->summary.stats) {
      if (auto stat = vm_stat_by_description(description)) {
        recorded.set(*stat, value);
        in_summary[static_cast<unsigned>(*stat)] = true;
      }
    }
  } else {
    out << "rrvm: the trace has no summary (the recording did not finish): nothing to compare\n";
  }

  out << "vcpu0 stats (deterministic counters: replayed, recorded):\n";
  unsigned differences = 0;
  for (unsigned i = 0; i < static_cast<unsigned>(VmStat::kCount); ++i) {
    const VmStat stat = static_cast<VmStat>(i);
    const VmStatInfo& info = vm_stat_info(stat);
    if (!info.deterministic) continue;
    std::string more = "-";
    if (in_summary[i]) {
      more = std::to_string(recorded.get(stat));
      if (recorded.get(stat) != replayed.get(stat)) {
        more += "\tDIFFERS";
        ++differences;
      }
    }
    VmStats::print_line(out, info.description, replayed.get(stat), more);
  }
  if (differences)
    out << "rrvm: " << differences << " deterministic counter" << (differences == 1 ? "" : "s")
        << " differ from the recording\n";
  return differences;
}

} // namespace rrvm
