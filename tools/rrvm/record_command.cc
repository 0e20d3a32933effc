#include <iostream>

#include "formats/trace_writer.h"
#include "record/record_gate.h"
#include "tools/rrvm/commands.h"
#include "tools/rrvm/machine_options.h"
#include "tools/rrvm/serial_output.h"
#include "vmm/kvm/kvm_engine.h"

namespace rrvm {

namespace {

TraceHeader make_header(const MachineOptions& options, const BootImage& image, Engine& engine) {
  TraceHeader header;
  header.machine.memory_bytes = options.config.memory_bytes;
  header.machine.engine = engine.name();
  header.machine.clock_mode = "host";
  header.machine.rtc_base_unix_s = options.config.rtc_base_unix_seconds;
  header.machine.verify_mode = "exits";
  auto* kvm = dynamic_cast<KvmEngine*>(&engine);
  header.machine.cpuid = (kvm ? kvm->cpuid() : CpuidTable::emulated()).entries();
  header.boot.kernel_kind = image.kind;
  header.boot.flat_load_address = options.boot.flat ? options.boot.flat_address : 0;
  header.boot.command_line = options.boot.cmdline;
  header.boot.serial.backend = options.serial;
  std::vector<ImageSegment> segments;
  for (const auto& s : image.segments)
    segments.push_back({s.gpa, s.gpa, s.file_offset, s.file_size});
  header.images.push_back(GuestImage::from_bytes(image.path, image.file,
                                                 static_cast<uint8_t>(image.code_bits), segments));
  return header;
}

TraceSummary make_summary(const VmStats& stats, const RunOutcome& outcome) {
  TraceSummary summary;
  for (unsigned i = 0; i < static_cast<unsigned>(VmStat::kCount); ++i) {
    VmStat s = static_cast<VmStat>(i);
    summary.stats.emplace_back(vm_stat_info(s).description, stats.get(s));
  }
  if (outcome.kind == RunOutcome::Kind::kGuestExit) summary.guest_exit_status = outcome.status;
  return summary;
}

} // namespace

int record_command(const std::vector<std::string>& args) {
  std::vector<std::string> value_options = kMachineValueOptions;
  value_options.push_back("-o");
  CommandLine line(args, value_options, kMachineFlagOptions);
  auto output = line.value("-o");
  if (!output) throw Error(ExitCode::kUsage, "record needs -o TRACE");
  MachineOptions options = parse_machine_options(line);
  SerialOutput serial(options.serial);
  options.config.serial_output = [&serial](uint8_t byte) { serial.put(byte); };
  LiveGate host(options.serial == "stdio");
  RecordGate gate(host);
  Machine machine(options.config, gate);
  // An instruction-counting engine picks input up at its quanta; a kick would land at a point the
  // replay could not find.
  if (!machine.engine().instruction_count()) host.set_engine(&machine.engine());
  const BootImage& image = machine.boot(options.boot);
  TraceWriter writer(*output, make_header(options, image, machine.engine()));
  gate.start(writer);
  if (options.config.engine == EngineKind::kAuto)
    std::cerr << "rrvm: engine " << machine.engine_choice() << "\n";
  RunOutcome outcome = machine.run();
  host.set_engine(nullptr);
  serial.flush();
  writer.finish(make_summary(machine.final_stats(), outcome));
  std::cerr << "rrvm: recorded " << writer.event_count() << " events to " << *output << "\n";
  if (options.stats) machine.final_stats().print(std::cerr, 0);
  return report_outcome(outcome);
}

} // namespace rrvm
