// `rrvm debug`'s gdb stub: the replay served to gdb from a child process of rrvm. A process rather
// than a thread because gdb's exit must end the replay at once whatever it is doing (after a
// detach it would run on to the end of the trace, and a long re-execution cannot be
// interrupted), and because its messages must go to a file of their own, not to the terminal
// gdb draws on: its stderr is `log_path`, which rrvm prints once gdb is gone. It ignores SIGINT:
// the ^C typed in gdb reaches it as a remote-protocol interrupt.
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>

#include "debugger/gdb_listener.h"

namespace rrvm {

struct StubOptions {
  std::string trace;
  std::string engine; // empty: the recording's
  std::string serial; // --serial: where the guest's COM1 output goes
  std::string log_path;
  std::string image_dir; // --image-dir: where referenced images are looked for first
};

class StubProcess {
public:
  // Forks the stub, which builds the replay and serves it on `listener` (rrvm's own copy is
  // closed), and returns once it waits for gdb, or has ended without (failed_status()).
  StubProcess(const StubOptions& options, gdb::Listener listener);
  // Ends the stub if it still runs.
  ~StubProcess();
  StubProcess(const StubProcess&) = delete;
  StubProcess& operator=(const StubProcess&) = delete;

  // The stub's exit status when it ended before waiting for gdb (a replay it could not build).
  std::optional<int> failed_status() const { return failed_; }
  // Ends the stub (SIGTERM) if it still runs and returns what it wrote to its stderr.
  std::string stop();

private:
  std::string log_path_;
  pid_t pid_ = -1;
  std::optional<int> failed_;
};

} // namespace rrvm
