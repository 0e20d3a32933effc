#include "tools/rrvm/help.h"

#include "tools/rrvm/kernel_cache_dir.h"
#include "tools/rrvm/machine_options.h"

namespace rrvm {

namespace {

const char* const kExitStatusHelp =
    "exit status: the guest's isa-debug-exit status ((value << 1) | 1, port 0xf4), or\n"
    "  3 replay divergence, 64 usage, 66 bad kernel or trace, 68 no usable /dev/kvm,\n"
    "  70 guest fault (KVM internal error, unsupported instruction), 72 guest hung (HLT with\n"
    "  interrupts enabled and nothing to wake it), 74 internal, 76 host I/O, 78 stopped by\n"
    "  SIGINT/SIGTERM/SIGHUP (trace and output finished; a second signal ends rrvm at once),\n"
    "  80 guest powered off (HLT with interrupts disabled, e.g. Linux's poweroff -f),\n"
    "  82 guest reset (triple fault, keyboard controller reset 0xfe, reset control 0xcf9)\n";

const char* const kRunUsage =
    "  run [options] KERNEL     boot KERNEL (Linux bzImage/vmlinux, multiboot ELF32, ELF64,\n"
    "                           or a --flat binary)\n";
const char* const kRecordUsage =
    "  record -o TRACE [--until-fail N] [--images embed|reference] [options] KERNEL\n"
    "                           run KERNEL and record it into TRACE (written as TRACE.partial\n"
    "                           and renamed when the recording ends); --until-fail records up\n"
    "                           to N runs and keeps the first that fails; --images reference\n"
    "                           keeps KERNEL and --initrd out of TRACE (by default it holds\n"
    "                           them): it names them by absolute path and sha256, and a\n"
    "                           replay needs the same files there (or in --image-dir)\n";
const char* const kReplayUsage =
    "  replay TRACE [--engine kvm|emu] [--emu-translate on|off] [--serial WHERE] [--stats]\n"
    "               [--gdb [HOST:]PORT] [--image-dir DIR]\n"
    "                           replay a recording; with --gdb, stopped before its first\n"
    "                           instruction for gdb (target remote HOST:PORT), reverse\n"
    "                           execution included on emu (127.0.0.1 unless HOST given);\n"
    "                           run and record take --gdb too, forward only\n";
const char* const kDebugUsage =
    "  debug TRACE [--engine kvm|emu] [--serial WHERE] [--gdb-program PATH] [--image-dir DIR]\n"
    "        [-- GDB_ARGS...]\n"
    "                           replay TRACE under gdb in one command (as `rr replay`): gdb\n"
    "                           starts attached, with the guest's symbols from the trace\n";
const char* const kDumpUsage =
    "  dump TRACE [--from N] [--count K]\n"
    "                           the trace's header, then events N to N+K-1, one per line\n";
const char* const kStatsUsage =
    "  stats [--json] [--plot FILE.svg] TRACE\n"
    "                           the statistics a recording stored (bhyvectl --get-stats\n"
    "                           form, samples of exits/s, ready %, idle %), without\n"
    "                           re-executing it; --json for machines, --plot draws an SVG\n";

std::string with_machine_options(const char* usage) {
  return std::string("usage:\n") + usage + "\nmachine options:\n" + kMachineOptionsHelp + "\n" +
         kKernelCacheHelp + "\n" + kExitStatusHelp;
}

} // namespace

std::string overview_help() {
  return std::string("usage: rrvm COMMAND [options]   (rrvm COMMAND --help: its options)\n"
                     "\n"
                     "commands:\n") +
         kRunUsage + kRecordUsage + kReplayUsage + kDebugUsage + kDumpUsage + kStatsUsage +
         "  help                     this text\n"
         "  version                  rrvm's version\n"
         "\n"
         "machine options (run, record):\n" +
         kMachineOptionsHelp + "\n" + kKernelCacheHelp + "\n" + kExitStatusHelp;
}

std::optional<std::string> command_help(const std::string& command) {
  if (command == "run") return with_machine_options(kRunUsage);
  if (command == "record") return with_machine_options(kRecordUsage);
  if (command == "replay")
    return std::string("usage:\n") + kReplayUsage +
           "\n  --engine KIND        replay on kvm or emu (default: the recording's engine)\n"
           "  --emu-translate on|off  emu: run code translated to host code (default on)\n"
           "  --serial WHERE       COM1 output: stdio (default), file:PATH or none\n"
           "  --stats              compare the replay's statistics with the recording's\n"
           "  --image-dir DIR      look for the images a trace references (record --images\n"
           "                       reference) in DIR, by file name, before their recorded paths\n"
           "\n" +
           kKernelCacheHelp + "\n" + kExitStatusHelp;
  if (command == "debug")
    return std::string("usage:\n") + kDebugUsage +
           "\n  --engine KIND        replay on kvm or emu (default: the recording's engine)\n"
           "  --serial WHERE       COM1 output: stdio (default), file:PATH or none\n"
           "  --gdb-program PATH   the gdb to run (default: $RRVM_GDB, else gdb on PATH)\n"
           "  --image-dir DIR      look for the images a trace references in DIR first\n"
           "  -- GDB_ARGS...       passed to gdb after rrvm's own (the symbol file and\n"
           "                       -ex 'target remote 127.0.0.1:PORT'), e.g. -nx, -batch -ex CMD\n"
           "\n"
           "The stub serves the replay from a child process on a free loopback port; its own\n"
           "messages are kept while gdb owns the terminal and printed when gdb exits. ^C in gdb\n"
           "interrupts the replay. The symbols are the kernel image the trace holds when it is\n"
           "an ELF file with a symbol table (multiboot, ELF64, a vmlinux with symbols), written\n"
           "to a temporary file removed afterwards. A trace without (a flat binary, a Linux\n"
           "bzImage) starts gdb without a file: load one with `symbol-file FILE`; for Linux, an\n"
           "ELF made from the kernel's System.map by tools/linux-symbols.py.\n"
           "\n"
           "exit status: gdb's; before gdb starts, rrvm's own: 64 usage, 66 bad trace, 68 gdb\n"
           "  not found, or the replay's failure to start\n";
  if (command == "dump")
    return std::string("usage:\n") + kDumpUsage +
           "\n  --from N             the first event to print (default 0)\n"
           "  --count K            how many events to print (default: all)\n";
  if (command == "stats")
    return std::string("usage:\n") + kStatsUsage +
           "\n  --json               the counters and intervals as JSON\n"
           "  --plot FILE.svg      also draw exits/s, ready % and idle % over time\n";
  return std::nullopt;
}

} // namespace rrvm
