// Mode and exception guests (tests/guests/emu/*.asm) started in real mode, and determinism.
#include <gtest/gtest.h>

#include "tests/emu/guest_runner.h"

namespace rrvm::test {
namespace {

// Runs guest `name` to its exit and expects it to pass: `serial` printed, exit status 0.
void expect_guest_passes(const char* name, const std::string& serial) {
  SCOPED_TRACE(name);
  LoadedGuest g(name);
  GuestRun r = run_guest(g.engine);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.serial, serial);
  EXPECT_EQ(r.exit_code, 0);
}

TEST(EmuGuests, RealToProtectedToPagingToLongMode) {
  expect_guest_passes("modes", "RPGALCB\n");
}

TEST(EmuGuests, ExceptionsAndPrivilegeLevels32) {
  expect_guest_passes("exceptions32", "DUBGNWSXK\n");
}

TEST(EmuGuests, LongModeInterruptsFromRing3ThroughRsp0AndIst) {
  expect_guest_passes("long_privilege", "LRKUIV\n");
}

TEST(EmuGuests, InterruptDuringRepMovsResumes) {
  LoadedGuest g("rep_interrupt");
  EmuEngine& emu = g.engine;
  const HwBreakpoint bp{0x7e00, WatchKind::kExecute, 1};
  emu.set_hw_breakpoints({&bp, 1});
  Exit& b = emu.run();
  ASSERT_EQ(b.reason, ExitReason::kDebug) << b.detail;
  ASSERT_EQ(b.debug.cause, DebugCause::kBreakpoint);
  emu.set_hw_breakpoints({});
  // Four setup instructions, then 1000 iterations of the REP MOVSB.
  const uint64_t at = *emu.instruction_count();
  emu.set_instruction_limit(at + 4 + 1000);
  Exit& l = emu.run();
  ASSERT_EQ(l.reason, ExitReason::kInstructionLimit) << l.detail;
  CpuState s = emu.state();
  EXPECT_EQ(s.gpr[kRcx], 0x10000u - 1000u);
  const uint64_t rep_rip = s.rip;
  EXPECT_EQ(g.memory.load<uint8_t>(rep_rip), 0xf3); // stopped at the REP instruction itself
  ASSERT_TRUE(emu.can_inject());
  emu.inject_interrupt(0x20);
  emu.set_instruction_limit(std::nullopt);
  GuestRun r = run_guest(emu);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.exit_code, 0) << "1: copy wrong, 2: handler count wrong";
}

TEST(EmuGuests, InstructionCountsAreDeterministic) {
  for (const char* name : {"modes", "exceptions32", "rep_interrupt", "long_privilege"}) {
    std::vector<std::pair<ExitReason, uint64_t>> first;
    for (int round = 0; round < 2; ++round) {
      LoadedGuest g(name);
      GuestRun r = run_guest(g.engine);
      ASSERT_EQ(r.error, "") << name;
      ASSERT_FALSE(r.exits.empty());
      if (round == 0)
        first = r.exits;
      else
        EXPECT_EQ(first, r.exits) << name;
    }
  }
}

} // namespace
} // namespace rrvm::test
