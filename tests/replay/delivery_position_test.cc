// The engine's side of exact replay positions (replay/replay_position.h) on emu: a delivery is a
// position of its own (a single step stops there), and watch hits are reported where the access
// happened: on the frame a delivery pushes, at the delivery; with an MMIO write exit, after it.
#include <gtest/gtest.h>

#include "vmm/emu/testing/emu_machine.h"

namespace rrvm::test {
namespace {

// A 64-bit IDT at 0x4000 whose vector `v` points at `handler` (ring-0 interrupt gate).
void set_gate64(EmuMachine& m, unsigned v, uint64_t handler) {
  const uint64_t lo = (handler & 0xffff) | (uint64_t(0x18) << 16) | (uint64_t(0x8e) << 40) |
                      ((handler >> 16) & 0xffff) << 48;
  m.memory.store<uint64_t>(0x4000 + 16 * v, lo);
  m.memory.store<uint64_t>(0x4000 + 16 * v + 8, handler >> 32);
  CpuState s = m.state();
  s.idt = {0x4000, 0xfff};
  m.engine.set_state(s);
}

// sti, two nops, then out: the handler for vector 0x30 starts after them.
constexpr const char* kInterruptible = "sti\nnop\nnop\nout 0xf4, al\nmov ebx, 0x77\niretq\n";
constexpr uint64_t kHandler = kCodeAddr + 5;

// Runs to instruction count 2 (past STI's shadow) and injects vector 0x30 there.
void inject_after_two(EmuMachine& m) {
  m.engine.set_instruction_limit(2);
  ASSERT_EQ(m.run().reason, ExitReason::kInstructionLimit);
  m.engine.set_instruction_limit(std::nullopt);
  ASSERT_TRUE(m.engine.can_inject());
  m.engine.inject_interrupt(0x30);
}

TEST(DeliveryPosition, ASingleStepStopsAfterTheDeliveryBeforeTheHandlerRuns) {
  EmuMachine m(Mode::kLong64);
  m.load(kInterruptible);
  set_gate64(m, 0x30, kHandler);
  inject_after_two(m);
  EXPECT_EQ(m.engine.deliveries_at_count(), 0u);
  m.engine.set_single_step(true);
  Exit& delivered = m.run();
  ASSERT_EQ(delivered.reason, ExitReason::kDebug);
  EXPECT_EQ(delivered.debug.cause, DebugCause::kStep);
  EXPECT_EQ(m.state().rip, kHandler);
  EXPECT_EQ(*m.engine.instruction_count(), 2u);
  EXPECT_EQ(m.engine.deliveries_at_count(), 1u);
  EXPECT_EQ(m.state().gpr[kRbx], 0u); // the handler has not run
  ASSERT_EQ(m.run().reason, ExitReason::kDebug);
  EXPECT_EQ(*m.engine.instruction_count(), 3u);
  EXPECT_EQ(m.engine.deliveries_at_count(), 0u);
  EXPECT_EQ(m.state().gpr[kRbx], 0x77u);
}

TEST(DeliveryPosition, AFaultsDeliveryIsAStepOfItsOwn) {
  EmuMachine m(Mode::kLong64);
  m.load("ud2\nmov ebx, 0x66\nout 0xf4, al\n");
  set_gate64(m, 6, kCodeAddr + 2);
  m.engine.set_single_step(true);
  ASSERT_EQ(m.run().reason, ExitReason::kDebug);
  EXPECT_EQ(m.state().rip, kCodeAddr + 2);
  EXPECT_EQ(*m.engine.instruction_count(), 0u); // a fault retires nothing
  EXPECT_EQ(m.engine.deliveries_at_count(), 1u);
  EXPECT_EQ(m.state().gpr[kRbx], 0u);
}

TEST(DeliveryPosition, AWatchHitOnTheInterruptFrameIsReportedAtTheDelivery) {
  EmuMachine m(Mode::kLong64);
  m.load(kInterruptible);
  set_gate64(m, 0x30, kHandler);
  inject_after_two(m);
  const HwBreakpoint saved_ss{kStackTop - 8, WatchKind::kWrite, 8}; // the frame's first slot
  m.engine.set_hw_breakpoints({&saved_ss, 1});
  Exit& e = m.run();
  ASSERT_EQ(e.reason, ExitReason::kDebug);
  EXPECT_EQ(e.debug.cause, DebugCause::kWatchWrite);
  EXPECT_EQ(m.state().rip, kHandler);
  EXPECT_EQ(*m.engine.instruction_count(), 2u);
  EXPECT_EQ(m.engine.deliveries_at_count(), 1u);
}

TEST(DeliveryPosition, AWatchHitIsReportedAfterTheMmioWriteExitOfTheSameInstruction) {
  EmuMachine m(Mode::kLong64);
  // MOVSD reads RAM at kDataAddr and writes the MMIO hole: the write exits once it retired.
  m.load("mov rsi, 0x20000\nmov rdi, 0xfed000f0\nmovsd\nout 0xf4, al\n");
  m.memory.store<uint32_t>(kDataAddr, 0x1234);
  const HwBreakpoint source{kDataAddr, WatchKind::kAccess, 4};
  m.engine.set_hw_breakpoints({&source, 1});
  Exit& write = m.run();
  ASSERT_EQ(write.reason, ExitReason::kMmio) << write.detail;
  EXPECT_TRUE(write.mmio.write);
  Exit& hit = m.run();
  ASSERT_EQ(hit.reason, ExitReason::kDebug);
  EXPECT_EQ(hit.debug.cause, DebugCause::kWatchAccess);
  EXPECT_EQ(hit.debug.address, kDataAddr);
  EXPECT_EQ(*m.engine.instruction_count(), 3u);
  ASSERT_EQ(m.run().reason, ExitReason::kIo); // and on to the next instruction
}

} // namespace
} // namespace rrvm::test
