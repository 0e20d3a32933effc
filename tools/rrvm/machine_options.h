// The machine options shared by run (and later record): parsed from the command line into a
// MachineConfig and BootOptions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "formats/verify_mode.h"
#include "tools/rrvm/command_line.h"
#include "tools/rrvm/distinct_files.h"
#include "vmm/boot/boot_image.h"
#include "vmm/machine.h"

namespace rrvm {

struct MachineOptions {
  MachineConfig config;
  BootOptions boot;
  std::string serial = "stdio";
  bool stats = false;
  // record: what the trace holds for verification; unset: hashes on emu, exits on kvm.
  std::optional<VerifyMode> verify;
  std::optional<std::string> gdb_address; // --gdb: serve gdb before the first instruction
};

// Option names, for CommandLine.
extern const std::vector<std::string> kMachineValueOptions;
extern const std::vector<std::string> kMachineFlagOptions;
extern const char* const kMachineOptionsHelp;

MachineOptions parse_machine_options(const CommandLine& line);
// The files a run reads (the kernel, an initrd), which no output may overwrite.
std::vector<NamedPath> machine_inputs(const MachineOptions& options);
// "1ms", "200us", "5s", "0" → nanoseconds; throws a usage error naming `what`.
// "on" → true, "off" → false; throws a usage error naming `what`.
bool parse_on_off(const std::string& text, const char* what);
uint64_t parse_duration_ns(const std::string& text, const char* what);

} // namespace rrvm
