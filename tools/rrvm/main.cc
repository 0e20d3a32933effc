// rrvm: record, replay and debug x86 guests.
#include <cstring>
#include <iostream>

#include "tools/rrvm/commands.h"
#include "tools/rrvm/machine_options.h"
#include "vmm/error.h"

namespace {

void print_help() {
  std::cout
      << "usage: rrvm COMMAND [options]\n"
         "\n"
         "commands:\n"
         "  run [options] KERNEL     boot KERNEL (multiboot ELF32, ELF64, or --flat binary)\n"
         "  record -o TRACE [--until-fail N] [options] KERNEL\n"
         "                           run KERNEL and record it into TRACE\n"
         "  replay TRACE [--stats] [--gdb [HOST:]PORT]\n"
         "                           replay a recording; with --gdb, stopped before its first\n"
         "                           instruction for gdb (target remote HOST:PORT), reverse\n"
         "                           execution included on emu (127.0.0.1 unless HOST given);\n"
         "                           run and record take --gdb too, forward only\n"
         "  stats [--json] [--plot FILE.svg] TRACE\n"
         "                           the statistics a recording stored (bhyvectl --get-stats\n"
         "                           form, samples of exits/s, ready %, idle %), without\n"
         "                           re-executing it; --json for machines, --plot draws an SVG\n"
         "  help                     this text\n"
         "  version                  rrvm's version\n"
         "\n"
         "machine options:\n"
      << rrvm::kMachineOptionsHelp
      << "\n"
         "exit status: the guest's isa-debug-exit status ((value << 1) | 1, port 0xf4), or\n"
         "  64 usage, 66 bad kernel or trace, 68 no usable /dev/kvm, 70 guest fault\n"
         "  (triple fault, unsupported instruction), 72 guest hung, 74 internal, 76 host I/O\n";
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_help();
    return static_cast<int>(rrvm::ExitCode::kUsage);
  }
  std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  try {
    if (command == "run") return rrvm::run_command(args);
    if (command == "record") return rrvm::record_command(args);
    if (command == "replay") return rrvm::replay_command(args);
    if (command == "dump") return rrvm::dump_command(args);
    if (command == "stats") return rrvm::stats_command(args);
    if (command == "help" || command == "--help" || command == "-h") {
      print_help();
      return 0;
    }
    if (command == "version" || command == "--version") {
      std::cout << "rrvm " << RRVM_VERSION << "\n";
      return 0;
    }
    std::cerr << "rrvm: unknown command '" << command << "' (see rrvm help)\n";
    return static_cast<int>(rrvm::ExitCode::kUsage);
  } catch (const rrvm::Error& e) {
    std::cerr << "rrvm: " << e.what() << "\n";
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::cerr << "rrvm: internal error: " << e.what() << "\n";
    return static_cast<int>(rrvm::ExitCode::kInternal);
  }
}
