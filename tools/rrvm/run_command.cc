#include <cerrno>
#include <cstdio>
#include <iostream>

#include "debugger/serve_gdb.h"
#include "tools/rrvm/checked_stdout.h"
#include "tools/rrvm/commands.h"
#include "tools/rrvm/distinct_files.h"
#include "tools/rrvm/machine_options.h"
#include "tools/rrvm/serial_output.h"
#include "tools/rrvm/stop_signals.h"
#include "vmm/hex_text.h"
#include "vmm/live_gate.h"

namespace rrvm {

std::string stop_position(Machine& machine) {
  return "rip " + hex_text(machine.engine().state().rip) + " after " +
         std::to_string(machine.stats().get(VmStat::VMEXIT_COUNT)) + " exits";
}

int run_command(const std::vector<std::string>& args) {
  CommandLine line(args, kMachineValueOptions, kMachineFlagOptions);
  MachineOptions options = parse_machine_options(line);
  std::vector<NamedPath> outputs;
  if (auto path = SerialOutput::file_path(options.serial))
    outputs.push_back({"--serial file:", *path});
  require_distinct_files(machine_inputs(options), outputs);
  StopSignals signals;
  SerialOutput serial(options.serial);
  options.config.serial_output = [&serial](uint8_t byte) { serial.put(byte); };
  LiveGate gate(options.serial == "stdio");
  const auto stop = signals.on_stop([&gate] { gate.request_stop(); });
  const auto kill = signals.on_kill([&gate] { gate.restore_terminal(); });
  GuestMemory memory(options.config.memory_bytes);
  Machine machine(options.config, memory,
                  create_engine(options.config.engine, memory, options.config.clock_mode,
                                options.config.emu_translate),
                  gate);
  gate.set_engine(&machine.engine());
  const BootImage& image = machine.boot(options.boot);
  if (options.config.engine == EngineKind::kAuto)
    std::cerr << "rrvm: engine " << machine.engine_choice() << "\n";
  RunOutcome outcome = options.gdb_address
                           ? serve_gdb_live(machine, image.kind, false, *options.gdb_address)
                           : machine.run();
  gate.set_engine(nullptr);
  serial.flush();
  if (options.stats) machine.final_stats().print(std::cerr, 0);
  if (outcome.kind == RunOutcome::Kind::kStopped && signals.received())
    return report_signal_stop(signals.received(), stop_position(machine));
  return report_outcome(outcome);
}

int report_outcome(const RunOutcome& outcome) {
  switch (outcome.kind) {
  case RunOutcome::Kind::kGuestExit:
    return outcome.status;
  case RunOutcome::Kind::kStopped:
    std::cerr << "rrvm: " << outcome.message << "\n";
    return 0;
  case RunOutcome::Kind::kPoweredOff:
  case RunOutcome::Kind::kReset:
  case RunOutcome::Kind::kHung:
  case RunOutcome::Kind::kEngineError:
    std::cerr << "rrvm: " << outcome.message << "\n";
    return static_cast<int>(end_status(outcome.kind));
  case RunOutcome::Kind::kDebugStop:
  case RunOutcome::Kind::kPositionReached:
    break; // only a debugger asks for these stops
  }
  return static_cast<int>(ExitCode::kInternal);
}

int report_signal_stop(int signal, const std::string& where) {
  std::cerr << "rrvm: stopped by " << StopSignals::name(signal) << " at " << where << "\n";
  return static_cast<int>(ExitCode::kStopped);
}

void finish_output(std::ostream& out, const std::string& name) {
  if (auto* checked = dynamic_cast<CheckedStdout*>(out.rdbuf())) return checked->finish(name);
  errno = 0;
  out.flush();
  if (!out) throw Error(ExitCode::kIo, errno ? errno_message(name, errno) : name + " failed");
}

} // namespace rrvm
