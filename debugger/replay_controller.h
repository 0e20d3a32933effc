// Moves a replay for the debugger: forward by steps and continues with breakpoints and
// watchpoints kept by the engine (never written into guest memory), and, on emu, backwards to
// any earlier retired-instruction count by restoring the nearest earlier checkpoint and
// re-executing forward. Checkpoints are taken automatically while the replay moves forward.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "replay/checkpoint_store.h"
#include "replay/replay_session.h"
#include "vmm/error.h"

namespace rrvm::gdb {

struct Breakpoint {
  HwBreakpoint point;
  bool software; // inserted with Z0: gdb is told "swbreak", otherwise "hwbreak"
  bool operator==(const Breakpoint& o) const {
    return point.address == o.point.address && point.kind == o.point.kind &&
           point.length == o.point.length && software == o.software;
  }
};

struct Stop {
  enum class Kind : uint8_t {
    kStep,        // a (reverse) step or a position reached
    kBreakpoint,  // `address`; `software` as inserted
    kWatchpoint,  // `cause` and `address`
    kInterrupted, // ^C
    kReplayStart, // reverse execution reached the start of the trace
    kExited,      // the guest ended: `status`
    kFailed,      // the replay cannot go on: `message` (divergence, guest fault)
  };
  Stop(Kind k = Kind::kStep, DebugCause c = DebugCause::kStep, uint64_t a = 0)
      : kind(k), cause(c), address(a) {}

  Kind kind;
  DebugCause cause;
  uint64_t address;
  bool software = false;
  int status = 0;
  std::string message;
  ExitCode failure = ExitCode::kGuestFault; // kFailed: the process status it maps to
};

class ReplayController {
public:
  // Polled between slices of long runs; returning true interrupts the run.
  using Interrupted = std::function<bool()>;

  // `session` stands before its first instruction.
  explicit ReplayController(ReplaySession& session);

  ReplaySession& session() { return session_; }

  // Reverse execution needs an exact instruction count: emu only.
  bool reversible() const { return reversible_; }
  // Retired instructions so far (nullopt on kvm).
  std::optional<uint64_t> position() const;
  uint64_t event_position() { return session_.gate().position(); }
  // True while re-executing what the replay already went through: its serial output is muted.
  bool replaying_covered_ground() const;

  // Breakpoints and watchpoints; false when the engine has no room for another.
  bool insert(const Breakpoint& point);
  bool remove(const Breakpoint& point);

  Stop step();
  Stop resume(const Interrupted& interrupted);
  Stop reverse_step();
  Stop reverse_resume(const Interrupted& interrupted);
  // Moves to retired-instruction count `target` (either direction); false past the end.
  bool go_to(uint64_t target);

  // After gdb detached: without breakpoints, to the end of the replay.
  Stop run_detached();
  // How the replay ended, when it did.
  const std::optional<Stop>& final_stop() const { return ended_; }

  // Lines for `monitor checkpoints`.
  std::string describe_checkpoints() const;

private:
  struct Hit {
    uint64_t ordinal; // among the debug stops of a run from the window's checkpoint
    uint64_t position;
    Stop stop;
  };

  Machine& machine() { return session_.machine(); }
  Engine& engine() { return session_.machine().engine(); }
  // Runs the machine; a divergence ends the replay with a kFailed stop in `ended_`.
  RunOutcome run();
  Stop translate(const RunOutcome& outcome);
  void arm(bool exec, bool watch);
  void note_progress();
  void maybe_checkpoint();
  void restore(size_t index);
  // Runs to `target` with nothing armed; false when the replay ended or failed before it.
  bool run_to(uint64_t target);
  std::optional<Hit> last_hit_before(uint64_t position, size_t checkpoint, uint64_t end);

  ReplaySession& session_;
  bool reversible_;
  CheckpointStore checkpoints_;
  std::vector<Breakpoint> breakpoints_;
  std::optional<std::vector<HwBreakpoint>> armed_; // what the engine has; nullopt: unknown
  std::optional<Stop> ended_;                      // the guest exited or failed here
  uint64_t next_checkpoint_ = 0;
  uint64_t furthest_ = 0; // the furthest position the replay has been at
  // The last checkpoint restored, by position: reverse steps restore the same one repeatedly.
  std::optional<std::pair<uint64_t, ReplayCheckpoint>> loaded_;
};

} // namespace rrvm::gdb
