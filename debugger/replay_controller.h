// Moves a machine for the debugger: forward by steps and continues with breakpoints and
// watchpoints kept by the engine (never written into guest memory), and, replaying on emu,
// backwards to any earlier position (replay/replay_position.h) by restoring the nearest earlier
// checkpoint and re-executing forward. A step moves to the next position, a reverse step to the
// previous one. Checkpoints are taken automatically while the replay moves forward. A live run or
// recording (`rrvm run/record --gdb`) goes forward only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "replay/checkpoint_store.h"
#include "replay/replay_position.h"
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

  // Builds an emu replay of the same trace, standing before its first instruction.
  using EmuReplay = std::function<std::unique_ptr<ReplaySession>()>;

  // A replay: `session` stands before its first instruction. A kvm replay can go backwards by
  // handing over to `emu_replay` where its recording allows it.
  explicit ReplayController(ReplaySession& session, EmuReplay emu_replay = {});
  // A live machine before its first instruction. `recording`: whatever the machine does goes
  // into a trace, so gdb must not change its registers or memory behind the recorder's back.
  ReplayController(Machine& live, bool recording);

  Machine& machine() { return *machine_; }
  bool live() const { return session_ == nullptr; }
  bool recording() const { return recording_; }

  // Reverse execution needs an exact instruction count: emu replays only.
  bool reversible() const { return reversible_; }
  // A kvm replay of a recording without kicks: continues as an emu replay of the same trace in
  // the same state (same trace position and registers), which can go backwards. False when it
  // cannot (why_not_reversible() says why).
  bool hand_over_to_emu();
  // Why reverse execution is refused, for gdb's console.
  std::string why_not_reversible() const;
  // Where the replay is (nullopt on kvm).
  std::optional<ReplayPosition> position() const;
  // Trace events consumed, and how many the trace holds (nullopt when live or unknown).
  std::optional<uint64_t> event_position() const;
  std::optional<uint64_t> total_events() const;
  // True while re-executing what the replay already went through: its serial output is muted.
  bool replaying_covered_ground() const;

  // Breakpoints and watchpoints; false when the engine has no room for another.
  bool insert(const Breakpoint& point);
  bool remove(const Breakpoint& point);

  Stop step();
  Stop resume(const Interrupted& interrupted);
  Stop reverse_step();
  Stop reverse_resume(const Interrupted& interrupted);
  // Moves to `target` (either direction); false past the end, or when no such position exists
  // (more deliveries than were made at its count).
  bool go_to(ReplayPosition target);
  // Moves to the first instruction boundary where the replay has consumed at least `event` trace
  // events: just after the guest exit that reads the trace up to there (either direction; emu).
  // False past the end.
  bool go_to_event(uint64_t event);

  // After gdb detached: without breakpoints, to the end of the replay.
  Stop run_detached();
  // How the replay ended, when it did.
  const std::optional<Stop>& final_stop() const { return ended_; }
  // The machine's last run outcome (a live run reports the final one as `rrvm run` does).
  const RunOutcome& last_outcome() const { return last_outcome_; }

  // Lines for `monitor checkpoints`.
  std::string describe_checkpoints() const;

private:
  struct Hit {
    uint64_t ordinal; // among the debug stops of a run from the window's checkpoint
    ReplayPosition position;
    Stop stop;
  };

  Engine& engine() { return machine_->engine(); }
  DebugRegisterArbiter& debug_registers() { return machine_->debug_registers(); }
  // Runs the machine; a divergence ends the replay with a kFailed stop in `ended_`.
  RunOutcome run();
  Stop translate(const RunOutcome& outcome);
  // Arms the breakpoints (`exec`) and watchpoints (`watch`) gdb inserted, or exactly `points`.
  void arm(bool exec, bool watch);
  void arm(std::span<const HwBreakpoint> points);
  // On kvm, where a single step over the next instruction would go wrong (step()): the address
  // of the instruction after it.
  std::optional<uint64_t> kvm_step_target();
  // Runs to the instruction at `next` with only watchpoints armed besides.
  Stop step_to(uint64_t next);
  void note_progress();
  // Where a forward run towards `limit` stops next: a slice's end or the next checkpoint's place.
  uint64_t slice_end(uint64_t limit) const;
  void maybe_checkpoint();
  // A checkpoint at the hit a reverse search stopped at, when far enough from the last one.
  void checkpoint_at_hit();
  void restore(size_t index);
  void restore(const ReplayCheckpoint& checkpoint);
  // Runs to instruction count `target` with nothing armed; false when the replay ended or failed
  // before it. Lands at delivery 0 of that count, or 1 after an instruction with its single-step
  // trap.
  bool run_to(uint64_t target);
  // Moves to the next position with nothing armed; false when the replay ended or failed.
  bool move_once();
  // Single-steps from an earlier position at most a few deliveries away to `target`, nothing armed.
  bool advance_to(ReplayPosition target);
  // Moves to the position just before `position`.
  bool go_to_before(ReplayPosition position);
  // Runs on from just after an exit to where the registers equal `target`'s, before the next
  // exit; false when it is not there.
  bool run_to_state(const CpuState& target);
  std::optional<Hit> last_hit_before(ReplayPosition position, size_t checkpoint, uint64_t end);

  Machine* machine_;
  ReplaySession* session_; // null for a live machine
  bool recording_ = false;
  bool reversible_;
  EmuReplay emu_replay_;
  std::unique_ptr<ReplaySession> emu_session_; // the replay handed over to
  bool handing_over_ = false;                  // the emu replay catches up: already printed
  std::string no_handover_;                    // why hand_over_to_emu() failed
  RunOutcome last_outcome_{RunOutcome::Kind::kStopped, 0, ""};
  CheckpointStore checkpoints_;
  std::vector<Breakpoint> breakpoints_;
  std::optional<Stop> ended_; // the guest exited or failed here
  uint64_t furthest_ = 0;     // the furthest instruction count the replay has been at
};

} // namespace rrvm::gdb
