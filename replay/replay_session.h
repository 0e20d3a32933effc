// A replaying machine built from a trace alone: the header's machine configuration and embedded
// kernel, the trace's answers behind a ReplayGate. `rrvm replay` runs it to the end; the gdb
// server steps it, checkpoints it and moves it backwards.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "formats/trace_reader.h"
#include "replay/replay_gate.h"
#include "vmm/machine.h"

namespace rrvm {

struct ReplayOptions {
  std::string engine;                          // "kvm" or "emu"; empty: the recording's engine
  std::function<void(uint8_t)> serial_output;  // the guest's COM1 output during the replay
  bool emu_translate = kEmuTranslateByDefault; // emu: translate hot code (same results)
  std::string kernel_cache_dir{};              // BootOptions::kernel_cache_dir
  std::string image_dir{}; // where referenced images are looked for first (GuestImage::bytes)
};

// A replay position that can be returned to: the machine's state and the gate's place in the
// trace.
struct ReplayCheckpoint {
  MachineSnapshot machine;
  ReplayGate::Cursor gate_position;
};

class ReplaySession {
public:
  // Throws Error(kBadInput) for an unusable trace, Error(kUsage) for an impossible engine choice
  // (an emu recording places its events by instruction count and replays only on emu).
  ReplaySession(const std::string& trace_path, ReplayOptions options);
  // From a reader its caller opened (to look at the header first: a Linux trace's is ~10 MB).
  ReplaySession(std::unique_ptr<TraceReader> reader, ReplayOptions options);

  const TraceHeader& header() const { return reader_->header(); }
  Machine& machine() { return *machine_; }
  ReplayGate& gate() { return gate_; }
  // Events the trace holds, when its footer says.
  std::optional<uint64_t> total_events() const;
  // Host-timer kicks the trace holds, when its footer says: a kvm recording without any replays
  // on emu too (the debugger hands a kvm replay over to emu to go backwards).
  std::optional<uint64_t> kick_events() const;

  // Runs until the guest ends, the replay diverges (Error(kDivergence)) or a debugger stop.
  RunOutcome run() { return machine_->run(); }

  // Checkpoints share guest memory's unchanged pages: taking one reads the pages written since the
  // last checkpoint or restore, restoring one copies the pages that differ (Machine::snapshot).
  ReplayCheckpoint checkpoint() { return {machine_->snapshot(), gate_.cursor()}; }
  // Returns the number of guest memory pages copied.
  size_t restore(const ReplayCheckpoint& checkpoint);

private:
  std::unique_ptr<TraceReader> reader_;
  TraceEventSource events_;
  ReplayGate gate_;
  std::unique_ptr<GuestMemory> memory_; // before machine_, which runs in it
  std::unique_ptr<Machine> machine_;
};

} // namespace rrvm
