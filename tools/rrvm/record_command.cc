#include <cstdio>
#include <iostream>

#include "debugger/serve_gdb.h"
#include "formats/trace_writer.h"
#include "record/record_gate.h"
#include "tools/rrvm/commands.h"
#include "tools/rrvm/distinct_files.h"
#include "tools/rrvm/machine_options.h"
#include "tools/rrvm/partial_output.h"
#include "tools/rrvm/serial_output.h"
#include "tools/rrvm/stop_signals.h"

namespace rrvm {

namespace {

// How often the host-time counters are sampled into the trace: fine enough for a timeline, a
// negligible share of the trace.
constexpr uint64_t kStatsSampleIntervalNs = 100'000'000;

// All but the guest images (add_images).
TraceHeader make_header(const MachineOptions& options, VerifyMode verify, const BootImage& image,
                        Engine& engine) {
  TraceHeader header;
  header.machine.memory_bytes = options.config.memory_bytes;
  header.machine.engine = engine.name();
  header.machine.clock_mode = clock_mode_name(options.config.clock_mode);
  header.machine.rtc_base_unix_s = options.config.rtc_base_unix_seconds;
  header.machine.verify_mode = verify_mode_name(verify);
  header.machine.kick_bound_ns = options.config.kick_bound_ns;
  header.machine.cpuid = engine.cpuid().entries();
  header.boot.kernel_kind = image.kind;
  header.boot.flat_load_address = options.boot.flat ? options.boot.flat_address : 0;
  header.boot.command_line = options.boot.cmdline;
  header.boot.serial.backend = options.serial;
  return header;
}

// Where the trace keeps the guest's files (--images).
enum class ImageStorage { kEmbedded, kReferenced };

ImageStorage parse_image_storage(const std::optional<std::string>& value) {
  if (!value || *value == "embed") return ImageStorage::kEmbedded;
  if (*value == "reference") return ImageStorage::kReferenced;
  throw Error(ExitCode::kUsage, "bad --images '" + *value + "': expected embed or reference");
}

void add_images(TraceHeader& header, const BootImage& image, ImageStorage storage) {
  auto add = [&](const std::string& path, std::span<const uint8_t> bytes, uint8_t mode_bits,
                 std::vector<ImageSegment> segments) {
    header.images.push_back(
        storage == ImageStorage::kReferenced
            ? GuestImage::referencing(path, bytes, mode_bits, std::move(segments))
            : GuestImage::from_bytes(path, bytes, mode_bits, std::move(segments)));
  };
  std::vector<ImageSegment> segments;
  for (const auto& s : image.segments)
    segments.push_back({s.gpa, s.gpa, s.file_offset, s.file_size});
  add(image.path, image.file, static_cast<uint8_t>(image.code_bits), std::move(segments));
  if (!image.initrd.empty()) add(image.initrd_path, image.initrd, 0, {});
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

// zstd's level 19 compresses a small image at ~3 MB/s, and a Linux kernel's hash and compression
// take tens of ms: above this size the writer's thread builds the header while the guest starts.
// Below it, starting that thread early costs more (~0.3 ms) than the header.
constexpr size_t kImageBytesWorthAThread = 4096;

std::unique_ptr<TraceWriter> open_trace(const std::string& path, TraceHeader header,
                                        const BootImage& image, ImageStorage storage) {
  if (image.file.size() + image.initrd.size() < kImageBytesWorthAThread) {
    add_images(header, image, storage);
    return std::make_unique<TraceWriter>(path, std::move(header));
  }
  // `image` is the machine's, which outlives the writer.
  return std::make_unique<TraceWriter>(path,
                                       [header = std::move(header), &image, storage]() mutable {
                                         add_images(header, image, storage);
                                         return std::move(header);
                                       });
}

struct Recorded {
  RunOutcome outcome;
  uint64_t events = 0;
};

// One recording of the guest into `path`, written as PATH.partial and renamed into place when it
// ends, however it ends (the prefix of a failed recording replays); only a process killed
// outright leaves PATH.partial.
Recorded record_once(MachineOptions options, const std::string& path, ImageStorage storage,
                     SerialOutput& serial, bool announce_engine, StopSignals& signals) {
  options.config.serial_output = [&serial](uint8_t byte) { serial.put(byte); };
  PartialOutput trace(path, /*keep_incomplete=*/true);
  LiveGate host(options.serial == "stdio");
  const auto kill = signals.on_kill([&host, &trace] {
    host.restore_terminal();
    trace.abandon();
  });
  RecordGate gate(host);
  GuestMemory memory(options.config.memory_bytes);
  Machine machine(options.config, memory,
                  create_engine(options.config.engine, memory, options.config.clock_mode,
                                options.config.emu_translate),
                  gate);
  // The machine logs no kick that ends the run, so even emu may be kicked for a stop.
  const auto stop = signals.on_stop([&host, &machine] {
    host.request_stop();
    machine.engine().kick();
  });
  // An instruction-counting engine picks input up at its quanta; a kick would land at a point the
  // replay could not find.
  if (!machine.engine().instruction_count()) host.set_engine(&machine.engine());
  const BootImage& image = machine.boot(options.boot);
  // An engine that counts instructions recomputes every exit on replay: checking a hash of them
  // suffices. kvm's exits are part of what it must replay.
  const bool recomputes = machine.engine().instruction_count().has_value();
  const VerifyMode verify =
      options.verify.value_or(recomputes ? VerifyMode::kHashes : VerifyMode::kExits);
  if (verify == VerifyMode::kHashes && !recomputes)
    throw Error(ExitCode::kUsage, "--verify hashes needs an engine that recomputes its exits: it "
                                  "records only on emu, and auto chose kvm");
  const std::unique_ptr<TraceWriter> writer = open_trace(
      trace.temp_path(), make_header(options, verify, image, machine.engine()), image, storage);
  gate.start(*writer, verify);
  machine.set_sample_sink(kStatsSampleIntervalNs,
                          [&gate](const HostSample& sample) { gate.stats_sample(sample); });
  if (announce_engine && options.config.engine == EngineKind::kAuto)
    std::cerr << "rrvm: engine " << machine.engine_choice() << "\n";
  RunOutcome outcome = options.gdb_address
                           ? serve_gdb_live(machine, image.kind, true, *options.gdb_address)
                           : machine.run();
  host.set_engine(nullptr);
  // Once: the host-time counters then print as the trace stores them.
  const VmStats& stats = machine.final_stats();
  gate.finish(outcome.kind == RunOutcome::Kind::kStopped);
  writer->finish(make_summary(stats, outcome));
  trace.commit();
  serial.flush();
  Recorded recorded{outcome, writer->event_count()};
  if (outcome.kind == RunOutcome::Kind::kStopped && signals.received())
    recorded.outcome.message = stop_position(machine) + "; recorded " +
                               std::to_string(recorded.events) + " events to " + path;
  else
    std::cerr << "rrvm: recorded " << recorded.events << " events to " << path << "\n";
  if (options.stats) stats.print(std::cerr, 0);
  return recorded;
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
  value_options.push_back("--images");
  CommandLine line(args, value_options, kMachineFlagOptions);
  auto output = line.value("-o");
  if (!output) throw Error(ExitCode::kUsage, "record needs -o TRACE");
  MachineOptions options = parse_machine_options(line);
  const ImageStorage storage = parse_image_storage(line.value("--images"));
  std::vector<NamedPath> outputs = {{"-o", *output}};
  if (auto path = SerialOutput::file_path(options.serial))
    outputs.push_back({"--serial file:", *path});
  require_distinct_files(machine_inputs(options), outputs);
  const uint64_t attempts = line.count("--until-fail").value_or(1);
  if (attempts == 0) throw Error(ExitCode::kUsage, "--until-fail needs at least 1 attempt");
  const bool until_fail = line.value("--until-fail").has_value();

  StopSignals signals;
  SerialOutput serial(options.serial);
  for (uint64_t attempt = 1; attempt <= attempts; ++attempt) {
    if (until_fail) std::cerr << "rrvm: attempt " << attempt << " of " << attempts << "\n";
    Recorded recorded = record_once(options, *output, storage, serial, attempt == 1, signals);
    if (int signal = signals.received();
        signal && recorded.outcome.kind == RunOutcome::Kind::kStopped)
      return report_signal_stop(signal, recorded.outcome.message);
    if (!until_fail) return report_outcome(recorded.outcome);
    if (run_failed(recorded.outcome)) {
      std::cerr << "rrvm: attempt " << attempt << " failed; its trace is " << *output << "\n";
      return report_outcome(recorded.outcome);
    }
  }
  std::remove(output->c_str()); // only passing runs: nothing worth keeping
  std::cerr << "rrvm: all " << attempts << " attempts passed; no trace kept\n";
  return 0;
}

} // namespace rrvm
