#include "vmm/devices/debug_exit.h"

#include <gtest/gtest.h>

namespace rrvm {
namespace {

TEST(DebugExit, NoExitUntilWritten) {
  EndRequestLatch end;
  DebugExit dev(end);
  EXPECT_EQ(dev.read(0, 1), 0xFFu);
  EXPECT_EQ(dev.read(0, 2), 0xFFFFu);
  EXPECT_EQ(dev.read(0, 4), 0xFFFFFFFFu);
  EXPECT_FALSE(end.pending().has_value());
}

TEST(DebugExit, StatusIsValueShiftedWithLowBitSetAndTheFirstWriteStands) {
  EndRequestLatch end;
  DebugExit dev(end);
  dev.write(0, 1, 0x10);
  ASSERT_TRUE(end.pending().has_value());
  EXPECT_EQ(end.pending()->kind, EndRequest::Kind::kGuestExit);
  EXPECT_EQ(end.pending()->status, 0x21);
  dev.write(0, 1, 0); // QEMU's process has ended at the first write
  EXPECT_EQ(end.pending()->status, 0x21);
}

TEST(DebugExit, WideWritesUseOnlyTheirSizeAndTruncateToAProcessStatus) {
  EndRequestLatch word_end;
  DebugExit word(word_end);
  word.write(0, 2, 0x1231);
  EXPECT_EQ(word_end.pending()->status, 0x63); // (0x1231 << 1 | 1) & 0xFF
  EndRequestLatch dword_end;
  DebugExit dword(dword_end);
  dword.write(0, 4, 0xFFFFFF00'00000003ull);
  EXPECT_EQ(dword_end.pending()->status, 7);
}

TEST(EndRequestLatch, SaveRestoreRoundTrip) {
  EndRequestLatch end;
  DebugExit dev(end);
  dev.write(0, 1, 2);
  StateWriter out;
  end.save(out);
  EndRequestLatch fresh;
  StateReader in(out.bytes());
  fresh.restore(in);
  EXPECT_TRUE(in.at_end());
  ASSERT_TRUE(fresh.pending().has_value());
  EXPECT_EQ(fresh.pending()->status, 5);

  EndRequestLatch idle;
  StateWriter idle_out;
  idle.save(idle_out);
  StateReader idle_in(idle_out.bytes());
  fresh.restore(idle_in);
  EXPECT_FALSE(fresh.pending().has_value());
}

} // namespace
} // namespace rrvm
