// The adaptive and icount clocks' arithmetic (vmm/clock_line.h) and the live run's tie rule
// (vmm/clock_tie_policy.h), with host time given rather than read.
#include <gtest/gtest.h>

#include "vmm/clock_line.h"
#include "vmm/clock_tie_policy.h"

namespace rrvm {
namespace {

constexpr uint64_t kOne = ClockLine::kRateOne;

TEST(ClockLine, TimeIsExactAndTheDeadlineCountIsTheFirstToReachIt) {
  const ClockLine line{1000, 5000, kOne * 5 / 2}; // 2.5 ns per instruction from count 1000
  EXPECT_EQ(line.ns_at(0), 5000u);                // never before its base
  EXPECT_EQ(line.ns_at(1000), 5000u);
  EXPECT_EQ(line.ns_at(1001), 5002u); // floor(2.5)
  EXPECT_EQ(line.ns_at(1002), 5005u);
  EXPECT_EQ(line.icount_at(4000), 1000u);
  EXPECT_EQ(line.icount_at(5005), 1002u);
  EXPECT_EQ(line.icount_at(5006), 1003u);
  for (uint64_t ns = 5000; ns < 6000; ++ns) {
    const uint64_t count = line.icount_at(ns);
    EXPECT_GE(line.ns_at(count), ns);
    if (count > line.base_icount) {
      EXPECT_LT(line.ns_at(count - 1), ns);
    }
  }
}

TEST(ClockLine, LargeCountsDoNotOverflow) {
  const ClockLine line{0, 0, ClockLine::kMaxRate};
  const uint64_t count = uint64_t(1) << 40; // 10^12 instructions at 4 µs each
  EXPECT_EQ(line.ns_at(count), count * 4096);
  EXPECT_EQ(line.icount_at(count * 4096), count);
  EXPECT_EQ(ClockLine{}.icount_at(UINT64_MAX), UINT64_MAX);
}

TEST(ClockTiePolicy, AGuestInStepIsNeverTied) {
  ClockTiePolicy policy;
  for (uint64_t i = 1; i <= 1000; ++i) // 10 s at exactly the rate
    EXPECT_FALSE(policy.at_quantum(i * 10'000'000, i * 1'000'000, i * 10'000'000, kOne * 10));
}

TEST(ClockTiePolicy, ASlowGuestCatchesUpWithoutJumpingThenSettlesToItsSpeed) {
  ClockTiePolicy policy;
  // The host runs 20 ns per instruction; the clock says 10: guest time falls behind by 10 ms
  // every million instructions.
  uint64_t host = 0, guest = 0, count = 0, rate = kOne * 10;
  int ties = 0;
  for (int i = 0; i < 2000; ++i) {
    count += 100'000;
    host += 2'000'000;
    guest += 100'000 * rate / kOne;
    if (auto tie = policy.at_quantum(host, count, guest, rate)) {
      ++ties;
      EXPECT_EQ(tie->ns, guest); // continuous: no timer deadline is skipped
      rate = tie->rate;
    }
    if (i > 1000) {
      EXPECT_LE(host > guest ? host - guest : guest - host, 50'000'000u) << i;
    }
  }
  EXPECT_EQ(rate, kOne * 20); // settled to the measured speed
  EXPECT_LE(ties, 4);
}

TEST(ClockTiePolicy, ASlowStartJumpsAndIsNoPartOfTheSpeed) {
  ClockTiePolicy policy;
  const auto quick = policy.at_start(30'000'000, 0, 0, kOne * 6); // the host's phase, always
  ASSERT_TRUE(quick);
  EXPECT_EQ(quick->ns, 30'000'000u);
  ClockTiePolicy slow;
  const auto start = slow.at_start(2'000'000'000, 0, 0, kOne * 6);
  ASSERT_TRUE(start);
  EXPECT_EQ(start->ns, 2'000'000'000u);
  // 2 M instructions at 10 ns from there: behind by 80 ms, measured 10 ns, not (2 s + 20 ms) / 2 M.
  const auto tie = slow.at_quantum(2'020'000'000, 2'000'000, 1'940'000'000, kOne * 6);
  ASSERT_TRUE(tie);
  EXPECT_EQ(tie->rate, kOne * 10 * 108 / 100);
}

TEST(ClockTiePolicy, IdleWaitsAreNotRunningTime) {
  ClockTiePolicy policy;
  // 2 M instructions in 10 ms of running and 990 ms of waiting: 5 ns per instruction.
  policy.waited(990'000'000);
  const auto tie = policy.at_quantum(1'000'000'000, 2'000'000, 900'000'000, kOne * 5);
  ASSERT_TRUE(tie);
  // Behind by 100 ms: 10% faster than the measured 5 ns for the catch-up second.
  EXPECT_EQ(tie->rate, kOne * 5 * 11 / 10);
}

} // namespace
} // namespace rrvm
