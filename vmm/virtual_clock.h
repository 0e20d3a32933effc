// Guest-visible time. Devices read now_ns() and never ask the host for the time. Its source is
// the clock mode: in kHost mode the gate's per-exit clock sample (docs/DESIGN.md, "the
// nondeterminism gate"), so a replay that feeds the same samples sees the same time everywhere;
// on an instruction-counting engine (emu) a ClockLine (vmm/clock_line.h) of the retired-instruction
// count: at a fixed rate plus the idle time fast-forwarded over HLTs (kIcount), so the time is a
// function of the guest alone, or with a rate the gate re-ties to host time now and then
// (kAdaptive), so the gate is asked rarely and only its ties are logged.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "vmm/clock_line.h"

namespace rrvm {

enum class ClockMode : uint8_t {
  kHost,     // guest time follows host time, sampled at every exit (kvm; emu traces of format 1.1)
  kIcount,   // guest time = retired instructions × kIcountRate + idle fast-forward
  kAdaptive, // emu's --clock host: instructions × a rate the gate re-ties to host time + idle
};

// The TSC ticks once per guest nanosecond in every mode; on emu (kIcount, kAdaptive) RDTSC reads
// the same clock as the devices, so CPUID leaves 0x15/0x16 advertise this frequency.
constexpr uint64_t kGuestTscHz = 1'000'000'000;

// --clock icount: one retired instruction is one guest nanosecond, so the TSC counts
// instructions and a 1 ms timer fires every million instructions.
constexpr uint64_t kIcountRate = ClockLine::kRateOne;

// The adaptive clock's rate until its first tie: about emu's speed on a current host (6 ns per
// instruction), so a short run seldom needs a tie at all.
constexpr uint64_t kAdaptiveStartRate = ClockLine::kRateOne * 6;

// The names the command line (host, icount) and the trace header (all three) use.
inline const char* clock_mode_name(ClockMode mode) {
  switch (mode) {
  case ClockMode::kIcount:
    return "icount";
  case ClockMode::kAdaptive:
    return "adaptive";
  case ClockMode::kHost:
    break;
  }
  return "host";
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
  // Guest time (ns) at which this device next needs expire(), or kNever. A function of the
  // device's state alone (not of the clock): PcPlatform keeps it until the guest accesses the
  // device, it expires or it is restored.
  virtual uint64_t next_deadline_ns() const = 0;
  // Raise whatever interrupts are due at the clock's current time.
  virtual void expire() = 0;
};

inline std::optional<ClockMode> parse_clock_mode(const std::string& name) {
  if (name == "host") return ClockMode::kHost;
  if (name == "icount") return ClockMode::kIcount;
  if (name == "adaptive") return ClockMode::kAdaptive;
  return std::nullopt;
}

} // namespace rrvm
