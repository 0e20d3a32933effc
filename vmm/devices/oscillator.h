// A device's crystal measured against guest time (the PIT's 1.193182 MHz input, the RTC's
// 32.768 kHz): how many whole ticks have elapsed at a guest nanosecond, and the first guest
// nanosecond by which a tick has elapsed, so deadlines round up and never fire early.
#pragma once

#include <cstdint>

#include "vmm/virtual_clock.h"

namespace rrvm {

constexpr uint64_t kNsPerSecond = 1'000'000'000;

template <uint64_t Hz> struct Oscillator {
  static constexpr uint64_t kHz = Hz;

  static uint64_t ticks_at(uint64_t ns) {
    return static_cast<uint64_t>(static_cast<unsigned __int128>(ns) * Hz / kNsPerSecond);
  }

  // TimerSource::kNever when the tick lies beyond the range of guest time.
  static uint64_t ns_at_tick(uint64_t tick) {
    const unsigned __int128 ns =
        (static_cast<unsigned __int128>(tick) * kNsPerSecond + Hz - 1) / Hz;
    return ns >= TimerSource::kNever ? TimerSource::kNever : static_cast<uint64_t>(ns);
  }
};

} // namespace rrvm
