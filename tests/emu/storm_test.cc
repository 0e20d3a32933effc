// An interrupt storm: the machine injects an interrupt at every window. The code the handler
// returns to must still make progress (one instruction after each IRET), and a kick still stops
// the run.
#include <gtest/gtest.h>

#include "vmm/emu/testing/emu_machine.h"

namespace rrvm::test {
namespace {

TEST(EmuStorm, CodeAfterIretRetiresBetweenInterrupts) {
  EmuMachine m(Mode::kLong64);
  m.load("sti\nagain: inc rcx\njmp again\nhandler: inc rbx\niretq\n");
  const uint64_t handler = kCodeAddr + 1 + 3 + 2;
  m.memory.store<uint64_t>(0x4000 + 16 * 0x30, (handler & 0xffff) | uint64_t(0x18) << 16 |
                                                   uint64_t(0x8e) << 40 |
                                                   ((handler >> 16) & 0xffff) << 48);
  CpuState s = m.state();
  s.idt = {0x4000, 0xfff};
  m.engine.set_state(s);
  m.engine.request_interrupt_window(true);
  unsigned injected = 0;
  while (injected < 10000) {
    Exit& e = m.run();
    ASSERT_EQ(e.reason, ExitReason::kInterruptWindow) << e.detail;
    m.engine.inject_interrupt(0x30);
    ++injected;
  }
  const CpuState after = m.state();
  EXPECT_GE(after.gpr[kRbx], injected - 1);
  // Each return runs one instruction of the loop: INC and JMP alternate.
  EXPECT_GE(after.gpr[kRcx], injected / 2 - 1);
  m.engine.kick();
  EXPECT_EQ(m.run().reason, ExitReason::kKicked);
}

} // namespace
} // namespace rrvm::test
