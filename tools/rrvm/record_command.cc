#include <cstdio>
#include <iostream>

#include "debugger/serve_gdb.h"
#include "formats/trace_writer.h"
#include "record/record_gate.h"
#include "tools/rrvm/commands.h"
#include "tools/rrvm/machine_options.h"
#include "tools/rrvm/serial_output.h"

namespace rrvm {

namespace {

// How often the host-time counters are sampled into the trace: fine enough for a timeline, a
// negligible share of the trace.
constexpr uint64_t kStatsSampleIntervalNs = 100'000'000;

TraceHeader make_header(const MachineOptions& options, const BootImage& image, Engine& engine) {
  TraceHeader header;
  header.machine.memory_bytes = options.config.memory_bytes;
  header.machine.engine = engine.name();
  header.machine.clock_mode = clock_mode_name(options.config.clock_mode);
  header.machine.rtc_base_unix_s = options.config.rtc_base_unix_seconds;
  header.machine.verify_mode = options.verify_full ? "full" : "exits";
  header.machine.kick_bound_ns = options.config.kick_bound_ns;
  header.machine.cpuid = engine.cpuid().entries();
  header.boot.kernel_kind = image.kind;
  header.boot.flat_load_address = options.boot.flat ? options.boot.flat_address : 0;
  header.boot.command_line = options.boot.cmdline;
  header.boot.serial.backend = options.serial;
  std::vector<ImageSegment> segments;
  for (const auto& s : image.segments)
    segments.push_back({s.gpa, s.gpa, s.file_offset, s.file_size});
  header.images.push_back(GuestImage::from_bytes(image.path, image.file,
                                                 static_cast<uint8_t>(image.code_bits), segments));
  if (!image.initrd.empty())
    header.images.push_back(GuestImage::from_bytes(image.initrd_path, image.initrd, 0, {}));
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

// One recording of the guest into `path`; returns how the run ended.
RunOutcome record_once(MachineOptions options, const std::string& path, SerialOutput& serial,
                       bool announce_engine) {
  options.config.serial_output = [&serial](uint8_t byte) { serial.put(byte); };
  LiveGate host(options.serial == "stdio");
  RecordGate gate(host, options.verify_full);
  GuestMemory memory(options.config.memory_bytes);
  Machine machine(options.config, memory,
                  create_engine(options.config.engine, memory, options.config.clock_mode), gate);
  // An instruction-counting engine picks input up at its quanta; a kick would land at a point the
  // replay could not find.
  if (!machine.engine().instruction_count()) host.set_engine(&machine.engine());
  const BootImage& image = machine.boot(options.boot);
  TraceWriter writer(path, make_header(options, image, machine.engine()));
  gate.start(writer);
  machine.set_sample_sink(kStatsSampleIntervalNs,
                          [&gate](const HostSample& sample) { gate.stats_sample(sample); });
  if (announce_engine && options.config.engine == EngineKind::kAuto)
    std::cerr << "rrvm: engine " << machine.engine_choice() << "\n";
  RunOutcome outcome = options.gdb_address
                           ? serve_gdb_live(machine, image.kind, true, *options.gdb_address)
                           : machine.run();
  host.set_engine(nullptr);
  serial.flush();
  // Once: the host-time counters then print as the trace stores them.
  const VmStats& stats = machine.final_stats();
  writer.finish(make_summary(stats, outcome));
  std::cerr << "rrvm: recorded " << writer.event_count() << " events to " << path << "\n";
  if (options.stats) stats.print(std::cerr, 0);
  return outcome;
}

// A guest run fails when it does not end through isa-debug-exit with value 0 (status 1): another
// exit value, a triple fault, an engine error or a hang.
bool run_failed(const RunOutcome& outcome) {
  return !(outcome.kind == RunOutcome::Kind::kGuestExit && outcome.status == 1);
}

} // namespace

int record_command(const std::vector<std::string>& args) {
  std::vector<std::string> value_options = kMachineValueOptions;
  value_options.push_back("-o");
  value_options.push_back("--until-fail");
  CommandLine line(args, value_options, kMachineFlagOptions);
  auto output = line.value("-o");
  if (!output) throw Error(ExitCode::kUsage, "record needs -o TRACE");
  MachineOptions options = parse_machine_options(line);
  SerialOutput serial(options.serial);
  auto until_fail = line.value("--until-fail");
  if (!until_fail) return report_outcome(record_once(options, *output, serial, true));

  uint64_t attempts = parse_size(*until_fail, "--until-fail count");
  if (attempts == 0) throw Error(ExitCode::kUsage, "--until-fail needs at least 1 attempt");
  for (uint64_t attempt = 1; attempt <= attempts; ++attempt) {
    std::cerr << "rrvm: attempt " << attempt << " of " << attempts << "\n";
    RunOutcome outcome = record_once(options, *output, serial, attempt == 1);
    if (run_failed(outcome)) {
      std::cerr << "rrvm: attempt " << attempt << " failed; its trace is " << *output << "\n";
      return report_outcome(outcome);
    }
  }
  std::remove(output->c_str()); // only passing runs: nothing worth keeping
  std::cerr << "rrvm: all " << attempts << " attempts passed; no trace kept\n";
  return 0;
}

} // namespace rrvm
