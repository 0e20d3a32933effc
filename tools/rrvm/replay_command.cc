#include <filesystem>
#include <iostream>

#include "debugger/serve_gdb.h"
#include "replay/divergence_hint.h"
#include "replay/replay_session.h"
#include "tools/rrvm/command_line.h"
#include "tools/rrvm/commands.h"
#include "tools/rrvm/distinct_files.h"
#include "tools/rrvm/kernel_cache_dir.h"
#include "tools/rrvm/machine_options.h"
#include "tools/rrvm/replay_progress.h"
#include "tools/rrvm/serial_output.h"
#include "tools/rrvm/stats_compare.h"
#include "tools/rrvm/stop_signals.h"
#include "tools/rrvm/trace_header_check.h"
#include "vmm/register_dump.h"

namespace rrvm {

std::string replay_engine_option(const CommandLine& line) {
  const std::string engine = line.value("--engine").value_or("");
  if (!engine.empty() && engine != "kvm" && engine != "emu")
    throw Error(ExitCode::kUsage, "bad --engine '" + engine + "': expected kvm or emu");
  return engine;
}

std::string image_dir_option(const CommandLine& line) {
  const std::string dir = line.value("--image-dir").value_or("");
  std::error_code error;
  if (!dir.empty() && !std::filesystem::is_directory(dir, error))
    throw Error(ExitCode::kUsage, "--image-dir " + dir + ": not a directory");
  return dir;
}

int replay_command(const std::vector<std::string>& args) {
  CommandLine line(args, {"--serial", "--engine", "--gdb", "--emu-translate", "--image-dir"},
                   {"--stats"});
  if (line.positional().size() != 1) throw Error(ExitCode::kUsage, "replay needs one TRACE");
  const std::string& trace = line.positional()[0];
  const std::string engine = replay_engine_option(line);
  const std::string serial_spec = line.value("--serial").value_or("stdio");
  const std::string image_dir = image_dir_option(line);
  const bool translate = line.value("--emu-translate")
                             ? parse_on_off(*line.value("--emu-translate"), "--emu-translate")
                             : kEmuTranslateByDefault;
  std::vector<NamedPath> outputs;
  if (auto path = SerialOutput::file_path(serial_spec))
    outputs.push_back({"--serial file:", *path});
  require_distinct_files({{"TRACE", trace}}, outputs);
  // Read once: the session replays from this reader.
  auto reader = std::make_unique<TraceReader>(trace);
  check_trace_header(trace, reader->header());

  StopSignals signals;
  SerialOutput serial(serial_spec);
  if (auto address = line.value("--gdb")) {
    reader.reset(); // the debugger opens the trace for each session it makes
    // --stats compares the statistics as a replay without gdb does, when gdb let it end.
    auto compare_stats = [&](Machine& machine) {
      serial.flush();
      if (!line.flag("--stats")) return 0;
      const int differ = print_stats_comparison(std::cerr, trace, machine.final_stats());
      return differ != 0 ? static_cast<int>(ExitCode::kDivergence) : 0;
    };
    return serve_gdb(
        trace,
        {engine, [&serial](uint8_t b) { serial.put(b); }, translate, kernel_cache_dir(), image_dir},
        *address, compare_stats);
  }
  ReplaySession session(std::move(reader), {engine, [&serial](uint8_t byte) { serial.put(byte); },
                                            translate, kernel_cache_dir(), image_dir});
  // The machine replays no kick that ends the run, so a stop may interrupt the replay anywhere.
  const auto stop = signals.on_stop([&session] {
    session.gate().request_stop();
    session.machine().engine().kick();
  });
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
    if (auto hint = divergence_hint(session.header(), machine.engine().name(), image_dir))
      std::cerr << "rrvm: " << *hint << "\n";
    std::cerr << "replay state:\n"
              << describe_instruction_at(machine.memory(), cpu) << "\n"
              << register_dump(cpu) << "\n";
    return static_cast<int>(ExitCode::kDivergence);
  }
  serial.flush();
  if (int signal = signals.received(); signal && outcome.kind == RunOutcome::Kind::kStopped)
    return report_signal_stop(signal, "event " + std::to_string(session.gate().position()) +
                                          " of the recording");
  if (line.flag("--stats") && print_stats_comparison(std::cerr, trace, machine.final_stats()) != 0)
    return static_cast<int>(ExitCode::kDivergence);
  return report_outcome(outcome);
}

} // namespace rrvm
