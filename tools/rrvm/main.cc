// rrvm: record, replay and debug x86 guests.
#include <algorithm>
#include <iostream>

#include "tools/rrvm/checked_stdout.h"
#include "tools/rrvm/commands.h"
#include "tools/rrvm/help.h"
#include "vmm/error.h"

namespace {

// "--help" or "-h" among the options (not after "--", where a kernel may be named so).
bool asks_for_help(const std::vector<std::string>& args) {
  const auto end = std::find(args.begin(), args.end(), "--");
  return std::find(args.begin(), end, "--help") != end || std::find(args.begin(), end, "-h") != end;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << rrvm::overview_help();
    return static_cast<int>(rrvm::ExitCode::kUsage);
  }
  std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  rrvm::CheckedStdout checked_stdout;
  try {
    if (command == "help" || command == "--help" || command == "-h") {
      std::cout << rrvm::overview_help();
      rrvm::finish_output(std::cout, "writing the help to standard output");
      return 0;
    }
    if (command == "version" || command == "--version") {
      std::cout << "rrvm " << RRVM_VERSION << "\n";
      rrvm::finish_output(std::cout, "writing the version to standard output");
      return 0;
    }
    if (auto help = rrvm::command_help(command); help && asks_for_help(args)) {
      std::cout << *help;
      rrvm::finish_output(std::cout, "writing the help to standard output");
      return 0;
    }
    if (command == "run") return rrvm::run_command(args);
    if (command == "record") return rrvm::record_command(args);
    if (command == "replay") return rrvm::replay_command(args);
    if (command == "dump") return rrvm::dump_command(args);
    if (command == "stats") return rrvm::stats_command(args);
    if (command == "debug") return rrvm::debug_command(args);
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
