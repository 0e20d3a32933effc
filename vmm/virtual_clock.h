// Guest-visible time. Devices read now_ns() and never ask the host for the time. Its source is
// the clock mode: in kHost mode the gate's per-exit clock sample (docs/DESIGN.md, "the
// nondeterminism gate"), so a replay that feeds the same samples sees the same time everywhere;
// in kIcount mode (emu only) the retired-instruction count at a fixed rate plus the idle time
// fast-forwarded over HLTs, so the time is a function of the guest alone and the gate is never
// asked.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace rrvm {

enum class ClockMode : uint8_t {
  kHost,   // guest time follows host time (sampled at every exit)
  kIcount, // guest time = retired instructions × kIcountNsPerInstruction + idle fast-forward
};

// --clock icount: one retired instruction is one guest nanosecond, so the TSC (one tick per
// guest nanosecond in every mode) runs at 1 GHz and counts instructions, and a 1 ms timer fires
// every million instructions. CPUID leaves 0x15/0x16 advertise this rate.
constexpr uint64_t kIcountNsPerInstruction = 1;
constexpr uint64_t kIcountTscHz = 1'000'000'000 / kIcountNsPerInstruction;

// The names the command line and the trace header use.
inline const char* clock_mode_name(ClockMode mode) {
  return mode == ClockMode::kIcount ? "icount" : "host";
}

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

inline std::optional<ClockMode> parse_clock_mode(const std::string& name) {
  if (name == "host") return ClockMode::kHost;
  if (name == "icount") return ClockMode::kIcount;
  return std::nullopt;
}

} // namespace rrvm
