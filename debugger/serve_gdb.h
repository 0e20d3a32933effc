// `rrvm replay TRACE --gdb [HOST:]PORT`: the replay stopped before its first instruction,
// served to one gdb at a time.
#pragma once

#include <string>

#include "replay/replay_session.h"

namespace rrvm {

// Replays `trace_path` under gdb's control. The guest's serial output reaches
// `options.serial_output` the first time the replay gets there (not again when reverse execution
// re-executes it). Returns the process status: the guest's exit status when the replay reached
// its end (after a detach it runs on to it), 0 when gdb killed it or went away before, or
// ExitCode::kDivergence.
int serve_gdb(const std::string& trace_path, ReplayOptions options, const std::string& address);

} // namespace rrvm
