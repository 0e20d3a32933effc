// Guest time as a function of the retired-instruction count, for the clocks of an
// instruction-counting engine (--clock icount and adaptive): a line through (base_icount,
// base_ns) with a slope of `rate` guest ns per instruction. The machine moves the line only at
// deterministic points (idle fast-forward) and at the gate's ties, so a replay that applies the
// same ties computes the same time everywhere: devices, timer deadlines and RDTSC alike. The
// arithmetic is exact in integers (128-bit products), so record and replay never differ by a
// rounding.
#pragma once

#include <algorithm>
#include <cstdint>

namespace rrvm {

struct ClockLine {
  // `rate` is fixed point: kRateOne is one guest ns per instruction.
  static constexpr unsigned kRateShift = 16;
  static constexpr uint64_t kRateOne = uint64_t(1) << kRateShift;
  // Slopes a tie may set: 1/64 ns (64 G instructions per guest second) to 4 µs per instruction.
  static constexpr uint64_t kMinRate = kRateOne / 64;
  static constexpr uint64_t kMaxRate = kRateOne * 4096;

  uint64_t base_icount = 0;
  uint64_t base_ns = 0;
  uint64_t rate = kRateOne;

  static uint64_t clamp_rate(uint64_t r) { return std::clamp(r, kMinRate, kMaxRate); }

  // Guest time when `icount` instructions have retired (the line never goes back before its
  // base).
  uint64_t ns_at(uint64_t icount) const {
    if (icount <= base_icount) return base_ns;
    const unsigned __int128 delta = (unsigned __int128)(icount - base_icount) * rate;
    return base_ns + uint64_t(delta >> kRateShift);
  }

  // The first instruction count whose time reaches `ns` (the base's count for a time already
  // reached).
  uint64_t icount_at(uint64_t ns) const {
    if (ns <= base_ns) return base_icount;
    const unsigned __int128 scaled = (unsigned __int128)(ns - base_ns) << kRateShift;
    const unsigned __int128 count = (scaled + rate - 1) / rate;
    const unsigned __int128 limit = UINT64_MAX - base_icount;
    return base_icount + uint64_t(count < limit ? count : limit);
  }
};

} // namespace rrvm
