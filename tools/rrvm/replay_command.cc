#include <iostream>

#include "debugger/serve_gdb.h"
#include "replay/divergence_hint.h"
#include "replay/replay_session.h"
#include "tools/rrvm/command_line.h"
#include "tools/rrvm/commands.h"
#include "tools/rrvm/replay_progress.h"
#include "tools/rrvm/serial_output.h"
#include "tools/rrvm/stats_compare.h"
#include "vmm/register_dump.h"

namespace rrvm {

int replay_command(const std::vector<std::string>& args) {
  CommandLine line(args, {"--serial", "--engine", "--gdb"}, {"--stats"});
  if (line.positional().size() != 1) throw Error(ExitCode::kUsage, "replay needs one TRACE");
  SerialOutput serial(line.value("--serial").value_or("stdio"));
  if (auto address = line.value("--gdb")) {
    // --stats compares the statistics as a replay without gdb does, when gdb let it end.
    auto compare_stats = [&](Machine& machine) {
      serial.flush();
      if (!line.flag("--stats")) return 0;
      const int differ =
          print_stats_comparison(std::cerr, line.positional()[0], machine.final_stats());
      return differ != 0 ? static_cast<int>(ExitCode::kDivergence) : 0;
    };
    return serve_gdb(line.positional()[0],
                     {line.value("--engine").value_or(""), [&serial](uint8_t b) { serial.put(b); }},
                     *address, compare_stats);
  }
  ReplaySession session(line.positional()[0], {line.value("--engine").value_or(""),
                                               [&serial](uint8_t byte) { serial.put(byte); }});
  Machine& machine = session.machine();
  RunOutcome outcome;
  try {
    ReplayProgress progress(session.gate(), session.total_events());
    outcome = session.run();
  } catch (const Error& e) {
    serial.flush();
    if (e.code() != ExitCode::kDivergence) throw;
    CpuState cpu = machine.engine().state();
    std::cerr << "rrvm: " << e.what() << "\n";
    if (auto hint = divergence_hint(session.header(), machine.engine().name()))
      std::cerr << "rrvm: " << *hint << "\n";
    std::cerr << "replay state:\n"
              << describe_instruction_at(machine.memory(), cpu) << "\n"
              << register_dump(cpu) << "\n";
    return static_cast<int>(ExitCode::kDivergence);
  }
  serial.flush();
  if (line.flag("--stats") &&
      print_stats_comparison(std::cerr, line.positional()[0], machine.final_stats()) != 0)
    return static_cast<int>(ExitCode::kDivergence);
  return report_outcome(outcome);
}

} // namespace rrvm
