#include "vmm/devices/pit_8254.h"

#include <gtest/gtest.h>

#include "tests/devices/fake_irq_sink.h"
#include "vmm/devices/port_61.h"

namespace rrvm {
namespace {

constexpr unsigned kControl = 3;

class Pit8254Test : public ::testing::Test {
protected:
  void out(unsigned port, uint8_t value) { pit.write(port, 1, value); }
  uint8_t in(unsigned port) { return static_cast<uint8_t>(pit.read(port, 1)); }
  uint16_t read_lohi(unsigned channel) {
    const uint8_t lo = in(channel);
    return static_cast<uint16_t>(lo | in(channel) << 8);
  }
  void program(unsigned channel, uint8_t mode_bits, uint16_t count) {
    out(kControl, static_cast<uint8_t>(channel << 6 | 0x30 | mode_bits));
    out(channel, static_cast<uint8_t>(count));
    out(channel, static_cast<uint8_t>(count >> 8));
  }
  void at_tick(uint64_t tick) { clock.advance_to(Pit8254::Input::ns_at_tick(tick)); }
  unsigned irq0_edges() const { return irqs.rising_edges[0]; }

  VirtualClock clock;
  testing::FakeIrqSink irqs;
  Pit8254 pit{clock, irqs};
};

TEST(Pit8254Time, TickConversionIsExact) {
  EXPECT_EQ(Pit8254::Input::ticks_at(1'000'000'000), 1193182u);
  EXPECT_EQ(Pit8254::Input::ns_at_tick(1193), 999848u); // ceil(1193e9 / 1193182)
  EXPECT_EQ(Pit8254::Input::ticks_at(999848), 1193u);
  EXPECT_EQ(Pit8254::Input::ticks_at(999847), 1192u);
  // Far in the future the arithmetic still holds (no 64-bit overflow).
  const uint64_t year_ns = 365ull * 86400 * 1'000'000'000;
  EXPECT_EQ(Pit8254::Input::ticks_at(100 * year_ns), 100ull * 365 * 86400 * 1193182);
}

TEST_F(Pit8254Test, Mode2RateGeneratorTicksEveryMillisecond) {
  EXPECT_EQ(pit.next_deadline_ns(), TimerSource::kNever);
  program(0, 0x04, 1193);
  for (uint64_t period = 1; period <= 10; ++period) {
    const uint64_t deadline = Pit8254::Input::ns_at_tick(1193 * period);
    EXPECT_EQ(pit.next_deadline_ns(), deadline);
    clock.advance_to(deadline - 1);
    pit.expire();
    EXPECT_EQ(irq0_edges(), period - 1);
    clock.advance_to(deadline);
    pit.expire();
    EXPECT_EQ(irq0_edges(), period);
  }
}

TEST_F(Pit8254Test, SlowGuestGetsOneEdgeNotAStorm) {
  program(0, 0x04, 1193);
  at_tick(1193 * 100 + 7);
  pit.expire();
  EXPECT_EQ(irq0_edges(), 1u);
  EXPECT_EQ(pit.next_deadline_ns(), Pit8254::Input::ns_at_tick(1193 * 101));
  pit.expire();
  EXPECT_EQ(irq0_edges(), 1u);
}

TEST_F(Pit8254Test, ProgrammingLaterCountsFromTheWrite) {
  clock.advance_to(5000); // tick 5
  program(0, 0x04, 100);
  EXPECT_EQ(pit.next_deadline_ns(), Pit8254::Input::ns_at_tick(105));
}

TEST_F(Pit8254Test, CounterLatchFreezesTheReadValue) {
  program(0, 0x04, 1193);
  at_tick(200);
  EXPECT_EQ(read_lohi(0), 1193 - 200);
  out(kControl, 0x00); // latch channel 0
  at_tick(1193 + 300);
  out(kControl, 0x00); // ignored: a latch is pending
  EXPECT_EQ(read_lohi(0), 1193 - 200);
  EXPECT_EQ(read_lohi(0), 1193 - 300);
}

TEST_F(Pit8254Test, Mode0IsOneShotAndWrapsAfterwards) {
  program(0, 0x00, 100);
  at_tick(50);
  out(kControl, 0xE2); // read-back status of channel 0
  EXPECT_EQ(in(0), 0x30) << "OUT low, count loaded, lohi, mode 0";
  at_tick(100);
  pit.expire();
  EXPECT_EQ(irq0_edges(), 1u);
  EXPECT_EQ(pit.next_deadline_ns(), TimerSource::kNever);
  at_tick(150);
  pit.expire();
  EXPECT_EQ(irq0_edges(), 1u);
  EXPECT_EQ(read_lohi(0), 65536 + 100 - 150);
}

TEST_F(Pit8254Test, CountZeroMeans65536) {
  program(0, 0x04, 0);
  EXPECT_EQ(pit.next_deadline_ns(), Pit8254::Input::ns_at_tick(65536));
  at_tick(1);
  EXPECT_EQ(read_lohi(0), 65535);
}

TEST_F(Pit8254Test, Mode3SquareWaveOnChannel2ThroughPort61) {
  SystemControlPort port61(pit);
  program(2, 0x06, 100);
  EXPECT_EQ(port61.read(0, 1) & 0x20, 0x20u) << "gate low: OUT high";
  port61.write(0, 1, 0x01);
  EXPECT_EQ(port61.read(0, 1) & 0x0F, 0x01u);
  const uint64_t start = pit.ticks_now();
  const auto out2_at = [&](uint64_t d) {
    at_tick(start + d);
    return (port61.read(0, 1) & 0x20) != 0;
  };
  EXPECT_TRUE(out2_at(0));
  EXPECT_TRUE(out2_at(49));
  EXPECT_FALSE(out2_at(50));
  EXPECT_EQ(read_lohi(2), 100);
  EXPECT_FALSE(out2_at(99));
  EXPECT_TRUE(out2_at(100));
  EXPECT_EQ(read_lohi(2), 100);
  at_tick(start + 110);
  EXPECT_EQ(read_lohi(2), 80);
  EXPECT_EQ(irq0_edges(), 0u);
}

TEST_F(Pit8254Test, Channel2Mode0PausesWhileGateIsLow) {
  SystemControlPort port61(pit);
  program(2, 0x00, 1000);
  at_tick(500);
  EXPECT_EQ(read_lohi(2), 1000) << "gate low since the load: not counting";
  port61.write(0, 1, 0x01);
  at_tick(800);
  EXPECT_EQ(read_lohi(2), 700);
  port61.write(0, 1, 0x00);
  at_tick(5000);
  EXPECT_EQ(read_lohi(2), 700);
  port61.write(0, 1, 0x01);
  at_tick(5700);
  EXPECT_EQ(port61.read(0, 1) & 0x20, 0x20u) << "terminal count reached: OUT2 high";
  EXPECT_EQ(read_lohi(2), 0);
}

TEST_F(Pit8254Test, Mode1And5WaitForAGateTrigger) {
  SystemControlPort port61(pit);
  program(2, 0x02, 10); // mode 1
  at_tick(100);
  EXPECT_TRUE(pit.channel2_output());
  port61.write(0, 1, 0x01);
  at_tick(105);
  EXPECT_FALSE(pit.channel2_output());
  at_tick(110);
  EXPECT_TRUE(pit.channel2_output());
  port61.write(0, 1, 0x00);
  program(2, 0x0A, 10); // mode 5
  port61.write(0, 1, 0x01);
  const uint64_t start = pit.ticks_now();
  at_tick(start + 10);
  EXPECT_FALSE(pit.channel2_output()) << "one-tick strobe";
  at_tick(start + 11);
  EXPECT_TRUE(pit.channel2_output());
}

TEST_F(Pit8254Test, Mode4StrobeRaisesIrqAfterTerminalCount) {
  program(0, 0x08, 10);
  EXPECT_EQ(pit.next_deadline_ns(), Pit8254::Input::ns_at_tick(11));
  at_tick(11);
  pit.expire();
  EXPECT_EQ(irq0_edges(), 1u);
  EXPECT_EQ(pit.next_deadline_ns(), TimerSource::kNever);
}

TEST_F(Pit8254Test, ReadBackLatchesStatusThenCount) {
  out(kControl, 0x34);
  out(kControl, 0xE2);
  EXPECT_EQ(in(0), 0xF4) << "OUT high, null count, lohi, mode 2";
  out(0, 0xE8);
  out(0, 0x03); // 1000
  at_tick(10);
  out(kControl, 0xC2); // latch count and status
  at_tick(20);
  EXPECT_EQ(in(0), 0xB4);
  EXPECT_EQ(read_lohi(0), 990);
  EXPECT_EQ(read_lohi(0), 980);
}

TEST_F(Pit8254Test, ReadBackCanSelectSeveralChannels) {
  program(1, 0x04, 300);
  program(2, 0x04, 400);
  out(kControl, 0xDC); // count of channels 1 and 2 (not 0)
  at_tick(5);
  EXPECT_EQ(read_lohi(1), 300);
  EXPECT_EQ(read_lohi(2), 400);
  EXPECT_EQ(read_lohi(1), 295);
}

TEST_F(Pit8254Test, LsbOnlyAndMsbOnlyAccess) {
  out(kControl, 0x54); // channel 1, LSB only, mode 2
  out(1, 50);
  at_tick(10);
  EXPECT_EQ(in(1), 40);
  EXPECT_EQ(in(1), 40);
  out(kControl, 0x64); // channel 1, MSB only, mode 2
  out(1, 0x02);        // 512
  at_tick(12);
  EXPECT_EQ(in(1), 0x01); // 510 = 0x1FE
}

TEST_F(Pit8254Test, BcdCounting) {
  out(kControl, 0x35); // channel 0, lohi, mode 2, BCD
  out(0, 0x00);
  out(0, 0x10); // 1000 decimal
  at_tick(1);
  EXPECT_EQ(read_lohi(0), 0x0999);
  at_tick(1000);
  pit.expire();
  EXPECT_EQ(irq0_edges(), 1u);
  out(kControl, 0x31); // mode 0, BCD, count 0 = 10000
  out(0, 0);
  out(0, 0);
  at_tick(1000 + 1);
  EXPECT_EQ(read_lohi(0), 0x9999);
}

TEST_F(Pit8254Test, RefreshBitTogglesWithTime) {
  SystemControlPort port61(pit);
  at_tick(0);
  EXPECT_EQ(port61.read(0, 1) & 0x10, 0u);
  at_tick(18);
  EXPECT_EQ(port61.read(0, 1) & 0x10, 0x10u);
  at_tick(36);
  EXPECT_EQ(port61.read(0, 1) & 0x10, 0u);
}

TEST_F(Pit8254Test, SaveRestoreRoundTrip) {
  SystemControlPort port61(pit);
  port61.write(0, 1, 0x03);
  program(0, 0x04, 1193);
  program(2, 0x06, 1000);
  out(kControl, 0x70); // channel 1 lohi mode 0, half-written
  out(1, 0x34);
  at_tick(2000);
  pit.expire();
  out(kControl, 0x80); // latch channel 2
  at_tick(2100);

  StateWriter state;
  pit.save(state);
  port61.save(state);
  testing::FakeIrqSink fresh_irqs;
  Pit8254 fresh(clock, fresh_irqs);
  SystemControlPort fresh61(fresh);
  StateReader reader(state.bytes());
  fresh.restore(reader);
  fresh61.restore(reader);
  EXPECT_TRUE(reader.at_end());

  const auto rd = [](Pit8254& p, unsigned ch) {
    const auto lo = p.read(ch, 1);
    return lo | p.read(ch, 1) << 8;
  };
  EXPECT_EQ(fresh.next_deadline_ns(), pit.next_deadline_ns());
  EXPECT_EQ(fresh61.read(0, 1), port61.read(0, 1));
  EXPECT_EQ(rd(fresh, 2), rd(pit, 2));
  EXPECT_EQ(rd(fresh, 0), rd(pit, 0));
  fresh.write(1, 1, 0x12);
  pit.write(1, 1, 0x12);
  at_tick(2100 + 0x1234);
  EXPECT_EQ(rd(fresh, 1), rd(pit, 1));
  EXPECT_EQ(fresh.channel2_output(), pit.channel2_output());
  fresh.expire();
  pit.expire();
  EXPECT_EQ(fresh_irqs.rising_edges[0], 1u);
  EXPECT_EQ(irqs.rising_edges[0], 2u);
  EXPECT_EQ(fresh.next_deadline_ns(), pit.next_deadline_ns());
}

} // namespace
} // namespace rrvm
