#include "debugger/replay_controller.h"

#include <algorithm>
#include <sstream>

#include "vmm/error.h"
#include "vmm/page_walker.h"

namespace rrvm::gdb {

namespace {

// Instructions between automatic checkpoints, and between looks at the gdb connection during a
// long forward run. A checkpoint copies and compares guest memory (tens of milliseconds for the
// default 64 MiB), so they are much further apart than emu runs in that time.
constexpr uint64_t kCheckpointInterval = 2'000'000;
constexpr uint64_t kSlice = 500'000;
constexpr uint64_t kCheckpointBudget = 512ull << 20;

Stop failed(const std::string& message, ExitCode code = ExitCode::kGuestFault) {
  Stop s{Stop::Kind::kFailed};
  s.message = message;
  s.failure = code;
  return s;
}

} // namespace

ReplayController::ReplayController(ReplaySession& session)
    : session_(session), reversible_(session.machine().engine().instruction_count().has_value()),
      checkpoints_(kCheckpointBudget) {
  if (reversible_) {
    checkpoints_.add(0, session_.checkpoint());
    next_checkpoint_ = kCheckpointInterval;
  }
}

std::optional<uint64_t> ReplayController::position() const {
  return session_.machine().engine().instruction_count();
}

bool ReplayController::replaying_covered_ground() const {
  const std::optional<uint64_t> now = position();
  return now && *now < furthest_;
}

bool ReplayController::insert(const Breakpoint& point) {
  if (std::find(breakpoints_.begin(), breakpoints_.end(), point) != breakpoints_.end()) return true;
  if (breakpoints_.size() >= engine().max_hw_breakpoints()) return false;
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
  // Re-arming makes the engine forget the breakpoint it just reported, which it would then
  // report again at once: only hand it a changed set.
  auto same = [&](const std::vector<HwBreakpoint>& a) {
    return a.size() == points.size() &&
           std::equal(a.begin(), a.end(), points.begin(), [](const auto& x, const auto& y) {
             return x.address == y.address && x.kind == y.kind && x.length == y.length;
           });
  };
  if (armed_ && same(*armed_)) return;
  engine().set_hw_breakpoints(points);
  armed_ = std::move(points);
}

RunOutcome ReplayController::run() {
  try {
    return session_.run();
  } catch (const Error& e) {
    ended_ = failed(e.what(), e.code());
    RunOutcome outcome{RunOutcome::Kind::kEngineError, 0, e.what()};
    return outcome;
  }
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
    ended_ =
        failed(outcome.message, outcome.kind == RunOutcome::Kind::kHung ? ExitCode::kGuestHung
                                                                        : ExitCode::kGuestFault);
    return *ended_;
  }
}

void ReplayController::note_progress() {
  if (const std::optional<uint64_t> now = position()) furthest_ = std::max(furthest_, *now);
}

Stop ReplayController::step() {
  if (ended_) return *ended_;
  // A step executes one instruction: a breakpoint on it would stop it before it ran.
  arm(false, true);
  machine().stop_at(std::nullopt);
  engine().set_single_step(true);
  RunOutcome outcome = run();
  engine().set_single_step(false);
  note_progress();
  if (ended_) return *ended_;
  return translate(outcome);
}

Stop ReplayController::resume(const Interrupted& interrupted) {
  if (ended_) return *ended_;
  const std::optional<uint64_t> start = position();
  const uint64_t start_pc = engine().state().rip;
  for (;;) {
    arm(true, true); // a checkpoint on the way made the engine forget them
    if (reversible_) {
      const uint64_t now = *position();
      machine().stop_at(std::min(now + kSlice, std::max(next_checkpoint_, now + 1)));
    }
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
    machine().stop_at(std::nullopt);
    return translate(outcome);
  }
}

void ReplayController::maybe_checkpoint() {
  const uint64_t now = *position();
  if (now < next_checkpoint_) return;
  checkpoints_.add(now, session_.checkpoint());
  next_checkpoint_ = now + kCheckpointInterval;
}

void ReplayController::restore(size_t index) {
  const CheckpointStore::Info info = checkpoints_.info(index);
  if (!loaded_ || loaded_->first != info.position)
    loaded_.emplace(info.position, checkpoints_.load(index));
  session_.restore(loaded_->second);
  armed_.reset();
  ended_.reset();
}

bool ReplayController::run_to(uint64_t target) {
  arm(false, false);
  if (*position() != target) {
    machine().stop_at(target);
    const RunOutcome outcome = run();
    machine().stop_at(std::nullopt);
    if (outcome.kind != RunOutcome::Kind::kPositionReached) {
      if (!ended_) translate(outcome);
      return false;
    }
  }
  note_progress();
  return true;
}

bool ReplayController::go_to(uint64_t target) {
  if (!reversible_) return false;
  const uint64_t now = *position();
  const size_t index = *checkpoints_.at_or_before(target);
  // Forward from here when that is no longer than from the checkpoint.
  if (ended_ || target < now || checkpoints_.info(index).position > now) restore(index);
  return run_to(target);
}

Stop ReplayController::reverse_step() {
  const uint64_t now = *position();
  if (now == 0) return {Stop::Kind::kReplayStart};
  if (!go_to(now - 1)) return ended_ ? *ended_ : failed("cannot go back");
  return {Stop::Kind::kStep};
}

std::optional<ReplayController::Hit>
ReplayController::last_hit_before(uint64_t position, size_t checkpoint, uint64_t end) {
  restore(checkpoint);
  arm(true, true);
  machine().stop_at(end);
  std::optional<Hit> last;
  for (uint64_t ordinal = 1;; ++ordinal) {
    RunOutcome outcome = run();
    if (outcome.kind != RunOutcome::Kind::kDebugStop) break;
    const uint64_t at = *this->position();
    Stop stop = translate(outcome);
    // A breakpoint stops before its instruction, a watchpoint after the access.
    const bool before = stop.kind == Stop::Kind::kBreakpoint ? at < position : at <= position;
    if (before) last = Hit{ordinal, at, stop};
  }
  machine().stop_at(std::nullopt);
  ended_.reset();
  return last;
}

Stop ReplayController::reverse_resume(const Interrupted& interrupted) {
  const uint64_t now = *position();
  if (now == 0) return {Stop::Kind::kReplayStart};
  for (std::optional<size_t> index = checkpoints_.at_or_before(now - 1); index;) {
    const uint64_t from = checkpoints_.info(*index).position;
    const uint64_t end = *index + 1 < checkpoints_.size()
                             ? std::min(now, checkpoints_.info(*index + 1).position)
                             : now;
    if (std::optional<Hit> hit = last_hit_before(now, *index, end)) {
      if (hit->stop.kind == Stop::Kind::kWatchpoint) {
        // Going backwards, a watchpoint triggers as the accessing instruction is undone: stop
        // just before it, where gdb sees the old value.
        go_to(hit->position - 1);
        return hit->stop;
      }
      restore(*index);
      arm(true, true);
      for (uint64_t i = 0; i < hit->ordinal; ++i) {
        run();
      }
      note_progress();
      return hit->stop;
    }
    if (interrupted()) {
      go_to(from);
      return {Stop::Kind::kInterrupted};
    }
    index = *index == 0 ? std::nullopt : std::optional<size_t>(*index - 1);
  }
  go_to(0);
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
        << info.own_pages << " pages of its own\n";
  }
  return out.str();
}

} // namespace rrvm::gdb
