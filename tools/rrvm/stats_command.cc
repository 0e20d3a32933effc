// `rrvm stats TRACE`: the statistics a recording stored, shown without re-executing it.
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "tools/rrvm/command_line.h"
#include "tools/rrvm/commands.h"
#include "tools/rrvm/distinct_files.h"
#include "tools/rrvm/partial_output.h"
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
  const auto plot = line.value("--plot");
  if (plot) require_distinct_files({{"TRACE", trace}}, {{"--plot", *plot}});
  const StatsReport report = read_stats_report(trace);

  // One line on what is missing, if anything: a damaged footer loses only the summary, a killed
  // recording the events after its last chunk, damaged chunks the events from there on.
  const bool unfinished = report.truncation.rfind("no footer", 0) == 0;
  const bool events_lost = !report.truncation.empty() && !report.every_event && !unfinished;
  if (report.every_event)
    std::cerr << "rrvm: " << trace << ": every event is there but the footer is damaged ("
              << report.truncation << "); counters rebuilt from the events and samples\n";
  else if (unfinished)
    std::cerr << "rrvm: " << trace << ": " << report.truncation
              << "; counters rebuilt from its events and samples\n";
  else if (events_lost)
    std::cerr << "rrvm: " << trace << ": events lost: " << report.truncation
              << "; counters rebuilt from the events before\n";
  for (const auto& [description, value] : report.unknown_counters)
    std::cerr << "rrvm: counter unknown to this rrvm: " << description << " = " << value << "\n";

  if (plot) {
    PartialOutput svg_file(*plot, /*keep_incomplete=*/false);
    std::ofstream svg(svg_file.temp_path(), std::ios::binary | std::ios::trunc);
    if (!svg) throw Error(ExitCode::kIo, errno_message(*plot, errno));
    write_stats_svg(svg, report, "rrvm statistics: " + trace);
    finish_output(svg, "writing " + *plot);
    svg.close();
    if (!svg) throw Error(ExitCode::kIo, errno_message(*plot, errno));
    svg_file.commit();
  }
  if (line.flag("--json")) {
    write_stats_json(std::cout, report);
  } else {
    report.counters.print(std::cout, 0);
    print_intervals(std::cout, report);
  }
  finish_output(std::cout, "writing the statistics to standard output");
  return events_lost ? static_cast<int>(ExitCode::kBadInput) : 0;
}

} // namespace rrvm
