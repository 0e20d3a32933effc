// When a live run ties the adaptive clock (emu's --clock host) to host time: the decision the
// trace logs, so a replay never makes it. Guest time runs at a rate of guest ns per instruction;
// the policy keeps it within kDriftLimitNs of host time with as few ties as it can:
// - while the drift stays within the limit, nothing (the usual answer);
// - beyond it, a catch-up tie: the rate becomes the measured speed (host ns per instruction
//   since the last tie, idle waits left out) scaled so the drift closes over kCatchUpNs of host
//   time, continuously (guest time never jumps while the guest runs, so no timer deadline is
//   skipped);
// - kCatchUpNs later, a settling tie: the rate becomes the measured speed, or, when the drift is
//   still beyond the limit (the speed changed meanwhile), the next catch-up.
// A busy guest at a steady speed therefore costs two ties per drift episode; an idling guest is
// kept in step by the idle waits themselves (a live run waits for the host time of the deadline).
// Host time comes in as an argument, so the policy is a pure function of its inputs.
#pragma once

#include <cstdint>
#include <optional>

#include "vmm/gate.h"

namespace rrvm {

class ClockTiePolicy {
public:
  static constexpr uint64_t kDriftLimitNs = 50'000'000;
  static constexpr uint64_t kCatchUpNs = 1'000'000'000;
  // A window since the last tie with fewer instructions and less running host time than these
  // measures no speed (the rate stays): an exit-heavy guest runs 100 000 instructions in 100 ms.
  static constexpr uint64_t kMinMeasuredInstructions = 1'000'000;
  static constexpr uint64_t kMinMeasuredNs = 10'000'000;

  // When the guest starts: guest time jumps to host time (nothing has seen the time yet), and
  // the speed is measured from here. Always a tie, one event per trace: the start's phase
  // against the timers' input clocks is the host's, so runs of a racy guest differ as on a real
  // machine (without it every run would take each timer interrupt at the same instruction, and
  // `--until-fail` could never catch a race), while each recording still replays exactly.
  std::optional<ClockTie> at_start(uint64_t host_ns, uint64_t icount, uint64_t guest_ns,
                                   uint64_t rate);
  // At an instruction-quantum boundary: `host_ns` and `guest_ns` since the machine started.
  std::optional<ClockTie> at_quantum(uint64_t host_ns, uint64_t icount, uint64_t guest_ns,
                                     uint64_t rate);
  // The host time an idle wait took: not running time, so no part of the measured speed.
  void waited(uint64_t host_ns) { waited_ns_ += host_ns; }

private:
  // Host ns per instruction since the last tie (ClockLine fixed point), or `rate` when too few
  // instructions ran to tell.
  uint64_t measured_rate(uint64_t host_ns, uint64_t icount, uint64_t rate) const;
  ClockTie tie(uint64_t host_ns, uint64_t icount, uint64_t guest_ns, uint64_t rate);

  uint64_t tie_host_ns_ = 0;
  uint64_t tie_icount_ = 0;
  uint64_t waited_ns_ = 0;
  std::optional<uint64_t> catch_up_until_ns_; // host time the current catch-up ends
};

} // namespace rrvm
