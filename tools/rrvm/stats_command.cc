// `rrvm stats TRACE`: the statistics a recording stored, shown without re-executing it.
#include <cstdio>
#include <fstream>
#include <iostream>

#include "tools/rrvm/command_line.h"
#include "tools/rrvm/commands.h"
#include "tools/rrvm/stats_json.h"
#include "tools/rrvm/stats_report.h"
#include "tools/rrvm/stats_svg.h"
#include "vmm/error.h"

namespace rrvm {

namespace {

void print_intervals(std::ostream& out, const StatsReport& report) {
  out << "\nvcpu0 intervals (host time since the run started):\n"
      << "     end_s     exits/s   ready %    idle %\n";
  char line[96];
  for (const StatsInterval& interval : report.intervals) {
    std::snprintf(line, sizeof line, "%10.3f %11.0f %9.2f %9.2f\n", interval.end_ns / 1e9,
                  interval.exits_per_second(), interval.ready_percent(), interval.idle_percent());
    out << line;
  }
}

} // namespace

int stats_command(const std::vector<std::string>& args) {
  CommandLine line(args, {"--plot"}, {"--json"});
  if (line.positional().size() != 1) throw Error(ExitCode::kUsage, "stats needs one TRACE");
  const std::string& trace = line.positional()[0];
  const StatsReport report = read_stats_report(trace);

  if (!report.has_summary)
    std::cerr << "rrvm: " << trace
              << " has no summary (the recording did not finish); counters are rebuilt from its "
                 "events and samples\n";
  if (!report.truncation.empty())
    std::cerr << "rrvm: the trace's events end early: " << report.truncation << "\n";
  for (const auto& [description, value] : report.unknown_counters)
    std::cerr << "rrvm: counter unknown to this rrvm: " << description << " = " << value << "\n";

  if (auto plot = line.value("--plot")) {
    std::ofstream svg(*plot, std::ios::binary | std::ios::trunc);
    if (!svg) throw Error(ExitCode::kIo, "cannot create " + *plot);
    write_stats_svg(svg, report, "rrvm statistics: " + trace);
    svg.close();
    if (!svg) throw Error(ExitCode::kIo, "cannot write " + *plot);
  }
  if (line.flag("--json")) {
    write_stats_json(std::cout, report);
  } else {
    report.counters.print(std::cout, 0);
    print_intervals(std::cout, report);
  }
  return 0;
}

} // namespace rrvm
