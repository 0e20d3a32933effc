#include "vmm/devices/hpet.h"

#include <gtest/gtest.h>

#include "tests/devices/fake_irq_sink.h"

namespace rrvm {
namespace {

constexpr uint64_t kConfig = 0x010, kStatus = 0x020, kCounter = 0x0F0;
constexpr uint64_t timer_config(unsigned n) {
  return 0x100 + 0x20 * n;
}
constexpr uint64_t timer_comparator(unsigned n) {
  return 0x108 + 0x20 * n;
}
constexpr uint64_t kLevel = 1 << 1, kIntEnable = 1 << 2, kPeriodic = 1 << 3, kValSet = 1 << 6,
                   kMode32 = 1 << 8;
constexpr uint64_t route(unsigned irq) {
  return uint64_t{irq} << 9;
}

class HpetTest : public ::testing::Test {
protected:
  uint64_t rd(uint64_t reg) { return hpet.read(reg, 8); }
  void wr(uint64_t reg, uint64_t value) { hpet.write(reg, 8, value); }
  // Guest time at which the main counter reads `count`, given it was enabled at time zero.
  static uint64_t ns_at(uint64_t count) { return count * Hpet::kNsPerTick; }
  void run_to(uint64_t ns) {
    clock.advance_to(ns);
    hpet.expire();
  }

  VirtualClock clock;
  testing::FakeIrqSink pic;
  Hpet hpet{clock, pic};
};

TEST_F(HpetTest, CapabilitiesIn64And32BitReads) {
  EXPECT_EQ(rd(0), 0x00989680'8086A201u);
  EXPECT_EQ(hpet.read(0, 4), 0x8086A201u);
  EXPECT_EQ(hpet.read(4, 4), 10'000'000u);
  EXPECT_EQ(hpet.read(timer_config(2) + 4, 4), Hpet::kRouteCapability);
  EXPECT_EQ(rd(timer_config(0)) & 0x30, 0x30u) << "periodic and 64-bit capable";
  EXPECT_EQ(rd(timer_comparator(1)), ~uint64_t{0});
}

TEST_F(HpetTest, MainCounterRunsOnlyWhileEnabled) {
  clock.advance_to(1000);
  EXPECT_EQ(rd(kCounter), 0u);
  wr(kConfig, 1);
  clock.advance_to(2000);
  EXPECT_EQ(rd(kCounter), 100u);
  wr(kCounter, 5); // ignored while running
  EXPECT_EQ(rd(kCounter), 100u);
  wr(kConfig, 0);
  clock.advance_to(9000);
  EXPECT_EQ(rd(kCounter), 100u);
  hpet.write(kCounter + 4, 4, 0x1);
  hpet.write(kCounter, 4, 0x2);
  EXPECT_EQ(rd(kCounter), 0x1'00000002u);
  EXPECT_EQ(hpet.read(kCounter + 4, 4), 1u);
  wr(kConfig, 1);
  clock.advance_to(9050);
  EXPECT_EQ(rd(kCounter), 0x1'00000007u);
}

TEST_F(HpetTest, OneShotFiresOnceAtTheExactTime) {
  wr(timer_config(2), kIntEnable | route(9));
  wr(timer_comparator(2), 500);
  EXPECT_EQ(hpet.next_deadline_ns(), TimerSource::kNever) << "halted";
  clock.advance_to(30);
  wr(kConfig, 1); // counter 0 at tick 3
  EXPECT_EQ(hpet.next_deadline_ns(), 30 + ns_at(500));
  run_to(30 + ns_at(500) - 1);
  EXPECT_EQ(pic.rising_edges[9], 0u);
  run_to(30 + ns_at(500));
  EXPECT_EQ(pic.rising_edges[9], 1u);
  EXPECT_FALSE(pic.levels[9]);
  EXPECT_EQ(hpet.next_deadline_ns(), TimerSource::kNever);
  run_to(ns_at(100000));
  EXPECT_EQ(pic.rising_edges[9], 1u);
}

TEST_F(HpetTest, PeriodicWithValSetAccumulates) {
  wr(kConfig, 1);
  wr(timer_config(1), kIntEnable | kPeriodic | kValSet | route(10));
  wr(timer_comparator(1), 1000);
  wr(timer_comparator(1), 1000);
  EXPECT_EQ(rd(timer_config(1)) & kValSet, 0u);
  for (unsigned k = 1; k <= 5; ++k) {
    EXPECT_EQ(hpet.next_deadline_ns(), ns_at(1000 * k));
    run_to(ns_at(1000 * k));
    EXPECT_EQ(pic.rising_edges[10], k);
    EXPECT_EQ(rd(timer_comparator(1)), 1000u * (k + 1));
  }
  run_to(ns_at(15'500)); // a slow guest: one interrupt, next one in the future
  EXPECT_EQ(pic.rising_edges[10], 6u);
  EXPECT_EQ(hpet.next_deadline_ns(), ns_at(16'000));
  wr(timer_comparator(1), 250); // without VAL_SET: only the period changes
  run_to(ns_at(16'000));
  EXPECT_EQ(rd(timer_comparator(1)), 16'250u);
}

TEST_F(HpetTest, Linux32BitPeriodicProgrammingWithDwordAccesses) {
  wr(kConfig, 3); // enabled, legacy replacement
  clock.advance_to(ns_at(1234));
  hpet.write(timer_config(0), 4, kIntEnable | kPeriodic | kValSet | kMode32);
  const auto now = static_cast<uint32_t>(hpet.read(kCounter, 4));
  hpet.write(timer_comparator(0), 4, now + 100'000);
  hpet.write(timer_comparator(0), 4, 100'000);
  EXPECT_EQ(hpet.next_deadline_ns(), ns_at(1234 + 100'000));
  run_to(ns_at(1234 + 100'000));
  run_to(ns_at(1234 + 200'000));
  EXPECT_EQ(pic.rising_edges[0], 2u);
  EXPECT_EQ(hpet.read(timer_comparator(0) + 4, 4), 0u);
}

TEST_F(HpetTest, ThirtyTwoBitComparatorMatchesAfterTheLowHalfWraps) {
  wr(kCounter, 0xFFFF'FF00);
  wr(timer_config(0), kIntEnable | kMode32 | route(5));
  wr(timer_comparator(0), 0x1'0000'0010); // truncated to 0x10
  EXPECT_EQ(rd(timer_comparator(0)), 0x10u);
  wr(kConfig, 1);
  EXPECT_EQ(hpet.next_deadline_ns(), ns_at(0x110));
  run_to(ns_at(0x110));
  EXPECT_EQ(pic.rising_edges[5], 1u);
}

TEST_F(HpetTest, LevelInterruptHeldUntilStatusCleared) {
  wr(kConfig, 1);
  wr(timer_config(2), kLevel | route(11)); // interrupt not enabled yet
  wr(timer_comparator(2), 10);
  run_to(ns_at(10));
  EXPECT_EQ(rd(kStatus), 0x4u) << "status is set even with the interrupt disabled";
  EXPECT_FALSE(pic.levels[11]);
  wr(timer_config(2), kLevel | kIntEnable | route(11));
  EXPECT_TRUE(pic.levels[11]);
  hpet.write(kStatus, 4, 0x3); // other bits: no effect
  EXPECT_TRUE(pic.levels[11]);
  hpet.write(kStatus, 4, 0x4);
  EXPECT_FALSE(pic.levels[11]);
  EXPECT_EQ(rd(kStatus), 0u);
}

TEST_F(HpetTest, RouteOutsideTheCapabilityDeliversNothing) {
  wr(kConfig, 1);
  wr(timer_config(2), kIntEnable | route(4));
  wr(timer_comparator(2), 10);
  run_to(ns_at(10));
  for (unsigned irq = 0; irq < 16; ++irq)
    EXPECT_EQ(pic.rising_edges[irq], 0u) << irq;
}

TEST_F(HpetTest, LegacyReplacementTakesIrq0And8FromPitAndRtc) {
  IrqSink& legacy = hpet.legacy_irq_filter();
  legacy.pulse_irq(0);
  legacy.set_irq(8, true);
  legacy.pulse_irq(4);
  EXPECT_EQ(pic.rising_edges[0], 1u);
  EXPECT_TRUE(pic.levels[8]);

  wr(kConfig, 2); // LEG_RT alone: routing changes only when enabled too
  legacy.pulse_irq(0);
  EXPECT_EQ(pic.rising_edges[0], 2u);

  wr(kConfig, 3);
  EXPECT_FALSE(pic.levels[8]) << "the RTC's held line is withdrawn";
  legacy.pulse_irq(0);
  legacy.set_irq(8, false);
  legacy.set_irq(8, true);
  legacy.pulse_irq(4);
  EXPECT_EQ(pic.rising_edges[0], 2u);
  EXPECT_EQ(pic.rising_edges[8], 1u);
  EXPECT_EQ(pic.rising_edges[4], 2u);

  wr(timer_config(0), kIntEnable | route(9));
  wr(timer_config(1), kIntEnable | route(9));
  wr(timer_comparator(0), 100);
  wr(timer_comparator(1), 200);
  run_to(ns_at(100));
  EXPECT_EQ(pic.rising_edges[0], 3u);
  run_to(ns_at(200));
  EXPECT_EQ(pic.rising_edges[8], 2u);
  EXPECT_EQ(pic.rising_edges[9], 0u);

  wr(kConfig, 1);
  EXPECT_TRUE(pic.levels[8]) << "the RTC's line is back";
  legacy.pulse_irq(0);
  EXPECT_EQ(pic.rising_edges[0], 4u);
}

TEST_F(HpetTest, SaveRestoreRoundTrip) {
  wr(kConfig, 3);
  wr(timer_config(0), kIntEnable | kPeriodic | kValSet);
  wr(timer_comparator(0), 300);
  wr(timer_comparator(0), 300);
  wr(timer_config(2), kLevel | kIntEnable | route(11));
  wr(timer_comparator(2), 400);
  hpet.legacy_irq_filter().set_irq(8, true);
  run_to(ns_at(450));

  StateWriter state;
  hpet.save(state);
  testing::FakeIrqSink fresh_pic;
  Hpet fresh(clock, fresh_pic);
  StateReader reader(state.bytes());
  fresh.restore(reader);
  EXPECT_TRUE(reader.at_end());

  EXPECT_EQ(fresh.next_deadline_ns(), hpet.next_deadline_ns());
  for (uint64_t reg : {kConfig, kStatus, kCounter, timer_config(0), timer_comparator(0),
                       timer_config(2), timer_comparator(2)})
    EXPECT_EQ(fresh.read(reg, 8), hpet.read(reg, 8)) << reg;
  clock.advance_to(ns_at(600));
  fresh.expire();
  hpet.expire();
  EXPECT_EQ(fresh_pic.rising_edges[0], 1u);
  EXPECT_EQ(pic.rising_edges[0], 2u);
  fresh.write(kStatus, 8, 0x4);
  EXPECT_EQ(fresh_pic.events.back().irq, 11u) << "restored device knows it holds IRQ 11";
  EXPECT_FALSE(fresh_pic.events.back().level);
  fresh.write(kConfig, 8, 1);
  EXPECT_TRUE(fresh_pic.levels[8]) << "restored filter remembers the RTC line";
}

} // namespace
} // namespace rrvm
