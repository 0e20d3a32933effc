// The 8042's status and reset command, and the reset control register at 0xcf9: registers as a
// guest drives them, and the reset requests they put into the latch.
#include <gtest/gtest.h>

#include "vmm/devices/i8042.h"
#include "vmm/devices/reset_control.h"

namespace rrvm {
namespace {

TEST(I8042, StatusSaysInputBufferEmptyAndNothingElse) {
  EndRequestLatch end;
  I8042 kbc(end);
  EXPECT_EQ(kbc.read(0, 1), 0xFDu); // bit 1 clear; the other bits read as an unclaimed port
  EXPECT_EQ(kbc.read(0, 2), 0xFFFDu);
  EXPECT_FALSE(end.pending().has_value());
}

TEST(I8042, OnlyPulsesOfTheResetLineResetThePc) {
  EndRequestLatch end;
  I8042 kbc(end);
  for (unsigned command : {0x20u, 0xaau, 0xd1u, 0xffu, 0xf1u, 0xfdu})
    kbc.write(0, 1, command);
  EXPECT_FALSE(end.pending().has_value());
  kbc.write(0, 1, 0xfe);
  ASSERT_TRUE(end.pending().has_value());
  EXPECT_EQ(end.pending()->kind, EndRequest::Kind::kReset);
  EXPECT_EQ(end.pending()->cause, ResetCause::kKeyboardController);
  EXPECT_EQ(describe_reset(*end.pending()),
            "the keyboard controller's reset command (0xfe written to port 0x64)");
}

TEST(ResetControl, ReadsBackTheResetKindAndResetsOnRstCpu) {
  EndRequestLatch end;
  ResetControl rcr(end);
  EXPECT_EQ(rcr.read(0, 1), 0u);
  rcr.write(0, 1, 0x0a);
  EXPECT_EQ(rcr.read(0, 1), 0x0au);
  EXPECT_FALSE(end.pending().has_value());
  rcr.write(0, 1, 0x04);
  ASSERT_TRUE(end.pending().has_value());
  EXPECT_EQ(end.pending()->cause, ResetCause::kResetControlRegister);
  EXPECT_EQ(describe_reset(*end.pending()),
            "the reset control register (0x04 written to port 0xcf9: soft reset)");
  EXPECT_EQ(rcr.read(0, 1), 0u); // RST_CPU does not stay set
}

TEST(ResetControl, SaveRestoreRoundTrip) {
  EndRequestLatch end;
  ResetControl rcr(end);
  rcr.write(0, 1, 0x02);
  StateWriter out;
  rcr.save(out);
  ResetControl fresh(end);
  StateReader in(out.bytes());
  fresh.restore(in);
  EXPECT_TRUE(in.at_end());
  EXPECT_EQ(fresh.read(0, 1), 0x02u);
}

} // namespace
} // namespace rrvm
