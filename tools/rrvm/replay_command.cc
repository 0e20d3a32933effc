#include <iostream>

#include "formats/trace_reader.h"
#include "replay/replay_gate.h"
#include "tools/rrvm/command_line.h"
#include "tools/rrvm/commands.h"
#include "tools/rrvm/serial_output.h"
#include "vmm/register_dump.h"

namespace rrvm {

int replay_command(const std::vector<std::string>& args) {
  CommandLine line(args, {"--serial", "--engine"}, {"--stats"});
  if (line.positional().size() != 1) throw Error(ExitCode::kUsage, "replay needs one TRACE");
  TraceReader reader(line.positional()[0]);
  const TraceHeader& header = reader.header();
  if (header.images.size() != 1)
    throw Error(ExitCode::kBadInput, "trace holds " + std::to_string(header.images.size()) +
                                         " guest images; rrvm replays traces with one kernel");
  SerialOutput serial(line.value("--serial").value_or("stdio"));
  MachineConfig config;
  config.memory_bytes = header.machine.memory_bytes;
  config.rtc_base_unix_seconds = header.machine.rtc_base_unix_s;
  config.serial_output = [&serial](uint8_t byte) { serial.put(byte); };
  std::string engine = line.value("--engine").value_or(header.machine.engine);
  if (engine == "kvm")
    config.engine = EngineKind::kKvm;
  else if (engine == "emu")
    config.engine = EngineKind::kEmu;
  else
    throw Error(ExitCode::kUsage, "bad --engine '" + engine + "': expected kvm or emu");
  if (engine != header.machine.engine)
    throw Error(ExitCode::kUsage, "trace was recorded on " + header.machine.engine +
                                      "; cross-engine replay is not implemented yet");

  BootOptions boot;
  const GuestImage& image = header.images[0];
  boot.kernel_path = image.name;
  boot.cmdline = header.boot.command_line;
  boot.flat = header.boot.kernel_kind == KernelKind::kFlat;
  boot.flat_address = header.boot.flat_load_address;

  ReplayGate gate(reader);
  Machine machine(config, gate);
  machine.boot(boot, image.bytes());
  RunOutcome outcome;
  try {
    outcome = machine.run();
  } catch (const Error& e) {
    serial.flush();
    if (e.code() != ExitCode::kDivergence) throw;
    std::cerr << "rrvm: " << e.what() << "\n"
              << "replay state:\n"
              << describe_instruction_at(machine.memory(), machine.engine().state()) << "\n"
              << register_dump(machine.engine().state()) << "\n";
    return static_cast<int>(ExitCode::kDivergence);
  }
  serial.flush();
  if (line.flag("--stats")) machine.final_stats().print(std::cerr, 0);
  return report_outcome(outcome);
}

} // namespace rrvm
