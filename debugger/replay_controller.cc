#include "debugger/replay_controller.h"

#include <algorithm>
#include <sstream>

#include "vmm/error.h"
#include "vmm/page_walker.h"

namespace rrvm::gdb {

namespace {

// Automatic checkpoints are this many instructions or trace events apart, whichever comes first
// (a step back re-executes up to that much: an exit costs emu about as much as a hundred
// instructions). A checkpoint reads the guest memory pages written since the last checkpoint or
// restore (vmm/memory_image.h), which for a guest writing much memory (Linux) costs as much as
// running a good part of an interval. Forward runs stop every kSlice instructions to look at the
// gdb connection and place checkpoints.
constexpr uint64_t kCheckpointInterval = 2'000'000;
constexpr uint64_t kCheckpointEvents = 200'000;
constexpr uint64_t kSlice = 100'000;
constexpr uint64_t kCheckpointBudget = 512ull << 20;
// A reverse search runs its window from the window's checkpoint again for every hit gdb rejects
// (a conditional breakpoint); checkpoints left at hits this far apart keep the next one short.
constexpr uint64_t kReverseCheckpointSpacing = 100'000;

Stop failed(const std::string& message, ExitCode code = ExitCode::kGuestFault) {
  Stop s{Stop::Kind::kFailed};
  s.message = message;
  s.failure = code;
  return s;
}

} // namespace

ReplayController::ReplayController(ReplaySession& session, EmuReplay emu_replay)
    : machine_(&session.machine()), session_(&session),
      reversible_(session.machine().engine().instruction_count().has_value()),
      emu_replay_(std::move(emu_replay)), checkpoints_(kCheckpointBudget) {
  if (reversible_) checkpoints_.add(0, session_->checkpoint());
}

ReplayController::ReplayController(Machine& live, bool recording)
    : machine_(&live), session_(nullptr), recording_(recording), reversible_(false),
      checkpoints_(0) {}

std::string ReplayController::why_not_reversible() const {
  if (!no_handover_.empty()) return no_handover_;
  if (live())
    return "a live run cannot go backwards: record it (rrvm record -o TRACE) and debug the "
           "replay (rrvm replay TRACE --gdb)";
  return "reverse execution needs an exact instruction count: replay with --engine emu (an emu "
         "or kick-free kvm recording)";
}

std::optional<ReplayPosition> ReplayController::position() const {
  const Engine& engine = machine_->engine();
  const std::optional<uint64_t> count = engine.instruction_count();
  if (!count) return std::nullopt;
  return ReplayPosition{*count, engine.deliveries_at_count()};
}

std::optional<uint64_t> ReplayController::event_position() const {
  if (!session_) return std::nullopt;
  return session_->gate().position();
}

std::optional<uint64_t> ReplayController::total_events() const {
  if (!session_) return std::nullopt;
  return session_->total_events();
}

bool ReplayController::replaying_covered_ground() const {
  const std::optional<ReplayPosition> now = position();
  return handing_over_ || (now && now->instructions < furthest_);
}

bool ReplayController::insert(const Breakpoint& point) {
  if (std::find(breakpoints_.begin(), breakpoints_.end(), point) != breakpoints_.end()) return true;
  if (breakpoints_.size() >= debug_registers().room(DebugClient::kDebugger)) return false;
  breakpoints_.push_back(point);
  return true;
}

bool ReplayController::remove(const Breakpoint& point) {
  auto it = std::find(breakpoints_.begin(), breakpoints_.end(), point);
  if (it == breakpoints_.end()) return false;
  breakpoints_.erase(it);
  return true;
}

void ReplayController::arm(bool exec, bool watch) {
  std::vector<HwBreakpoint> points;
  for (const Breakpoint& b : breakpoints_) {
    const bool is_exec = b.point.kind == WatchKind::kExecute;
    if (is_exec ? exec : watch) points.push_back(b.point);
  }
  arm(points);
}

void ReplayController::arm(std::span<const HwBreakpoint> points) {
  // insert() kept the breakpoints within the room the arbiter gives the debugger.
  if (!debug_registers().set_points(DebugClient::kDebugger, points))
    throw Error(ExitCode::kInternal, "more breakpoints armed than the debug registers hold");
}

RunOutcome ReplayController::run() {
  try {
    last_outcome_ = machine_->run();
  } catch (const Error& e) {
    ended_ = failed(e.what(), e.code());
    last_outcome_ = {RunOutcome::Kind::kEngineError, 0, e.what()};
  }
  return last_outcome_;
}

Stop ReplayController::translate(const RunOutcome& outcome) {
  switch (outcome.kind) {
  case RunOutcome::Kind::kDebugStop: {
    Stop s{Stop::Kind::kStep, outcome.debug.cause, outcome.debug.address};
    if (outcome.debug.cause == DebugCause::kBreakpoint) {
      s.kind = Stop::Kind::kBreakpoint;
      s.software = std::any_of(breakpoints_.begin(), breakpoints_.end(), [&](const Breakpoint& b) {
        return b.software && b.point.address == outcome.debug.address;
      });
    } else if (outcome.debug.cause != DebugCause::kStep) {
      s.kind = Stop::Kind::kWatchpoint;
    }
    return s;
  }
  case RunOutcome::Kind::kPositionReached:
    return {Stop::Kind::kStep};
  case RunOutcome::Kind::kGuestExit: {
    Stop s{Stop::Kind::kExited};
    s.status = outcome.status;
    ended_ = s;
    return s;
  }
  default:
    ended_ = failed(outcome.message, end_status(outcome.kind));
    return *ended_;
  }
}

void ReplayController::note_progress() {
  if (const std::optional<ReplayPosition> now = position())
    furthest_ = std::max(furthest_, now->instructions);
}

Stop ReplayController::step() {
  if (ended_) return *ended_;
  machine_->stop_at(std::nullopt);
  // KVM's single step goes wrong at instructions that exit to rrvm: a HLT completes without
  // halting (a replay would miss the recorded halt, a recording would hold a run that replays
  // differently), and the trap after port I/O is lost (the step runs on to the next
  // instruction's end). Those are stepped with a breakpoint on the next instruction instead (a
  // halted guest then stops there once an interrupt woke it and its handler returned).
  if (const std::optional<uint64_t> next = kvm_step_target()) return step_to(*next);
  // A step executes one instruction: a breakpoint on it would stop it before it ran.
  arm(false, true);
  debug_registers().set_single_step(DebugClient::kDebugger, true);
  RunOutcome outcome = run();
  debug_registers().set_single_step(DebugClient::kDebugger, false);
  note_progress();
  if (ended_) return *ended_;
  return translate(outcome);
}

std::optional<uint64_t> ReplayController::kvm_step_target() {
  if (position()) return std::nullopt; // emu steps everything exactly
  const CpuState cpu = engine().state();
  const uint64_t rip = cpu.cs.base + cpu.rip;
  uint8_t code[4] = {};
  const size_t n = read_linear(machine_->memory(), cpu, rip, code);
  size_t length = 0;
  while (length < n && (code[length] == 0x66 || code[length] == 0x67 || code[length] == 0xf2 ||
                        code[length] == 0xf3))
    ++length; // operand/address size and rep prefixes
  if (length >= n) return std::nullopt;
  const uint8_t opcode = code[length];
  if (opcode == 0xf4 || (opcode >= 0xec && opcode <= 0xef) || (opcode >= 0x6c && opcode <= 0x6f))
    return rip + length + 1;                                     // hlt, in/out with dx, ins/outs
  if (opcode >= 0xe4 && opcode <= 0xe7) return rip + length + 2; // in/out with an imm8 port
  return std::nullopt;
}

Stop ReplayController::step_to(uint64_t next) {
  std::vector<HwBreakpoint> points{{next, WatchKind::kExecute, 1}};
  const size_t room = debug_registers().room(DebugClient::kDebugger);
  for (const Breakpoint& b : breakpoints_)
    if (b.point.kind != WatchKind::kExecute && points.size() < room) points.push_back(b.point);
  arm(points);
  const RunOutcome outcome = run();
  if (ended_) return *ended_;
  if (outcome.kind == RunOutcome::Kind::kDebugStop &&
      outcome.debug.cause == DebugCause::kBreakpoint && outcome.debug.address == next)
    return {Stop::Kind::kStep};
  return translate(outcome);
}

Stop ReplayController::resume(const Interrupted& interrupted) {
  if (ended_) return *ended_;
  const std::optional<ReplayPosition> start = position();
  const uint64_t start_pc = engine().state().rip;
  for (;;) {
    arm(true, true); // a checkpoint on the way made the engine forget them
    // Slices let ^C through and place checkpoints; kvm has no count to slice by.
    if (position()) machine_->stop_at(slice_end(UINT64_MAX));
    RunOutcome outcome = run();
    note_progress();
    if (ended_) return *ended_;
    if (outcome.kind == RunOutcome::Kind::kPositionReached) {
      maybe_checkpoint();
      if (interrupted()) return {Stop::Kind::kInterrupted};
      continue;
    }
    // A breakpoint at the instruction the run resumed from is the one gdb stepped off.
    if (outcome.kind == RunOutcome::Kind::kDebugStop &&
        outcome.debug.cause == DebugCause::kBreakpoint && start && position() == start &&
        engine().state().rip == start_pc)
      continue;
    machine_->stop_at(std::nullopt);
    return translate(outcome);
  }
}

uint64_t ReplayController::slice_end(uint64_t limit) const {
  const uint64_t now = position()->instructions;
  uint64_t end = std::min(limit, now + kSlice);
  if (reversible_) {
    const uint64_t checkpoint =
        checkpoints_.info(checkpoints_.size() - 1).position + kCheckpointInterval;
    if (checkpoint > now) end = std::min(end, checkpoint);
  }
  return end;
}

void ReplayController::maybe_checkpoint() {
  if (!reversible_) return;
  // A restored checkpoint stands at delivery 0 of its count (Engine::set_instruction_count).
  if (position()->deliveries != 0) return;
  const uint64_t now = position()->instructions;
  const uint64_t events = session_->gate().position();
  const CheckpointStore::Info newest = checkpoints_.info(checkpoints_.size() - 1);
  if (now <= newest.position) return; // ground the checkpoints cover
  if (now - newest.position < kCheckpointInterval &&
      events - newest.gate_position < kCheckpointEvents)
    return;
  checkpoints_.add(now, session_->checkpoint());
}

void ReplayController::checkpoint_at_hit() {
  const ReplayPosition at = *position();
  if (at.deliveries != 0) return; // see maybe_checkpoint()
  const uint64_t previous = checkpoints_.info(*checkpoints_.at_or_before(at.instructions)).position;
  if (at.instructions - previous < kReverseCheckpointSpacing) return;
  checkpoints_.add(at.instructions, session_->checkpoint());
}

void ReplayController::restore(size_t index) {
  restore(checkpoints_.at(index));
}

void ReplayController::restore(const ReplayCheckpoint& checkpoint) {
  session_->restore(checkpoint);
  debug_registers().forget_armed();
  ended_.reset();
}

bool ReplayController::run_to(uint64_t target) {
  arm(false, false);
  while (position()->instructions != target) {
    // New ground gets its checkpoints on the way, as a continue lays them.
    machine_->stop_at(slice_end(target));
    const RunOutcome outcome = run();
    machine_->stop_at(std::nullopt);
    if (outcome.kind != RunOutcome::Kind::kPositionReached) {
      if (!ended_) translate(outcome);
      return false;
    }
    note_progress();
    maybe_checkpoint();
  }
  return true;
}

bool ReplayController::go_to(ReplayPosition target) {
  if (!reversible_) return false;
  const ReplayPosition now = *position();
  if (now == target && !ended_) return true;
  const size_t index = *checkpoints_.at_or_before(target.instructions);
  // Forward from here when that is no longer than from the checkpoint.
  if (ended_ || target < now || checkpoints_.info(index).position > now.instructions)
    restore(index);
  if (!run_to(target.instructions)) return false;
  if (*position() > target) { // a trap delivered with its instruction: step to between them
    restore(*checkpoints_.at_or_before(target.instructions - 1));
    if (!run_to(target.instructions - 1)) return false;
  }
  return advance_to(target);
}

bool ReplayController::move_once() {
  debug_registers().set_single_step(DebugClient::kDebugger, true);
  const RunOutcome outcome = run();
  debug_registers().set_single_step(DebugClient::kDebugger, false);
  if (outcome.kind == RunOutcome::Kind::kDebugStop) return true;
  if (!ended_) translate(outcome);
  return false;
}

bool ReplayController::advance_to(ReplayPosition target) {
  arm(false, false);
  machine_->stop_at(std::nullopt);
  while (*position() < target)
    if (!move_once()) return false;
  note_progress();
  return *position() == target;
}

bool ReplayController::go_to_before(ReplayPosition position) {
  if (position.deliveries != 0) return go_to({position.instructions, position.deliveries - 1});
  // How many deliveries the previous count saw is known only by stepping past them. A snapshot
  // there saves running to it again, unless a single-step trap may be pending (the engine's own
  // state, which no snapshot holds).
  const ReplayPosition previous{position.instructions - 1, 0};
  if (!go_to(previous)) return false;
  std::optional<ReplayCheckpoint> there;
  if (!(engine().state().rflags & rflags::kTF)) there = session_->checkpoint();
  ReplayPosition last = previous;
  // The replay may end there (a guest powering off at its next instruction): no more deliveries.
  while (move_once() && this->position()->instructions == previous.instructions)
    last = *this->position();
  if (!there) return go_to(last);
  restore(*there);
  return advance_to(last);
}

bool ReplayController::go_to_event(uint64_t event) {
  if (!reversible_) return false;
  // No event carries the instruction count of its exit: find the exit by running until the gate
  // has consumed far enough. Such a run stops right after the exit's own events, before the
  // machine delivers the interrupt they may ask for (one more event), so it probes one event
  // short, and the exit's end is then reached again cleanly by count. The replay ends up at the
  // first instruction boundary where `event` events have been consumed.
  size_t index = 0;
  for (size_t i = 1; i < checkpoints_.size() && checkpoints_.info(i).gate_position < event; ++i)
    index = i;
  restore(index);
  ReplayGate& gate = session_->gate();
  while (gate.position() < event) {
    arm(false, false);
    gate.stop_at_event(event - 1);
    const RunOutcome outcome = run();
    gate.stop_at_event(std::nullopt);
    if (outcome.kind != RunOutcome::Kind::kStopped) {
      if (!ended_) translate(outcome);
      return false;
    }
    const uint64_t exit = position()->instructions;
    restore(*checkpoints_.at_or_before(exit));
    if (!run_to(exit)) return false;
    // A port or MMIO read exits before its instruction retires, so the count reaches `exit`
    // first before that exit: its handling is complete once the instruction is.
    if (gate.position() < event && !run_to(exit + 1)) return false;
  }
  return true;
}

bool ReplayController::hand_over_to_emu() {
  if (reversible_) return true;
  if (live() || !emu_replay_) return false;
  const std::optional<uint64_t> kicks = session_->kick_events();
  if (!kicks || *kicks != 0) {
    no_handover_ = "this kvm recording was interrupted by host-timer kicks, which only kvm finds "
                   "again, so it cannot replay on emu to go backwards (record with --engine emu)";
    return false;
  }
  if (ended_) {
    no_handover_ = "the replay has ended";
    return false;
  }
  const CpuState target = engine().state();
  const uint64_t event = session_->gate().position();
  handing_over_ = true; // the emu replay re-executes what gdb has seen: keep its output quiet
  try {
    std::unique_ptr<ReplaySession> emu = emu_replay_();
    ReplayController follower(*emu);
    if (follower.go_to_event(event) && follower.event_position() == event &&
        follower.run_to_state(target)) {
      std::vector<Breakpoint> breakpoints = std::move(breakpoints_);
      *this = std::move(follower);
      breakpoints_ = std::move(breakpoints);
      emu_session_ = std::move(emu);
      furthest_ = position()->instructions;
      return true;
    }
    const std::optional<Stop>& failure = follower.final_stop();
    no_handover_ = failure && failure->kind == Stop::Kind::kFailed
                       ? "this kvm recording does not replay on emu: " + failure->message
                       : "the emu replay did not reach the kvm replay's state at trace event " +
                             std::to_string(event);
  } catch (const Error& e) {
    no_handover_ = std::string("the emu replay failed: ") + e.what();
  }
  handing_over_ = false;
  return false;
}

bool ReplayController::run_to_state(const CpuState& target) {
  // The instruction pointer, general registers and IF. Not the arithmetic flags: some
  // instructions leave some undefined (AF after a shift or logic operation), and the hardware
  // and emu may differ there.
  auto reached = [&] {
    const CpuState now = engine().state();
    return now.rip == target.rip && now.gpr == target.gpr &&
           ((now.rflags ^ target.rflags) & rflags::kIF) == 0;
  };
  if (reached()) return true;
  ReplayGate& gate = session_->gate();
  const HwBreakpoint at{target.rip, WatchKind::kExecute, 1};
  arm({&at, 1});
  gate.stop_at_event(gate.position() + 1); // the kvm replay was there before its next exit
  bool found = false;
  while (!found && run().kind == RunOutcome::Kind::kDebugStop)
    found = reached();
  gate.stop_at_event(std::nullopt);
  note_progress();
  return found;
}

Stop ReplayController::reverse_step() {
  const ReplayPosition now = *position();
  if (now == ReplayPosition{}) return {Stop::Kind::kReplayStart};
  if (!go_to_before(now)) return ended_ ? *ended_ : failed("cannot go back");
  return {Stop::Kind::kStep};
}

std::optional<ReplayController::Hit>
ReplayController::last_hit_before(ReplayPosition position, size_t checkpoint, uint64_t end) {
  restore(checkpoint);
  arm(true, true);
  machine_->stop_at(end);
  std::optional<Hit> last;
  for (uint64_t ordinal = 1;; ++ordinal) {
    RunOutcome outcome = run();
    if (outcome.kind != RunOutcome::Kind::kDebugStop) break;
    const ReplayPosition at = *this->position();
    Stop stop = translate(outcome);
    // A breakpoint stops before its instruction, a watchpoint after the access.
    const bool before = stop.kind == Stop::Kind::kBreakpoint ? at < position : at <= position;
    if (before) last = Hit{ordinal, at, stop};
  }
  machine_->stop_at(std::nullopt);
  ended_.reset();
  return last;
}

Stop ReplayController::reverse_resume(const Interrupted& interrupted) {
  const ReplayPosition now = *position();
  if (now == ReplayPosition{}) return {Stop::Kind::kReplayStart};
  // The last window runs on to the count after now's: stops at now's count may come before now.
  const uint64_t last_count = now.deliveries != 0 ? now.instructions : now.instructions - 1;
  for (std::optional<size_t> index = checkpoints_.at_or_before(last_count); index;) {
    const uint64_t from = checkpoints_.info(*index).position;
    const uint64_t end =
        *index + 1 < checkpoints_.size()
            ? std::min(now.instructions + 1, checkpoints_.info(*index + 1).position)
            : now.instructions + 1;
    if (std::optional<Hit> hit = last_hit_before(now, *index, end)) {
      if (hit->stop.kind == Stop::Kind::kWatchpoint) {
        // Going backwards, a watchpoint triggers as the accessing instruction is undone: stop
        // just before it, where gdb sees the old value.
        go_to_before(hit->position);
        return hit->stop;
      }
      restore(*index);
      arm(true, true);
      for (uint64_t i = 0; i < hit->ordinal; ++i) {
        run();
        checkpoint_at_hit();
      }
      note_progress();
      return hit->stop;
    }
    if (interrupted()) {
      go_to({from, 0});
      return {Stop::Kind::kInterrupted};
    }
    index = *index == 0 ? std::nullopt : std::optional<size_t>(*index - 1);
  }
  go_to({});
  return {Stop::Kind::kReplayStart};
}

Stop ReplayController::run_detached() {
  breakpoints_.clear();
  return resume([] { return false; });
}

std::string ReplayController::describe_checkpoints() const {
  std::ostringstream out;
  out << checkpoints_.size() << " checkpoints, " << (checkpoints_.bytes() >> 10)
      << " KiB of memory pages\n";
  for (size_t i = 0; i < checkpoints_.size(); ++i) {
    const CheckpointStore::Info info = checkpoints_.info(i);
    out << "  instruction " << info.position << ", trace event " << info.gate_position << ", "
        << checkpoints_.own_pages(i) << " pages of its own\n";
  }
  return out.str();
}

} // namespace rrvm::gdb
