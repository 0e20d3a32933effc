// The gate in replay mode: every answer comes from the trace, and everything the machine does is
// checked against what the recording did. The first difference throws Error(kDivergence) with
// the event index and both sides.
#pragma once

#include <atomic>
#include <optional>

#include "replay/event_source.h"
#include "vmm/gate.h"

namespace rrvm {

class ReplayGate : public Gate {
public:
  // `register_hashes`: the recording logged a register hash at every exit (--verify full).
  ReplayGate(EventSource& events, bool register_hashes)
      : events_(events), register_hashes_(register_hashes) {}

  uint64_t sample_clock() override;
  // The recording's tie at this point and instruction count, if it has one next.
  std::optional<ClockTie> clock_tie(ClockTiePoint where, uint64_t icount, uint64_t guest_ns,
                                    uint64_t rate) override;
  // Idle fast-forward: the next clock sample, the next wake tie or the deadline is the wake-up.
  void wait_idle(uint64_t) override {}
  size_t take_input(std::span<uint8_t> out) override;
  // The recording went on after a halt with nothing armed only if input woke the guest.
  bool input_possible() override { return peek() != nullptr; }
  uint64_t host_deadline(uint64_t) const override { return 0; }

  void on_exit(ExitReason reason, uint64_t rip, std::optional<uint64_t> icount) override;
  void on_port_read(uint16_t port, uint8_t size, uint32_t value) override;
  void on_mmio_read(uint64_t gpa, uint8_t size, uint64_t value) override;
  void on_msr_read(uint32_t index, uint64_t value) override;
  void on_injection(uint8_t vector, uint64_t exit_index, std::optional<uint64_t> icount) override;
  void on_guest_exit(int status) override;
  bool tracks_kicks() const override { return true; }
  bool wants_register_hashes() const override { return register_hashes_; }
  void on_register_hash(uint64_t hash) override;
  void on_kick(const KickPoint& kick) override;
  std::optional<KickPoint> next_kick() override;

  // Events consumed so far.
  uint64_t position() const { return consumed_.load(std::memory_order_relaxed); }
  // Continue from event `index` (a checkpoint's position). Throws Error(kBadInput) when the trace
  // cannot be read there.
  void seek(uint64_t index);

  // For the debugger's `monitor goto EVENT`: the machine stops (Machine::run returns kStopped)
  // after the first exit at which `index` events have been consumed; nullopt: no such stop.
  void stop_at_event(std::optional<uint64_t> index) { stop_at_event_ = index; }
  bool stop_requested() const override {
    return user_stop_.load() || (stop_at_event_ && position() >= *stop_at_event_);
  }
  // Ends the replay at the next exit (a stop signal). Callable from any thread.
  void request_stop() { user_stop_ = true; }

private:
  // The next event, which must be of kind `kind`; `what` describes what the machine did.
  const Event& expect(EventKind kind, const std::string& what);
  const Event* peek();
  [[noreturn]] void diverge(const std::string& recorded, const std::string& replayed);

  EventSource& events_;
  bool register_hashes_;
  std::optional<Event> lookahead_;
  Event current_;
  uint64_t current_index_ = 0; // trace index of current_ (or of the event expect() refused)
  // Read by the progress display's thread; written only by the vCPU thread.
  std::atomic<uint64_t> consumed_ = 0;
  std::optional<uint64_t> stop_at_event_;
  std::atomic<bool> user_stop_{false};
};

} // namespace rrvm
