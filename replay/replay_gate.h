// The gate in replay mode: every answer comes from the trace, and everything the machine does is
// checked against what the recording did. The first difference throws Error(kDivergence) with
// the event index and both sides. A recording that logged every report (--verify exits, full, and
// format 1) is checked report by report; one that logged only their rolling hash (--verify
// hashes) is checked at its verification events, and a difference is pinned to the window of
// reports since the last check that matched.
#pragma once

#include <array>
#include <atomic>
#include <optional>
#include <string>

#include "formats/trace_header.h"
#include "formats/verify_mode.h"
#include "replay/event_source.h"
#include "vmm/folded_reports.h"
#include "vmm/gate.h"

namespace rrvm {

class ReplayGate : public Gate {
public:
  // `format_major`: the trace's (ReportDigest folds the reports of 2.x and 3.x traces as their
  // format did).
  ReplayGate(EventSource& events, VerifyMode mode, uint16_t format_major = kTraceFormatMajor);

  uint64_t sample_clock() override;
  // The recording's tie at this point and instruction count, if it has one next.
  std::optional<ClockTie> clock_tie(ClockTiePoint where, uint64_t icount, uint64_t guest_ns,
                                    uint64_t rate) override;
  // Idle fast-forward: the next clock sample, the next wake tie or the deadline is the wake-up.
  void wait_idle(uint64_t) override {}
  size_t take_input(std::span<uint8_t> out) override;
  // The recording went on after a halt with nothing armed only if input woke the guest.
  bool input_possible() override;
  uint64_t host_deadline(uint64_t) const override { return 0; }

  bool on_exit(ExitReason reason, uint64_t rip, MaybeCount icount) override;
  // An older trace's reports all come to the gate (on_exit, on_port_read, ...), which folds them
  // as their format did.
  FoldedReports* folded_reports() override {
    return hashed() && current_folds() ? &folded_ : nullptr;
  }
  void on_port_read(uint16_t port, uint8_t size, uint32_t value) override;
  void on_mmio_read(uint64_t gpa, uint8_t size, uint64_t value) override;
  void on_msr_read(uint32_t index, uint64_t value) override;
  void on_injection(uint8_t vector, uint64_t exit_index, std::optional<uint64_t> icount) override;
  void on_guest_exit(int status) override;
  void on_run_end() override;
  bool tracks_kicks() const override { return true; }
  void on_register_hash(uint64_t hash) override;
  void on_kick(const KickPoint& kick) override;
  std::optional<KickPoint> next_kick() override;
  std::optional<ExitReason> next_exit_reason() override;

  // Events consumed so far.
  uint64_t position() const { return consumed_.load(std::memory_order_relaxed); }

  // Where the replay is in the trace and in its verification: what a checkpoint keeps.
  struct Window {
    uint64_t reports = 0; // at the last check that matched
    uint64_t icount = 0;
    std::string first; // the replay's first report after it
  };
  struct Cursor {
    uint64_t event = 0;
    uint64_t polls = 0;
    ReportDigest digest;
    Window window;
  };
  Cursor cursor() const { return {position(), folded_.polls, folded_.digest, window_}; }
  // Continue from `cursor` (a checkpoint's). Throws Error(kBadInput) when the trace cannot be read
  // there.
  void seek(const Cursor& cursor);

  // For the debugger's `monitor goto EVENT`: the machine stops (Machine::run returns kStopped)
  // after the first exit at which `index` events have been consumed; nullopt: no such stop.
  void stop_at_event(std::optional<uint64_t> index) {
    stop_position_ = index.value_or(UINT64_MAX);
    // A stop request that came meanwhile must not be overwritten (request_stop stores its flag
    // before the position).
    if (user_stop_) stop_position_ = 0;
  }
  // Asked at every exit: one comparison covers both kinds of stop.
  bool stop_requested() const override {
    return position() >= stop_position_.load(std::memory_order_relaxed);
  }
  // Ends the replay at the next exit (a stop signal). Callable from any thread.
  void request_stop() {
    user_stop_ = true;
    stop_position_ = 0;
  }

private:
  // Whether the recording hashed the registers at this exit.
  bool wants_register_hashes() const;
  bool hashed() const { return mode_ == VerifyMode::kHashes; }
  // The last exit's instruction count as the trace states it (0 for an engine that counts none).
  uint64_t last_icount() const { return folded_.last_icount.value_or(0); }
  // The next event, which must be of kind `kind`; `what()` describes what the machine did, and
  // is called only to report a divergence (at every exit, building the text would cost more than
  // the replay of the exit).
  template <typename Describe> const Event& expect(EventKind kind, Describe what) {
    const Event* next = peek();
    current_index_ = consumed_; // the event a mismatch, found now or by the caller, is about
    if (!next || kind_of(*next) != kind) [[unlikely]]
      refuse(next, what());
    advance();
    return slots_[current_slot_];
  }
  // Throws for the event expect() found instead (nullptr: the end of the events).
  [[noreturn]] void refuse(const Event* next, const std::string& what);
  const Event* peek();
  Event& lookahead() { return slots_[current_slot_ ^ 1]; }
  // Consumes the looked-at event (it becomes the current one), or drops it (a check, which may
  // come while a caller still looks at the current one).
  void advance();
  void drop();
  void leave_run();
  // Consumes the run's first `exits` from the event source and ends the run.
  void end_run(size_t exits);
  // After the run's last exit matched: the event after the run is looked at.
  [[gnu::noinline]] void end_run_and_plan();
  [[noreturn]] void diverge(const std::string& recorded, const std::string& replayed);
  // Throws Error(kBadInput) when the trace ends before the recording did.
  void throw_if_cut_short();

  // --verify hashes: after each report, `describe` tells what it was if it opens a window. The
  // reports come at every exit, so only the two comparisons are inline.
  template <typename Describe> void reported(Describe describe) {
    if (folded_.digest.reports() == window_.reports + 1 ||
        folded_.digest.reports() >= check_reports_) [[unlikely]]
      at_window_edge(describe);
  }
  template <typename Describe> [[gnu::noinline]] void at_window_edge(Describe describe) {
    if (folded_.digest.reports() == window_.reports + 1) window_.first = describe();
    if (folded_.digest.reports() >= check_reports_) reached_check();
    refresh_fold_limit();
  }
  // Tells the machine from which report on it must hand exits to on_exit (the first report of a
  // window, a check or a boundary's register hash) and from which poll on it must hand polls to
  // take_input (a logged input's, or a check's). Called whenever one of them moves.
  void refresh_fold_limit();
  // --verify hashes, where the machine folds most exits itself: the rest (a window's first, a
  // check's, all of an older format's).
  [[gnu::noinline]] bool on_hashed_exit(ExitReason reason, uint64_t rip, MaybeCount icount);
  // Every mode but --verify hashes: the recording's exit event must be this one. on_exit matches
  // an exit of a run itself; the others come here, and a mismatch's messages go to refuse_exit.
  [[gnu::noinline]] void expect_exit(const ExitEvent& replayed);
  [[noreturn, gnu::cold, gnu::noinline]] void refuse_exit(const Event* next,
                                                          const ExitEvent& replayed);
  // Anything but the common input poll (nothing logged for it, no check due): an event may be
  // due at this poll.
  [[gnu::noinline]] size_t take_logged_input(uint64_t poll, std::span<uint8_t> out);
  // Whenever the looked-at event changes: where the next check falls (--verify hashes), or the
  // poll of the looked-at input (every other mode, where the next event is looked at anyway).
  void plan();
  // Where the next check falls, from the looked-at event (a verification, or the trace's end).
  void plan_check();
  // The looked-at event's poll if it is a serial input (0: format 1's, taken at any poll), else
  // none: a poll before the next event is consumed takes nothing.
  void plan_input();
  // The first poll take_input must look at (the machine's and its own common case is every poll
  // before it): the looked-at input's, or the one that reaches a check.
  uint64_t first_poll_to_look_at() const;
  void reached_check();
  void check(const VerifyEvent& recorded, uint64_t state_hash);
  std::string digest_text(uint64_t reports, uint64_t hash, uint64_t icount) const;

  EventSource& events_;
  VerifyMode mode_;
  // The trace's major, which says which of ReportDigest's folds its digest used
  // (kExitFoldFormatMajor, kCurrentFoldsFormatMajor).
  uint16_t folds_format_;
  bool current_folds() const { return folds_format_ >= kCurrentFoldsFormatMajor; }
  // The current event (the last consumed) and the looked-at one, in two slots that trade places
  // as the replay advances: an event is decoded into its slot once and never copied.
  std::array<Event, 2> slots_;
  size_t current_slot_ = 0;
  bool looked_ahead_ = false; // the other slot holds the looked-at event
  // Per-event modes: the exits that come next in a row, compared where the trace keeps them
  // instead of each decoded into a slot (EventSource::exit_run). While one lasts, its exit
  // run_next_ is the looked-at event and no slot holds it; anything but a matching exit
  // (peek()) leaves the run with that exit decoded into its slot.
  ExitRun run_;
  size_t run_next_ = 0;
  bool exhausted_ = false; // events_ has no more
  uint64_t current_index_ =
      0; // trace index of the current event (or of the event expect() refused)
  // Read by the progress display's thread; written only by the vCPU thread.
  std::atomic<uint64_t> consumed_ = 0;
  // The position at which stop_requested() answers yes: stop_at_event's, or 0 once a stop was
  // requested.
  std::atomic<uint64_t> stop_position_ = UINT64_MAX;
  std::atomic<bool> user_stop_{false};

  // The input polls so far; under --verify hashes also the digest and the last exit's count.
  // There most exits and polls the machine handles itself, up to the next report and poll the
  // gate must see (refresh_fold_limit).
  FoldedReports folded_;
  // The last exit on_exit saw: a boundary's, whose registers are hashed (a divergence names it).
  uint64_t last_seen_rip_ = 0;
  // Planned with the looked-at event in every mode (plan()): the poll of the looked-at serial
  // input (0: look at every poll).
  uint64_t input_poll_ = 0;
  // --verify hashes:
  Window window_;
  // reached_check() runs once reports reach check_reports_ or polls reach check_polls_.
  uint64_t check_reports_ = UINT64_MAX;
  uint64_t check_polls_ = UINT64_MAX;
  // Planned with the checks: the report count at which the looked-at boundary check wants the
  // registers' hash.
  uint64_t boundary_reports_ = UINT64_MAX;
};

} // namespace rrvm
