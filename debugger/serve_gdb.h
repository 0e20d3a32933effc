// `rrvm replay TRACE --gdb [HOST:]PORT`: the replay stopped before its first instruction,
// served to one gdb at a time; and `rrvm run/record --gdb`, the same forward only.
#pragma once

#include <functional>
#include <string>

#include "debugger/gdb_listener.h"
#include "replay/replay_session.h"

namespace rrvm {

// Replays `trace_path` under gdb's control. The guest's serial output reaches
// `options.serial_output` the first time the replay gets there (not again when reverse execution
// re-executes it). Returns the process status: the guest's exit status when the replay reached
// its end (after a detach, or gdb going away without one, it runs on to it), 0 when gdb
// killed it before, or ExitCode::kDivergence. When the replay reached its end, `at_end` (if set) is
// called with the machine, e.g. to print its statistics; a nonzero result replaces the status.
int serve_gdb(const std::string& trace_path, ReplayOptions options, const std::string& address,
              const std::function<int(Machine&)>& at_end = {});
// The same on a socket already listening (`rrvm debug` binds it before starting the stub's
// process, so it knows the port to hand gdb). `waiting` is called, in place of printing
// "waiting for gdb on ...", once the replay is built and the stub waits for gdb to connect.
int serve_gdb(const std::string& trace_path, ReplayOptions options, gdb::Listener& listener,
              const std::function<void()>& waiting,
              const std::function<int(Machine&)>& at_end = {});

// Serves gdb on a live machine that stands before its first instruction, forward only: gdb can
// stop, step, inspect, break and watch; a detach lets the run go on. `recording`: the machine
// records a trace, so gdb may not write to it (breakpoints and steps are invisible to the trace).
// Returns how the run ended; kStopped when gdb killed it.
RunOutcome serve_gdb_live(Machine& machine, KernelKind kernel, bool recording,
                          const std::string& address);

} // namespace rrvm
