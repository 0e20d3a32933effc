#include <iostream>

#include "debugger/serve_gdb.h"
#include "tools/rrvm/commands.h"
#include "tools/rrvm/machine_options.h"
#include "tools/rrvm/serial_output.h"
#include "vmm/live_gate.h"

namespace rrvm {

int run_command(const std::vector<std::string>& args) {
  CommandLine line(args, kMachineValueOptions, kMachineFlagOptions);
  MachineOptions options = parse_machine_options(line);
  SerialOutput serial(options.serial);
  options.config.serial_output = [&serial](uint8_t byte) { serial.put(byte); };
  LiveGate gate(options.serial == "stdio");
  GuestMemory memory(options.config.memory_bytes);
  Machine machine(options.config, memory,
                  create_engine(options.config.engine, memory, options.config.clock_mode), gate);
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
  return report_outcome(outcome);
}

int report_outcome(const RunOutcome& outcome) {
  switch (outcome.kind) {
  case RunOutcome::Kind::kGuestExit:
    return outcome.status;
  case RunOutcome::Kind::kStopped:
    std::cerr << "rrvm: " << outcome.message << "\n";
    return 0;
  case RunOutcome::Kind::kShutdown:
  case RunOutcome::Kind::kEngineError:
    std::cerr << "rrvm: " << outcome.message << "\n";
    return static_cast<int>(ExitCode::kGuestFault);
  case RunOutcome::Kind::kHung:
    std::cerr << "rrvm: " << outcome.message << "\n";
    return static_cast<int>(ExitCode::kGuestHung);
  case RunOutcome::Kind::kDebugStop:
  case RunOutcome::Kind::kPositionReached:
    break; // only a debugger asks for these stops
  }
  return static_cast<int>(ExitCode::kInternal);
}

} // namespace rrvm
