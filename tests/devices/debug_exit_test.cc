#include "vmm/devices/debug_exit.h"

#include <gtest/gtest.h>

namespace rrvm {
namespace {

TEST(DebugExit, NoExitUntilWritten) {
  DebugExit dev;
  EXPECT_FALSE(dev.exit_status().has_value());
  EXPECT_EQ(dev.read(0, 1), 0xFFu);
  EXPECT_EQ(dev.read(0, 2), 0xFFFFu);
  EXPECT_EQ(dev.read(0, 4), 0xFFFFFFFFu);
  EXPECT_FALSE(dev.exit_status().has_value());
}

TEST(DebugExit, StatusIsValueShiftedWithLowBitSet) {
  DebugExit dev;
  dev.write(0, 1, 0);
  EXPECT_EQ(dev.exit_status(), 1);
  dev.write(0, 1, 0x10);
  EXPECT_EQ(dev.exit_status(), 0x21);
}

TEST(DebugExit, WideWritesUseOnlyTheirSizeAndTruncateToAProcessStatus) {
  DebugExit dev;
  dev.write(0, 2, 0x1231);
  EXPECT_EQ(dev.exit_status(), 0x63); // (0x1231 << 1 | 1) & 0xFF
  dev.write(0, 4, 0xFFFFFF00'00000003ull);
  EXPECT_EQ(dev.exit_status(), 7);
}

TEST(DebugExit, SaveRestoreRoundTrip) {
  DebugExit dev;
  dev.write(0, 1, 2);
  StateWriter out;
  dev.save(out);
  DebugExit fresh;
  StateReader in(out.bytes());
  fresh.restore(in);
  EXPECT_TRUE(in.at_end());
  EXPECT_EQ(fresh.exit_status(), 5);

  DebugExit idle;
  StateWriter idle_out;
  idle.save(idle_out);
  StateReader idle_in(idle_out.bytes());
  fresh.restore(idle_in);
  EXPECT_FALSE(fresh.exit_status().has_value());
}

} // namespace
} // namespace rrvm
