#include "replay/replay_session.h"

namespace rrvm {

namespace {

VerifyMode verify_mode(const TraceHeader& header) {
  const std::optional<VerifyMode> mode = parse_verify_mode(header.machine.verify_mode);
  // Format 1 knew no hashes; its readers took anything but "full" for exits.
  if (header.format_major < 2)
    return mode == VerifyMode::kFull ? VerifyMode::kFull : VerifyMode::kExits;
  if (!mode)
    throw Error(ExitCode::kBadInput, "trace verify mode '" + header.machine.verify_mode +
                                         "' is not one rrvm knows (hashes, exits or full)");
  return *mode;
}

EngineKind engine_kind(const std::string& name) {
  if (name == "kvm") return EngineKind::kKvm;
  if (name == "emu") return EngineKind::kEmu;
  throw Error(ExitCode::kUsage, "bad --engine '" + name + "': expected kvm or emu");
}

} // namespace

ReplaySession::ReplaySession(const std::string& trace_path, ReplayOptions options)
    : ReplaySession(std::make_unique<TraceReader>(trace_path), std::move(options)) {}

ReplaySession::ReplaySession(std::unique_ptr<TraceReader> reader, ReplayOptions options)
    : reader_(std::move(reader)), events_(*reader_),
      gate_(events_, verify_mode(reader_->header()), reader_->header().format_major) {
  const TraceHeader& h = reader_->header();
  const std::optional<ClockMode> clock = parse_clock_mode(h.machine.clock_mode);
  if (!clock)
    throw Error(ExitCode::kBadInput,
                "trace clock mode '" + h.machine.clock_mode +
                    "' is not supported: rrvm replays clock modes 'host', 'icount' and "
                    "'adaptive'");
  const size_t images = max_guest_images(h.boot.kernel_kind);
  if (h.images.empty() || h.images.size() > images)
    throw Error(ExitCode::kBadInput, "trace holds " + std::to_string(h.images.size()) +
                                         " guest images; rrvm replays traces with one kernel" +
                                         (images == 2 ? " and at most one initrd" : ""));
  const std::string recorded = h.machine.engine;
  const std::string engine = options.engine.empty() ? recorded : options.engine;
  if (recorded == "emu" && engine != "emu")
    throw Error(ExitCode::kUsage, "this trace was recorded on emu, whose interrupts are placed by "
                                  "instruction count; it replays only with --engine emu");
  MachineConfig config;
  config.memory_bytes = h.machine.memory_bytes;
  config.rtc_base_unix_seconds = h.machine.rtc_base_unix_s;
  config.engine = engine_kind(engine);
  config.clock_mode = *clock;
  config.emu_translate = options.emu_translate;
  if (*clock != ClockMode::kHost && config.engine != EngineKind::kEmu)
    throw Error(ExitCode::kUsage, std::string("this trace was recorded with the ") +
                                      clock_mode_name(*clock) +
                                      " clock, whose guest time is a function of the instruction "
                                      "count; it replays only with --engine emu");
  config.serial_output = std::move(options.serial_output);
  // A kvm recording looked at the clock only at its exits; emu must not add looks of its own.
  config.instruction_quanta = recorded == "emu";
  memory_ = std::make_unique<GuestMemory>(config.memory_bytes);
  // An emu recording replays on the CPU it presented (a kvm one's, the host's, is not emu's).
  std::optional<CpuidTable> cpuid;
  if (recorded == "emu" && !h.machine.cpuid.empty()) cpuid = CpuidTable(h.machine.cpuid);
  machine_ = std::make_unique<Machine>(config, *memory_,
                                       create_engine(config.engine, *memory_, config.clock_mode,
                                                     config.emu_translate, std::move(cpuid)),
                                       gate_);

  const GuestImage& image = h.images[0];
  BootOptions boot;
  boot.kernel_path = image.name;
  boot.cmdline = h.boot.command_line;
  boot.flat = h.boot.kernel_kind == KernelKind::kFlat;
  boot.flat_address = h.boot.flat_load_address;
  boot.kernel_cache_dir = options.kernel_cache_dir;
  if (h.images.size() == 2) {
    boot.initrd_path = h.images[1].name;
    boot.initrd = h.images[1].bytes(options.image_dir);
  }
  machine_->boot(boot, image.bytes(options.image_dir));
}

std::optional<uint64_t> ReplaySession::total_events() const {
  if (!reader_->footer()) return std::nullopt;
  return reader_->footer()->total_events;
}

std::optional<uint64_t> ReplaySession::kick_events() const {
  if (!reader_->footer()) return std::nullopt;
  return reader_->footer()->kind_counts[static_cast<size_t>(EventKind::kKick)];
}

size_t ReplaySession::restore(const ReplayCheckpoint& checkpoint) {
  const size_t copied = machine_->restore(checkpoint.machine);
  gate_.seek(checkpoint.gate_position);
  return copied;
}

} // namespace rrvm
