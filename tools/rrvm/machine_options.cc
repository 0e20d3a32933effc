#include "tools/rrvm/machine_options.h"

#include <cctype>
#include <ctime>

#include "tools/rrvm/kernel_cache_dir.h"
#include "vmm/guest_memory.h"

namespace rrvm {

const std::vector<std::string> kMachineValueOptions = {
    "--mem",      "--append", "--initrd",     "--serial", "--engine", "--flat",
    "--rtc-time", "--verify", "--kick-bound", "--gdb",    "--clock",  "--emu-translate"};
const std::vector<std::string> kMachineFlagOptions = {"--stats"};

const char* const kMachineOptionsHelp =
    "  --mem SIZE           guest RAM, e.g. 64M, 1G (default 64M; at least 2M)\n"
    "  --append CMDLINE     kernel command line (Linux, multiboot and ELF64 kernels)\n"
    "  --initrd FILE        Linux: initial RAM disk (e.g. a gzipped cpio initramfs)\n"
    "  --flat ADDR          KERNEL is a raw binary: load it at ADDR, start in real mode there\n"
    "  --serial WHERE       COM1 output: stdio (default), file:PATH or none\n"
    "  --engine KIND        auto (default), kvm or emu\n"
    "  --rtc-time SECONDS   wall-clock time the RTC starts at, Unix seconds (default: now)\n"
    "  --clock MODE         guest time: host (default) follows host time: on emu the retired\n"
    "                       instruction count at a rate re-tied to host time a few times a\n"
    "                       second at most (a recording logs only those ties), on kvm a host\n"
    "                       clock sample at every exit; icount (emu only): 1 ns per retired\n"
    "                       instruction, idle time skipped, a run reproducible without a\n"
    "                       recording. On emu the TSC runs at 1 GHz of guest time either way.\n"
    "  --emu-translate on|off  emu: run code translated to host code (default on), or only\n"
    "                       interpreted (off); the results and counts are the same\n"
    "  --stats              print bhyve-style statistics at the end (on stderr)\n"
    "  --kick-bound TIME    kvm: how long a due interrupt waits for a guest exit before the vCPU\n"
    "                       is kicked, e.g. 1ms (default), 200us, 0\n"
    "  --gdb [HOST:]PORT    stop before the first instruction and serve gdb there (forward\n"
    "                       only; 127.0.0.1 unless HOST given; port 0 picks a free one)\n"
    "  --verify WHAT        record: what the trace holds to check the replay with. hashes\n"
    "                       (default on emu): a rolling hash of every exit, read value and\n"
    "                       injection, checked every 16K of them; the trace keeps only the\n"
    "                       inputs, and a divergence is pinned to such a window. exits\n"
    "                       (default on kvm, which needs them to replay): every exit, read\n"
    "                       value and injection, checked one by one; a larger trace, a\n"
    "                       divergence named exactly. full: exits and a hash of all\n"
    "                       registers per exit\n";

uint64_t parse_duration_ns(const std::string& text, const char* what) {
  size_t pos = 0;
  unsigned long long value = 0;
  try {
    // stoull would take "-1" (and " 1") and wrap it around.
    if (!text.empty() && std::isdigit(static_cast<unsigned char>(text[0])))
      value = std::stoull(text, &pos, 10);
  } catch (const std::exception&) {
    pos = 0;
  }
  const std::string unit = text.substr(pos);
  const uint64_t scale = unit == "ns"                                   ? 1
                         : unit == "us"                                 ? 1000
                         : unit == "ms" || (unit.empty() && value == 0) ? 1000000
                         : unit == "s"                                  ? 1000000000
                                                                        : 0;
  if (pos == 0 || scale == 0 || value > UINT64_MAX / scale)
    throw Error(ExitCode::kUsage, std::string("bad ") + what + " '" + text +
                                      "': expected a duration such as 1ms, 200us or 0");
  return value * scale;
}

bool parse_on_off(const std::string& text, const char* what) {
  if (text != "on" && text != "off")
    throw Error(ExitCode::kUsage,
                std::string("bad ") + what + " '" + text + "': expected on or off");
  return text == "on";
}

MachineOptions parse_machine_options(const CommandLine& line) {
  MachineOptions options;
  if (line.positional().size() != 1)
    throw Error(ExitCode::kUsage, line.positional().empty()
                                      ? "missing KERNEL (see rrvm help)"
                                      : "expected one KERNEL, got " +
                                            std::to_string(line.positional().size()) +
                                            " arguments");
  options.boot.kernel_path = line.positional()[0];
  options.boot.kernel_cache_dir = kernel_cache_dir();
  if (auto mem = line.value("--mem")) {
    options.config.memory_bytes = parse_size(*mem, "--mem");
    if (options.config.memory_bytes < (2u << 20))
      throw Error(ExitCode::kUsage, "--mem " + *mem + " is too small: rrvm needs at least 2M");
    if (options.config.memory_bytes % kPageSize != 0)
      throw Error(ExitCode::kUsage, "--mem " + *mem + " is not a multiple of 4K");
  }
  if (auto append = line.value("--append")) options.boot.cmdline = *append;
  if (auto initrd = line.value("--initrd")) options.boot.initrd_path = *initrd;
  if (auto flat = line.value("--flat")) {
    options.boot.flat = true;
    options.boot.flat_address = parse_size(*flat, "--flat address");
  }
  if (auto serial = line.value("--serial")) options.serial = *serial;
  if (auto engine = line.value("--engine")) {
    if (*engine == "auto")
      options.config.engine = EngineKind::kAuto;
    else if (*engine == "kvm")
      options.config.engine = EngineKind::kKvm;
    else if (*engine == "emu")
      options.config.engine = EngineKind::kEmu;
    else
      throw Error(ExitCode::kUsage, "bad --engine '" + *engine + "': expected auto, kvm or emu");
  }
  options.config.rtc_base_unix_seconds = std::time(nullptr);
  if (auto rtc = line.value("--rtc-time")) {
    try {
      size_t pos;
      options.config.rtc_base_unix_seconds = std::stoll(*rtc, &pos);
      if (pos != rtc->size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      throw Error(ExitCode::kUsage, "bad --rtc-time '" + *rtc + "': expected Unix seconds");
    }
  }
  if (auto clock = line.value("--clock")) {
    const std::optional<ClockMode> mode = parse_clock_mode(*clock);
    if (!mode || *mode == ClockMode::kAdaptive) // how host is kept on emu, not a choice of its own
      throw Error(ExitCode::kUsage, "bad --clock '" + *clock + "': expected host or icount");
    options.config.clock_mode = *mode;
    if (options.config.clock_mode == ClockMode::kIcount &&
        options.config.engine == EngineKind::kKvm)
      throw Error(ExitCode::kUsage, "--clock icount needs an instruction count: it runs only "
                                    "with --engine emu (or auto), not kvm");
  }
  if (auto translate = line.value("--emu-translate"))
    options.config.emu_translate = parse_on_off(*translate, "--emu-translate");
  if (options.config.clock_mode == ClockMode::kHost)
    options.config.clock_mode = host_following_clock(options.config.engine);
  options.stats = line.flag("--stats");
  options.gdb_address = line.value("--gdb");
  if (auto bound = line.value("--kick-bound"))
    options.config.kick_bound_ns = parse_duration_ns(*bound, "--kick-bound");
  if (auto verify = line.value("--verify")) {
    options.verify = parse_verify_mode(*verify);
    if (!options.verify)
      throw Error(ExitCode::kUsage,
                  "bad --verify '" + *verify + "': expected hashes, exits or full");
    if (*options.verify == VerifyMode::kHashes && options.config.engine == EngineKind::kKvm)
      throw Error(ExitCode::kUsage, "--verify hashes needs an engine that recomputes its exits: "
                                    "it records only with --engine emu (or auto), not kvm");
  }
  return options;
}

std::vector<NamedPath> machine_inputs(const MachineOptions& options) {
  std::vector<NamedPath> inputs = {{"KERNEL", options.boot.kernel_path}};
  if (!options.boot.initrd_path.empty()) inputs.push_back({"--initrd", options.boot.initrd_path});
  return inputs;
}

} // namespace rrvm
