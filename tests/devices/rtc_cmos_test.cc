#include "vmm/devices/rtc_cmos.h"

#include <gtest/gtest.h>

#include "tests/devices/fake_irq_sink.h"

namespace rrvm {
namespace {

constexpr int64_t kLeapDayEvening = 1709251198; // 2024-02-29 23:59:58 UTC, a Thursday
constexpr uint64_t kSecond = 1'000'000'000;
constexpr uint64_t kMiB = 1 << 20;

class RtcCmosTest : public ::testing::Test {
protected:
  uint8_t cmos(uint8_t index) {
    rtc.write(0, 1, index);
    return static_cast<uint8_t>(rtc.read(1, 1));
  }
  void set_cmos(uint8_t index, uint8_t value) {
    rtc.write(0, 1, index);
    rtc.write(1, 1, value);
  }
  std::array<uint8_t, 8> time_registers() {
    return {cmos(0x00), cmos(0x02), cmos(0x04), cmos(0x06),
            cmos(0x07), cmos(0x08), cmos(0x09), cmos(0x32)};
  }
  bool irq8() const { return irqs.levels[8]; }

  VirtualClock clock;
  testing::FakeIrqSink irqs;
  RtcCmos rtc{clock, irqs, kLeapDayEvening, 128 * kMiB};
};

using Regs = std::array<uint8_t, 8>; // sec, min, hour, weekday, day, month, year, century

TEST_F(RtcCmosTest, BcdTimeFollowsVirtualClockAcrossLeapDay) {
  EXPECT_EQ(time_registers(), (Regs{0x58, 0x59, 0x23, 5, 0x29, 0x02, 0x24, 0x20}));
  clock.advance_to(2 * kSecond - 1);
  EXPECT_EQ(cmos(0x00), 0x59);
  clock.advance_to(2 * kSecond);
  EXPECT_EQ(time_registers(), (Regs{0x00, 0x00, 0x00, 6, 0x01, 0x03, 0x24, 0x20}));
}

TEST_F(RtcCmosTest, BinaryAnd12HourModes) {
  set_cmos(0x0B, 0x06); // binary, 24h
  EXPECT_EQ(time_registers(), (Regs{58, 59, 23, 5, 29, 2, 24, 20}));
  set_cmos(0x0B, 0x04); // binary, 12h
  EXPECT_EQ(cmos(0x04), 0x80 | 11);
  set_cmos(0x0B, 0x00); // BCD, 12h
  EXPECT_EQ(cmos(0x04), 0x91);
  clock.advance_to(2 * kSecond);
  EXPECT_EQ(cmos(0x04), 0x12) << "midnight is 12 AM";
  clock.advance_to(3601 * 13 * kSecond);
  EXPECT_EQ(cmos(0x04), 0x81) << "1 PM";
}

TEST_F(RtcCmosTest, UpdateInProgressInTheLast244Microseconds) {
  EXPECT_EQ(cmos(0x0A), 0x26);
  clock.advance_to(kSecond - 244'001);
  EXPECT_EQ(cmos(0x0A), 0x26);
  clock.advance_to(kSecond - 244'000);
  EXPECT_EQ(cmos(0x0A), 0xA6);
  clock.advance_to(kSecond);
  EXPECT_EQ(cmos(0x0A), 0x26);
  set_cmos(0x0A, 0xA3);
  EXPECT_EQ(cmos(0x0A), 0x23) << "UIP is read-only";
}

TEST_F(RtcCmosTest, SettingTheClockMovesItsBase) {
  set_cmos(0x0B, 0x82); // SET, 24h, BCD
  clock.advance_to(5 * kSecond);
  EXPECT_EQ(cmos(0x00), 0x58) << "frozen while SET";
  for (auto [index, value] : {std::pair<uint8_t, uint8_t>{0x00, 0x58},
                              {0x02, 0x59},
                              {0x04, 0x23},
                              {0x07, 0x31},
                              {0x08, 0x12},
                              {0x09, 0x99},
                              {0x32, 0x19}})
    set_cmos(index, value);
  set_cmos(0x0B, 0x02);
  EXPECT_EQ(time_registers(), (Regs{0x58, 0x59, 0x23, 6, 0x31, 0x12, 0x99, 0x19}));
  clock.advance_to(7 * kSecond);
  EXPECT_EQ(time_registers(), (Regs{0x00, 0x00, 0x00, 7, 0x01, 0x01, 0x00, 0x20}));
}

TEST_F(RtcCmosTest, WritingATimeRegisterWithoutSetTakesEffectAtOnce) {
  set_cmos(0x02, 0x30);
  EXPECT_EQ(time_registers(), (Regs{0x58, 0x30, 0x23, 5, 0x29, 0x02, 0x24, 0x20}));
  clock.advance_to(kSecond);
  EXPECT_EQ(cmos(0x00), 0x59);
}

TEST_F(RtcCmosTest, PeriodicInterruptAtRegisterARate) {
  set_cmos(0x0B, 0x42); // PIE
  // Rate 6: 1024 Hz, every 32 ticks of 32768 Hz = 976562.5 ns.
  EXPECT_EQ(rtc.next_deadline_ns(), 976'563u);
  clock.advance_to(976'562);
  rtc.expire();
  EXPECT_FALSE(irq8());
  clock.advance_to(976'563);
  rtc.expire();
  EXPECT_TRUE(irq8());
  EXPECT_EQ(rtc.next_deadline_ns(), TimerSource::kNever) << "waits for register C";
  EXPECT_EQ(cmos(0x0C), 0xC0);
  EXPECT_FALSE(irq8());
  EXPECT_EQ(cmos(0x0C), 0x00);
  EXPECT_EQ(rtc.next_deadline_ns(), 1'953'125u);
  set_cmos(0x0A, 0x2F); // 2 Hz
  EXPECT_EQ(rtc.next_deadline_ns(), kSecond / 2);
}

TEST_F(RtcCmosTest, PeriodicFlagIsSetEvenWithoutItsInterrupt) {
  clock.advance_to(kSecond / 100);
  EXPECT_EQ(rtc.next_deadline_ns(), TimerSource::kNever);
  EXPECT_EQ(cmos(0x0C), 0x40);
  EXPECT_FALSE(irq8());
  set_cmos(0x0A, 0x20); // rate 0: off
  clock.advance_to(kSecond / 50);
  EXPECT_EQ(cmos(0x0C), 0x00);
}

TEST_F(RtcCmosTest, UpdateEndedInterruptOncePerSecondWithoutStorms) {
  set_cmos(0x0A, 0x20);
  set_cmos(0x0B, 0x12); // UIE
  EXPECT_EQ(rtc.next_deadline_ns(), kSecond);
  clock.advance_to(kSecond);
  rtc.expire();
  EXPECT_TRUE(irq8());
  EXPECT_EQ(cmos(0x0C), 0x90);
  clock.advance_to(1000 * kSecond + 5);
  rtc.expire();
  EXPECT_EQ(irqs.rising_edges[8], 2u);
  EXPECT_EQ(cmos(0x0C), 0xB0) << "the gap crossed midnight, the alarm registers' reset value";
  EXPECT_EQ(rtc.next_deadline_ns(), 1001 * kSecond);
  set_cmos(0x0B, 0x92); // SET clears UIE
  EXPECT_EQ(cmos(0x0B), 0x82);
  EXPECT_EQ(rtc.next_deadline_ns(), TimerSource::kNever);
}

TEST_F(RtcCmosTest, AlarmInterruptAtTheMatchingSecond) {
  set_cmos(0x0A, 0x20);
  set_cmos(0x01, 0x03); // 00:00:03, five seconds from the start
  set_cmos(0x03, 0x00);
  set_cmos(0x05, 0x00);
  set_cmos(0x0B, 0x22); // AIE
  for (uint64_t s = 1; s <= 4; ++s) {
    clock.advance_to(s * kSecond);
    rtc.expire();
    EXPECT_FALSE(irq8()) << s;
  }
  clock.advance_to(5 * kSecond);
  rtc.expire();
  EXPECT_TRUE(irq8());
  EXPECT_EQ(cmos(0x0C), 0xB0);
  clock.advance_to(6 * kSecond);
  rtc.expire();
  EXPECT_EQ(cmos(0x0C), 0x10);
}

TEST_F(RtcCmosTest, AlarmDontCareMatchesEverySecondAndLongGapsStillMatch) {
  set_cmos(0x0A, 0x20);
  set_cmos(0x01, 0xC0);
  set_cmos(0x03, 0xC0);
  set_cmos(0x05, 0xC0);
  set_cmos(0x0B, 0x22);
  clock.advance_to(kSecond);
  rtc.expire();
  EXPECT_EQ(cmos(0x0C), 0xB0);
  set_cmos(0x01, 0x00);
  set_cmos(0x03, 0x30);
  set_cmos(0x05, 0x07); // 07:30:00, hours away
  clock.advance_to(3 * 86400 * kSecond);
  rtc.expire();
  EXPECT_EQ(cmos(0x0C), 0xB0);
}

TEST_F(RtcCmosTest, RegisterDAndIndexPort) {
  EXPECT_EQ(cmos(0x0D), 0x80);
  set_cmos(0x0D, 0x00);
  EXPECT_EQ(cmos(0x0D), 0x80);
  EXPECT_EQ(rtc.read(0, 1), 0xFFu);
  rtc.write(0, 1, 0x8F);
  EXPECT_TRUE(rtc.nmi_masked());
  rtc.write(1, 1, 0x5A);
  rtc.write(0, 1, 0x0F);
  EXPECT_FALSE(rtc.nmi_masked());
  EXPECT_EQ(rtc.read(1, 1), 0x5Au);
  set_cmos(0x7F, 0x11);
  EXPECT_EQ(cmos(0x7F), 0x11);
}

TEST_F(RtcCmosTest, MemorySizeBytes) {
  EXPECT_EQ(cmos(0x15) | cmos(0x16) << 8, 640);
  EXPECT_EQ(cmos(0x17) | cmos(0x18) << 8, 0xFFFF) << "127 MiB does not fit in KiB";
  EXPECT_EQ(cmos(0x30) | cmos(0x31) << 8, 0xFFFF);
  EXPECT_EQ(cmos(0x34) | cmos(0x35) << 8, 112 * 16);

  RtcCmos small(clock, irqs, 0, 8 * kMiB);
  const auto at = [&](uint8_t index) {
    small.write(0, 1, index);
    return static_cast<unsigned>(small.read(1, 1));
  };
  EXPECT_EQ(at(0x17) | at(0x18) << 8, 7 * 1024u);
  EXPECT_EQ(at(0x30) | at(0x31) << 8, 7 * 1024u);
  EXPECT_EQ(at(0x34) | at(0x35) << 8, 0u);
}

TEST_F(RtcCmosTest, SaveRestoreRoundTrip) {
  set_cmos(0x0B, 0x82);
  set_cmos(0x09, 0x30);
  set_cmos(0x0B, 0x46); // binary, PIE, 24h
  set_cmos(0x40, 0x77);
  clock.advance_to(kSecond / 1000);
  rtc.expire();
  set_cmos(0x01, 0x22); // leave index 1 selected

  StateWriter state;
  rtc.save(state);
  testing::FakeIrqSink fresh_irqs;
  RtcCmos fresh(clock, fresh_irqs, 0, 0);
  StateReader reader(state.bytes());
  fresh.restore(reader);
  EXPECT_TRUE(reader.at_end());

  EXPECT_EQ(fresh.read(1, 1), 0x22u);
  EXPECT_EQ(fresh.next_deadline_ns(), rtc.next_deadline_ns());
  clock.advance_to(3 * kSecond);
  for (uint8_t index : {0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x17, 0x40}) {
    fresh.write(0, 1, index);
    rtc.write(0, 1, index);
    EXPECT_EQ(fresh.read(1, 1), rtc.read(1, 1)) << int{index};
  }
  EXPECT_EQ(fresh.next_deadline_ns(), rtc.next_deadline_ns());
}

} // namespace
} // namespace rrvm
