// Guest-visible time. The only source is the gate's per-exit clock sample (docs/DESIGN.md, "the
// nondeterminism gate"): devices read now_ns() and never ask the host for the time, so a replay
// that feeds the same samples sees the same time everywhere.
#pragma once

#include <cstdint>

namespace rrvm {

class VirtualClock {
public:
  // Nanoseconds of guest time since the machine was created.
  uint64_t now_ns() const { return now_ns_; }

  // Called by the machine with each sample from the gate. Time never runs backwards: a sample
  // older than the current time (a misbehaving host clock) is ignored.
  void advance_to(uint64_t ns) {
    if (ns > now_ns_) now_ns_ = ns;
  }

  // Puts the clock back to a checkpoint's time (the only way it moves backwards).
  void reset(uint64_t ns) { now_ns_ = ns; }

private:
  uint64_t now_ns_ = 0;
};

// Something with a deadline: the machine wakes a halted guest or kicks a running one when the
// earliest deadline of all timers passes, then calls expire().
class TimerSource {
public:
  static constexpr uint64_t kNever = UINT64_MAX;
  virtual ~TimerSource() = default;
  // Guest time (ns) at which this device next needs expire(), or kNever.
  virtual uint64_t next_deadline_ns() const = 0;
  // Raise whatever interrupts are due at the clock's current time.
  virtual void expire() = 0;
};

} // namespace rrvm
