// Mode and exception guests (tests/guests/emu/*.asm) started in real mode, and determinism.
#include <gtest/gtest.h>

#include "tests/emu/guest_runner.h"

namespace rrvm::test {
namespace {

constexpr uint64_t kRam = 64 << 20;

TEST(EmuGuests, RealToProtectedToPagingToLongMode) {
  GuestMemory mem(kRam);
  EmuEngine emu(mem);
  load_guest(mem, emu, "modes");
  GuestRun r = run_guest(emu);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.serial, "RPGALCB\n");
  EXPECT_EQ(r.exit_code, 0);
}

TEST(EmuGuests, ExceptionsAndPrivilegeLevels32) {
  GuestMemory mem(kRam);
  EmuEngine emu(mem);
  load_guest(mem, emu, "exceptions32");
  GuestRun r = run_guest(emu);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.serial, "DUBGNWSXK\n");
  EXPECT_EQ(r.exit_code, 0);
}

TEST(EmuGuests, InterruptDuringRepMovsResumes) {
  GuestMemory mem(kRam);
  EmuEngine emu(mem);
  load_guest(mem, emu, "rep_interrupt");
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
  EXPECT_EQ(mem.load<uint8_t>(rep_rip), 0xf3); // stopped at the REP instruction itself
  ASSERT_TRUE(emu.can_inject());
  emu.inject_interrupt(0x20);
  emu.set_instruction_limit(std::nullopt);
  GuestRun r = run_guest(emu);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.exit_code, 0) << "1: copy wrong, 2: handler count wrong";
}

TEST(EmuGuests, InstructionCountsAreDeterministic) {
  for (const char* name : {"modes", "exceptions32", "rep_interrupt"}) {
    std::vector<std::pair<ExitReason, uint64_t>> first;
    for (int round = 0; round < 2; ++round) {
      GuestMemory mem(kRam);
      EmuEngine emu(mem);
      load_guest(mem, emu, name);
      GuestRun r = run_guest(emu);
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
