#include "replay/replay_gate.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "vmm/error.h"
#include "vmm/hex_text.h"

namespace rrvm {

namespace {

std::string describe(const Event& e) {
  return std::visit(
      [](const auto& ev) -> std::string {
        using T = std::decay_t<decltype(ev)>;
        if constexpr (std::is_same_v<T, ExitEvent>)
          return std::string("exit ") + exit_reason_name(ExitReason(ev.reason)) + " at rip " +
                 hex_text(ev.rip);
        else if constexpr (std::is_same_v<T, ClockEvent>)
          return "clock sample " + std::to_string(ev.ns) + " ns";
        else if constexpr (std::is_same_v<T, PortReadEvent>)
          return "port read " + hex_text(ev.port) + "/" + std::to_string(ev.size) + " = " +
                 hex_text(ev.value);
        else if constexpr (std::is_same_v<T, MmioReadEvent>)
          return "mmio read " + hex_text(ev.gpa) + "/" + std::to_string(ev.size) + " = " +
                 hex_text(ev.value);
        else if constexpr (std::is_same_v<T, MsrReadEvent>)
          return "rdmsr " + hex_text(ev.index) + " = " + hex_text(ev.value);
        else if constexpr (std::is_same_v<T, InjectionEvent>)
          return "interrupt vector " + hex_text(ev.vector) + " injected at " +
                 (ev.kind == InjectionKind::kAtIcount ? "instruction " : "exit ") +
                 std::to_string(ev.point);
        else if constexpr (std::is_same_v<T, SerialInputEvent>)
          return std::to_string(ev.bytes.size()) + " bytes of serial input";
        else if constexpr (std::is_same_v<T, KickEvent>)
          return "a host-timer kick at rip " + hex_text(ev.rip);
        else if constexpr (std::is_same_v<T, ClockTieEvent>)
          return std::string("a clock tie (") + clock_tie_point_name(ev.point) +
                 ") at instruction " + std::to_string(ev.icount) + " (" + std::to_string(ev.ns) +
                 " ns)";
        else if constexpr (std::is_same_v<T, GuestExitEvent>)
          return "guest exit with status " + std::to_string(ev.status);
        else if constexpr (std::is_same_v<T, VerifyEvent>)
          return std::string("a check (") + verify_kind_name(ev.kind) + ") of " +
                 std::to_string(ev.reports) + " reports hashing to " + hex_text(ev.hash) +
                 " at instruction " + std::to_string(ev.icount);
        else
          return event_kind_name(kind_of(Event(ev)));
      },
      e);
}

} // namespace

ReplayGate::ReplayGate(EventSource& events, VerifyMode mode, uint16_t format_major)
    : events_(events), mode_(mode), folds_format_(format_major) {
  plan();
}

const Event* ReplayGate::peek() {
  if (run_.count) [[unlikely]]
    leave_run();
  // Statistics samples and checkpoint markers describe the recording; replay does not act on them.
  while (!looked_ahead_ && !exhausted_) {
    Event& e = lookahead();
    if (!events_.next(e)) {
      exhausted_ = true;
      break;
    }
    EventKind k = kind_of(e);
    if (k == EventKind::kStatsSample || k == EventKind::kCheckpoint) {
      ++consumed_;
      continue;
    }
    looked_ahead_ = true;
  }
  return looked_ahead_ ? &lookahead() : nullptr;
}

void ReplayGate::advance() {
  current_slot_ ^= 1;
  looked_ahead_ = false;
  ++consumed_;
  if (!hashed()) run_ = events_.exit_run();
  plan();
}

void ReplayGate::leave_run() {
  lookahead() = ExitEvent{run_.reasons[run_next_], run_.rips[run_next_]};
  looked_ahead_ = true;
  end_run(run_next_ + 1);
}

void ReplayGate::end_run(size_t exits) {
  events_.skip_exits(exits);
  run_ = {};
  run_next_ = 0;
}

void ReplayGate::drop() {
  looked_ahead_ = false;
  ++consumed_;
  plan();
}

void ReplayGate::diverge(const std::string& recorded, const std::string& replayed) {
  std::string message = "replay diverged at event " + std::to_string(current_index_) +
                        ": the recording has " + recorded + ", the replay " + replayed;
  if (hashed()) {
    // The recording logged no report since the last check that matched: the first difference
    // lies somewhere after it.
    message += "; the first difference lies after report " + std::to_string(window_.reports) +
               " (instruction " + std::to_string(window_.icount) + "), where the replay last " +
               "matched, and by report " + std::to_string(folded_.digest.reports()) +
               " (instruction " + std::to_string(last_icount()) + ")";
    if (!window_.first.empty())
      message += "; the replay's first report after the match was " + window_.first;
  }
  throw Error(ExitCode::kDivergence, message);
}

void ReplayGate::throw_if_cut_short() {
  if (!events_.status().complete())
    throw Error(ExitCode::kBadInput, "trace ends early at event " + std::to_string(consumed_) +
                                         " (" + events_.status().reason +
                                         "); replayed up to there");
}

void ReplayGate::refuse(const Event* next, const std::string& what) {
  if (!next) {
    throw_if_cut_short();
    // A recording that was stopped ends at an exit like any other; the replay ends there too.
    if (events_.recording_was_stopped() && !hashed())
      throw Error(ExitCode::kStopped, "replay reached the end of the recording at event " +
                                          std::to_string(consumed_) + ", where it was stopped");
    diverge("no more events", what);
  }
  diverge(describe(*next), what);
}

void ReplayGate::seek(const Cursor& cursor) {
  // Dropped first: the run points into the source's chunk, which a seek may replace, failing or
  // not.
  run_ = {};
  run_next_ = 0;
  if (!events_.seek(cursor.event))
    throw Error(ExitCode::kBadInput, "cannot return to trace event " +
                                         std::to_string(cursor.event) + ": " +
                                         events_.status().reason);
  looked_ahead_ = false;
  exhausted_ = false;
  consumed_ = cursor.event;
  folded_.polls = cursor.polls;
  folded_.digest = cursor.digest;
  window_ = cursor.window;
  plan();
}

uint64_t ReplayGate::sample_clock() {
  return std::get<ClockEvent>(expect(EventKind::kClock, [] { return "asked for the time"; })).ns;
}

std::optional<ClockTie> ReplayGate::clock_tie(ClockTiePoint where, uint64_t icount, uint64_t,
                                              uint64_t) {
  // A tie the replay does not reach here stays next in the trace, and the next event the machine
  // expects reports the divergence.
  const Event* next = peek();
  if (!next || kind_of(*next) != EventKind::kClockTie) return std::nullopt;
  const auto& tie = std::get<ClockTieEvent>(*next);
  if (tie.icount != icount || tie.point != uint8_t(where)) return std::nullopt;
  const ClockTie answer{tie.ns, tie.rate};
  drop(); // under hashes, a check may come next
  return answer;
}

size_t ReplayGate::take_input(std::span<uint8_t> out) {
  const uint64_t poll = folded_.polls++;
  if (poll < folded_.gate_polls_at) [[likely]]
    return 0;
  return take_logged_input(poll, out);
}

size_t ReplayGate::take_logged_input(uint64_t poll, std::span<uint8_t> out) {
  const Event* next = peek();
  if (next && kind_of(*next) == EventKind::kSerialInput) {
    const auto& input = std::get<SerialInputEvent>(*next);
    current_index_ = consumed_;
    // Format 1 logged input without its poll: its place among the exits says when.
    if (input.poll && *input.poll < poll)
      diverge(describe(*next) + " at input poll " + std::to_string(*input.poll),
              "was at poll " + std::to_string(poll) + " without having taken it");
    if (!input.poll || *input.poll == poll) {
      if (input.bytes.size() > out.size())
        diverge(describe(*next), "took at most " + std::to_string(out.size()) + " bytes");
      std::memcpy(out.data(), input.bytes.data(), input.bytes.size());
      const size_t n = input.bytes.size();
      advance();
      return n;
    }
  }
  if (folded_.polls >= check_polls_) [[unlikely]]
    reached_check();
  return 0;
}

bool ReplayGate::input_possible() {
  const Event* next = peek();
  if (!next) return false;
  // Under --verify hashes the trace ends with a check: after the end's, nothing came.
  return !(hashed() && kind_of(*next) == EventKind::kVerify &&
           std::get<VerifyEvent>(*next).kind == VerifyKind::kEnd);
}

bool ReplayGate::on_exit(ExitReason reason, uint64_t rip, MaybeCount icount) {
  if (hashed()) return on_hashed_exit(reason, rip, icount);
  const ExitEvent replayed{static_cast<uint8_t>(reason), rip};
  current_index_ = consumed_;
  if (run_.count && run_.reasons[run_next_] == replayed.reason &&
      run_.rips[run_next_] == replayed.rip) [[likely]] {
    ++consumed_;
    if (++run_next_ == run_.count) end_run_and_plan();
  } else {
    expect_exit(replayed);
  }
  return mode_ == VerifyMode::kFull;
}

bool ReplayGate::on_hashed_exit(ExitReason reason, uint64_t rip, MaybeCount icount) {
  const ExitEvent replayed{static_cast<uint8_t>(reason), rip};
  if (current_folds())
    folded_.fold(reason, rip, icount);
  else if (folds_format_ >= kExitFoldFormatMajor)
    folded_.fold_format3(reason, rip, icount);
  else
    folded_.fold_format2(reason, rip, icount);
  last_seen_rip_ = rip;
  reported(
      [&] { return describe(replayed) + " (instruction " + std::to_string(last_icount()) + ")"; });
  return wants_register_hashes();
}

void ReplayGate::end_run_and_plan() {
  end_run(run_next_);
  plan();
}

void ReplayGate::expect_exit(const ExitEvent& replayed) {
  const Event* next = peek();
  current_index_ = consumed_;
  const ExitEvent* recorded = next ? std::get_if<ExitEvent>(next) : nullptr;
  if (!recorded || *recorded != replayed) [[unlikely]]
    refuse_exit(next, replayed);
  advance();
}

void ReplayGate::refuse_exit(const Event* next, const ExitEvent& replayed) {
  const ExitEvent* recorded = next ? std::get_if<ExitEvent>(next) : nullptr;
  if (!recorded) refuse(next, describe(replayed));
  diverge(describe(*recorded), describe(replayed));
}

bool ReplayGate::wants_register_hashes() const {
  if (!hashed()) return mode_ == VerifyMode::kFull;
  // The check was planned when this event came up (plan_check).
  return folded_.digest.reports() == boundary_reports_;
}

void ReplayGate::on_register_hash(uint64_t hash) {
  if (hashed()) {
    check(std::get<VerifyEvent>(lookahead()), hash);
    drop();
    return;
  }
  auto replayed = [hash] { return "registers hashing to " + hex_text(hash); };
  const auto& recorded = std::get<RegisterHashEvent>(expect(EventKind::kRegisterHash, replayed));
  if (recorded.hash != hash) diverge("registers hashing to " + hex_text(recorded.hash), replayed());
}

void ReplayGate::on_port_read(uint16_t port, uint8_t size, uint32_t value) {
  PortReadEvent replayed{port, size, value};
  if (hashed()) {
    if (current_folds())
      folded_.digest.port_read(port, size, value);
    else
      folded_.digest.format3_port_read(port, size, value);
    return reported([&] { return describe(replayed); });
  }
  const auto& recorded =
      std::get<PortReadEvent>(expect(EventKind::kPortRead, [&] { return describe(replayed); }));
  if (recorded != replayed) diverge(describe(recorded), describe(replayed));
}

void ReplayGate::on_mmio_read(uint64_t gpa, uint8_t size, uint64_t value) {
  MmioReadEvent replayed{gpa, size, value};
  if (hashed()) {
    if (current_folds())
      folded_.digest.mmio_read(gpa, size, value);
    else
      folded_.digest.format3_mmio_read(gpa, size, value);
    return reported([&] { return describe(replayed); });
  }
  const auto& recorded =
      std::get<MmioReadEvent>(expect(EventKind::kMmioRead, [&] { return describe(replayed); }));
  if (recorded != replayed) diverge(describe(recorded), describe(replayed));
}

void ReplayGate::on_msr_read(uint32_t index, uint64_t value) {
  MsrReadEvent replayed{index, value};
  if (hashed()) {
    if (current_folds())
      folded_.digest.msr_read(index, value);
    else
      folded_.digest.format3_msr_read(index, value);
    return reported([&] { return describe(replayed); });
  }
  const auto& recorded =
      std::get<MsrReadEvent>(expect(EventKind::kMsrRead, [&] { return describe(replayed); }));
  if (recorded != replayed) diverge(describe(recorded), describe(replayed));
}

void ReplayGate::on_injection(uint8_t vector, uint64_t exit_index, std::optional<uint64_t> icount) {
  if (hashed()) {
    InjectionEvent replayed{};
    replayed.vector = vector;
    replayed.kind = icount ? InjectionKind::kAtIcount : InjectionKind::kAtExit;
    replayed.point = icount ? *icount : exit_index;
    folded_.digest.injection(vector, replayed.point);
    return reported([&] { return describe(replayed); });
  }
  const Event* next = peek();
  // The recording names the point the way its engine could: by exit index (kvm) or by
  // instruction count (emu). An emu replay of a kvm recording matches the exit index.
  bool by_icount = next && kind_of(*next) == EventKind::kInjection &&
                   std::get<InjectionEvent>(*next).kind == InjectionKind::kAtIcount;
  InjectionEvent replayed{};
  replayed.vector = vector;
  replayed.kind = by_icount ? InjectionKind::kAtIcount : InjectionKind::kAtExit;
  replayed.point = by_icount ? icount.value_or(0) : exit_index;
  const auto& recorded =
      std::get<InjectionEvent>(expect(EventKind::kInjection, [&] { return describe(replayed); }));
  if (recorded.vector != replayed.vector || recorded.kind != replayed.kind ||
      recorded.point != replayed.point)
    diverge(describe(recorded), describe(replayed));
}

std::optional<KickPoint> ReplayGate::next_kick() {
  const Event* next = peek();
  if (!next || kind_of(*next) != EventKind::kKick) return std::nullopt;
  const auto& kick = std::get<KickEvent>(*next);
  return KickPoint{kick.rip, kick.state_hash, kick.dirty_hash};
}

std::optional<ExitReason> ReplayGate::next_exit_reason() {
  const Event* next = peek();
  if (!next) return std::nullopt;
  switch (kind_of(*next)) {
  case EventKind::kExit:
    return static_cast<ExitReason>(std::get<ExitEvent>(*next).reason);
  case EventKind::kKick:
    return ExitReason::kKicked;
  default:
    return std::nullopt;
  }
}

void ReplayGate::on_kick(const KickPoint& kick) {
  auto replayed = [&kick] { return "a kick at rip " + hex_text(kick.rip); };
  const auto& recorded = std::get<KickEvent>(expect(EventKind::kKick, replayed));
  if (KickPoint{recorded.rip, recorded.state_hash, recorded.dirty_hash} != kick)
    diverge("a kick at rip " + hex_text(recorded.rip) + " with other state", replayed());
}

void ReplayGate::on_guest_exit(int status) {
  GuestExitEvent replayed{status};
  if (hashed()) {
    folded_.digest.guest_exit(status);
    reported([&] { return describe(replayed); });
  }
  const auto& recorded =
      std::get<GuestExitEvent>(expect(EventKind::kGuestExit, [&] { return describe(replayed); }));
  if (recorded != replayed) diverge(describe(recorded), describe(replayed));
}

void ReplayGate::on_run_end() {
  if (!hashed()) return;
  // The recording's last check comes at its end; one still ahead means it went on from here.
  const Event* next = peek();
  if (!next) return throw_if_cut_short();
  current_index_ = consumed_;
  if (kind_of(*next) != EventKind::kVerify) diverge(describe(*next), "ended the run");
  const auto& check = std::get<VerifyEvent>(*next);
  if (check.kind == VerifyKind::kStop) diverge(describe(*next), "ended the run before");
  this->check(check, 0);
  drop();
}

void ReplayGate::plan() {
  if (hashed())
    plan_check();
  else
    plan_input();
}

void ReplayGate::plan_input() {
  // Within a run the looked-at event is an exit.
  const Event* next = run_.count ? nullptr : peek();
  input_poll_ = next && kind_of(*next) == EventKind::kSerialInput
                    ? std::get<SerialInputEvent>(*next).poll.value_or(0)
                    : UINT64_MAX;
  folded_.gate_polls_at = first_poll_to_look_at();
}

uint64_t ReplayGate::first_poll_to_look_at() const {
  // A poll before the looked-at input's and not the one that reaches a check takes nothing.
  return std::min(input_poll_, check_polls_ == 0 ? 0 : check_polls_ - 1);
}

void ReplayGate::plan_check() {
  check_reports_ = check_polls_ = boundary_reports_ = UINT64_MAX;
  input_poll_ = UINT64_MAX;
  const Event* next = peek();
  if (!next) {
    // A report after the recording's last is beyond what the trace can vouch for.
    check_reports_ = folded_.digest.reports() + 1;
  } else if (kind_of(*next) == EventKind::kSerialInput) {
    input_poll_ = std::get<SerialInputEvent>(*next).poll.value_or(0);
  } else if (kind_of(*next) == EventKind::kVerify) {
    const auto& check = std::get<VerifyEvent>(*next);
    switch (check.kind) {
    case VerifyKind::kBoundary: // taken at the exit that makes check.reports (on_register_hash)
      check_reports_ = check.reports + 1;
      boundary_reports_ = check.reports;
      break;
    case VerifyKind::kStop:
      check_polls_ = check.polls;
      [[fallthrough]];
    case VerifyKind::kEnd:
      check_reports_ = check.reports;
      break;
    }
  }
  if (folded_.digest.reports() >= check_reports_ || folded_.polls >= check_polls_) reached_check();
  refresh_fold_limit();
}

void ReplayGate::refresh_fold_limit() {
  folded_.gate_polls_at = first_poll_to_look_at();
  const uint64_t window_edge = window_.reports + 1;
  folded_.gate_wants_at =
      std::min({folded_.digest.reports() < window_edge ? window_edge : UINT64_MAX, check_reports_,
                boundary_reports_});
}

void ReplayGate::reached_check() {
  const Event* next = peek();
  current_index_ = consumed_;
  if (!next) {
    throw_if_cut_short();
    diverge("no more reports after report " + std::to_string(folded_.digest.reports() - 1),
            "made another");
  }
  const auto& check = std::get<VerifyEvent>(*next);
  if (folded_.digest.reports() > check.reports)
    diverge(describe(*next), "passed report " + std::to_string(check.reports) +
                                 (check.kind == VerifyKind::kBoundary ? " not at an exit" : ""));
  if (check.kind == VerifyKind::kBoundary) return;
  // A stop lands at an input poll or, seen right after an exit, between that exit's report and
  // its poll (Machine::run): it is reached when both counts are.
  if (check.kind == VerifyKind::kStop &&
      (folded_.polls < check.polls || folded_.digest.reports() < check.reports))
    return;
  this->check(check, 0);
  if (check.kind == VerifyKind::kStop)
    throw Error(ExitCode::kStopped, "replay reached the end of the recording at event " +
                                        std::to_string(consumed_) + ", where it was stopped");
  drop();
}

std::string ReplayGate::digest_text(uint64_t reports, uint64_t hash, uint64_t icount) const {
  return std::to_string(reports) + " reports hashing to " + hex_text(hash) + " at instruction " +
         std::to_string(icount);
}

void ReplayGate::check(const VerifyEvent& recorded, uint64_t state_hash) {
  current_index_ = consumed_;
  if (recorded.reports != folded_.digest.reports() || recorded.hash != folded_.digest.hash() ||
      recorded.icount != last_icount())
    diverge(digest_text(recorded.reports, recorded.hash, recorded.icount),
            digest_text(folded_.digest.reports(), folded_.digest.hash(), last_icount()));
  if (recorded.kind == VerifyKind::kBoundary && recorded.state_hash != state_hash)
    diverge("registers hashing to " + hex_text(recorded.state_hash) + " at instruction " +
                std::to_string(recorded.icount),
            "registers hashing to " + hex_text(state_hash) + " (rip " + hex_text(last_seen_rip_) +
                ")");
  window_ = {recorded.reports, recorded.icount, {}};
  refresh_fold_limit();
}

} // namespace rrvm
