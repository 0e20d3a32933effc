// gdb as `rrvm debug` runs it: found on PATH (or named), started on rrvm's terminal and waited
// for. While it runs gdb owns the terminal: the ^C typed there must reach gdb (which interrupts
// the target through the remote protocol), not end rrvm.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace rrvm {

// The gdb to run: `option` (--gdb-program), else $RRVM_GDB, else "gdb"; a name without a slash
// is looked up on PATH. Throws Error(kNoHost) when that is no executable file.
std::string find_gdb(const std::optional<std::string>& option);

// For the lifetime of the object: SIGINT and SIGQUIT, which the terminal sends to its whole
// foreground process group, are ignored by rrvm (and the stub's process it forks), and SIGTERM
// and SIGHUP are passed on to gdb once it runs, so rrvm still cleans up after it.
class GdbSignals {
public:
  GdbSignals();
  ~GdbSignals();
  GdbSignals(const GdbSignals&) = delete;
  GdbSignals& operator=(const GdbSignals&) = delete;
};

// Starts `argv` (argv[0] a path) with the default signal dispositions and mask, waits for it and
// returns its exit status, or 128 + the signal that ended it. Throws Error(kNoHost) when it
// cannot be started.
int run_gdb(const std::vector<std::string>& argv);

} // namespace rrvm
