#include <gtest/gtest.h>

#include "tests/emu/emu_machine.h"

namespace rrvm::test {
namespace {

TEST(EmuSmoke, AddInLongMode) {
  EmuMachine m(Mode::kLong64);
  m.load("mov rax, 0x7fffffffffffffff\nadd rax, 1\nout 0xf4, al\n");
  Exit& e = m.run();
  ASSERT_EQ(e.reason, ExitReason::kIo) << e.detail;
  EXPECT_EQ(e.io.port, 0xf4);
  CpuState s = m.state();
  EXPECT_EQ(s.gpr[kRax], 0x8000000000000000ull);
  EXPECT_EQ(s.rflags & kFlagsMask, rflags::kOF | rflags::kSF | rflags::kAF | rflags::kPF);
  EXPECT_EQ(*m.engine.instruction_count(), 3u);
}

} // namespace
} // namespace rrvm::test
