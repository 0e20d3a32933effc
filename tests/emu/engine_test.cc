// The Engine contract on the interpreter: I/O and MMIO exits completed by the machine, HLT and
// interrupt injection, the interrupt window, kicks, instruction limits, single-step,
// breakpoints and watchpoints, self-modifying code, state round trips, unsupported instructions
// and triple faults.
#include <gtest/gtest.h>

#include <cstring>

#include "vmm/emu/testing/emu_machine.h"

namespace rrvm::test {
namespace {

// A 64-bit IDT at 0x4000 whose vector `v` points at `handler` (ring-0 interrupt gate).
void set_gate64(EmuMachine& m, unsigned v, uint64_t handler) {
  uint64_t lo = (handler & 0xffff) | (uint64_t(0x18) << 16) | (uint64_t(0x8e) << 40) |
                ((handler >> 16) & 0xffff) << 48;
  m.memory.store<uint64_t>(0x4000 + 16 * v, lo);
  m.memory.store<uint64_t>(0x4000 + 16 * v + 8, handler >> 32);
  CpuState s = m.state();
  s.idt = {0x4000, 0xfff};
  m.engine.set_state(s);
}

TEST(EmuEngine, PortReadIsCompletedWithTheMachinesData) {
  EmuMachine m(Mode::kLong64);
  m.load("mov dx, 0x3fd\nin al, dx\nmov bl, al\nin eax, 0x40\nout 0xf4, al\n");
  Exit& a = m.run();
  ASSERT_EQ(a.reason, ExitReason::kIo);
  EXPECT_FALSE(a.io.write);
  EXPECT_EQ(a.io.port, 0x3fd);
  EXPECT_EQ(a.io.size, 1);
  a.io.data[0] = 0x60;
  Exit& b = m.run();
  ASSERT_EQ(b.reason, ExitReason::kIo);
  EXPECT_EQ(b.io.port, 0x40);
  EXPECT_EQ(b.io.size, 4);
  uint32_t v = 0x12345678;
  std::memcpy(b.io.data, &v, 4);
  Exit& c = m.run();
  ASSERT_EQ(c.reason, ExitReason::kIo);
  EXPECT_TRUE(c.io.write);
  EXPECT_EQ(c.io.data[0], 0x78);
  CpuState s = m.state();
  EXPECT_EQ(s.gpr[kRbx] & 0xff, 0x60u);
  EXPECT_EQ(s.gpr[kRax], 0x12345678u);
  EXPECT_EQ(*m.engine.instruction_count(), 5u); // the reads retire once each
}

TEST(EmuEngine, NoInterruptBetweenAReadExitAndTheReadsCompletion) {
  EmuMachine m(Mode::kLong64);
  m.load("sti\nnop\nin al, 0x40\nmov bl, al\nout 0xf4, al\nhandler:\nmov bl, 0x99\niretq\n");
  set_gate64(m, 0x30, kCodeAddr + 8);
  Exit& r = m.run();
  ASSERT_EQ(r.reason, ExitReason::kIo);
  r.io.data[0] = 0x42;
  // The IN has not finished: an interrupt now would run the handler first and the IN would ask
  // the device again, reading it twice.
  EXPECT_FALSE(m.engine.can_inject());
  m.engine.request_interrupt_window(true);
  Exit& w = m.run();
  ASSERT_EQ(w.reason, ExitReason::kInterruptWindow);
  EXPECT_EQ(*m.engine.instruction_count(), 3u);
  EXPECT_EQ(m.state().gpr[kRax] & 0xff, 0x42u);
}

TEST(EmuEngine, MmioReadAndWriteExit) {
  EmuMachine m(Mode::kLong64);
  m.load("mov rbx, 0xfed000f0\nmov eax, [rbx]\nadd eax, 1\nmov [rbx+8], eax\nout 0xf4, al\n");
  Exit& r = m.run();
  ASSERT_EQ(r.reason, ExitReason::kMmio);
  EXPECT_EQ(r.mmio.gpa, 0xfed000f0u);
  EXPECT_EQ(r.mmio.size, 4);
  EXPECT_FALSE(r.mmio.write);
  uint32_t v = 41;
  std::memcpy(r.mmio.data, &v, 4);
  Exit& w = m.run();
  ASSERT_EQ(w.reason, ExitReason::kMmio);
  EXPECT_TRUE(w.mmio.write);
  EXPECT_EQ(w.mmio.gpa, 0xfed000f8u);
  uint32_t got;
  std::memcpy(&got, w.mmio.data, 4);
  EXPECT_EQ(got, 42u);
  EXPECT_EQ(m.run().reason, ExitReason::kIo);
}

TEST(EmuEngine, HltWaitsForAnInterruptWhichWakesIt) {
  EmuMachine m(Mode::kLong64);
  m.load("sti\nhlt\nout 0xf4, al\nhandler:\nmov ebx, 0x77\niretq\n");
  set_gate64(m, 0x30, kCodeAddr + 4);
  ASSERT_EQ(m.run().reason, ExitReason::kHlt);
  EXPECT_TRUE(m.state().halted);
  ASSERT_EQ(m.run().reason, ExitReason::kHlt); // still halted: nothing injected
  ASSERT_TRUE(m.engine.can_inject());
  m.engine.inject_interrupt(0x30);
  Exit& e = m.run();
  ASSERT_EQ(e.reason, ExitReason::kIo) << e.detail;
  EXPECT_EQ(m.state().gpr[kRbx], 0x77u);
  EXPECT_FALSE(m.state().halted);
}

TEST(EmuEngine, InterruptWindowOpensAfterTheStiShadow) {
  EmuMachine m(Mode::kLong64);
  m.load("nop\nsti\nnop\nnop\nout 0xf4, al\n");
  m.engine.request_interrupt_window(true);
  Exit& e = m.run();
  ASSERT_EQ(e.reason, ExitReason::kInterruptWindow);
  // STI's shadow covers the NOP after it: the window opens after three instructions.
  EXPECT_EQ(*m.engine.instruction_count(), 3u);
  EXPECT_TRUE(m.engine.can_inject());
}

TEST(EmuEngine, KickStopsARunningLoop) {
  EmuMachine m(Mode::kLong64);
  m.load("again: jmp again\n");
  m.engine.kick();
  EXPECT_EQ(m.run().reason, ExitReason::kKicked);
  m.engine.set_instruction_limit(1000);
  EXPECT_EQ(m.run().reason, ExitReason::kInstructionLimit);
  EXPECT_EQ(*m.engine.instruction_count(), 1000u);
}

TEST(EmuEngine, SingleStepAndBreakpoints) {
  EmuMachine m(Mode::kLong64);
  m.load("mov eax, 1\nmov ebx, 2\nmov ecx, 3\nout 0xf4, al\n");
  m.engine.set_single_step(true);
  Exit& s = m.run();
  ASSERT_EQ(s.reason, ExitReason::kDebug);
  EXPECT_EQ(s.debug.cause, DebugCause::kStep);
  EXPECT_EQ(m.state().rip, kCodeAddr + 5);
  m.engine.set_single_step(false);
  const HwBreakpoint bp{kCodeAddr + 10, WatchKind::kExecute, 1};
  m.engine.set_hw_breakpoints({&bp, 1});
  Exit& b = m.run();
  ASSERT_EQ(b.reason, ExitReason::kDebug);
  EXPECT_EQ(b.debug.cause, DebugCause::kBreakpoint);
  EXPECT_EQ(m.state().rip, kCodeAddr + 10);
  EXPECT_EQ(m.run().reason, ExitReason::kIo); // resumes past the breakpoint
  EXPECT_EQ(m.state().gpr[kRcx], 3u);
}

TEST(EmuEngine, WatchpointsReportTheAccess) {
  EmuMachine m(Mode::kLong64);
  m.load("mov eax, [0x20000]\nmov dword [0x20004], 5\nout 0xf4, al\n");
  const HwBreakpoint w{0x20004, WatchKind::kWrite, 4};
  m.engine.set_hw_breakpoints({&w, 1});
  Exit& e = m.run();
  ASSERT_EQ(e.reason, ExitReason::kDebug);
  EXPECT_EQ(e.debug.cause, DebugCause::kWatchWrite);
  EXPECT_EQ(e.debug.address, 0x20004u);
  EXPECT_EQ(m.memory.load<uint32_t>(0x20004), 5u); // reported after the access
}

TEST(EmuEngine, SelfModifyingCodeIsSeen) {
  EmuMachine m(Mode::kLong64);
  // Runs `mov eax, 1` once, patches its immediate to 2, and runs it again.
  m.load("xor ebx, ebx\nagain:\ntarget: mov eax, 1\nadd ebx, eax\n"
         "mov byte [rel target + 1], 2\ncmp ebx, 3\njb again\nout 0xf4, al\n");
  ASSERT_EQ(m.run().reason, ExitReason::kIo);
  EXPECT_EQ(m.state().gpr[kRbx], 3u);
  EXPECT_EQ(m.state().gpr[kRax], 2u);
}

TEST(EmuEngine, InvalidateCodeAfterAnOutsideWrite) {
  EmuMachine m(Mode::kLong64);
  m.load("mov eax, 1\nout 0xf4, al\n");
  ASSERT_EQ(m.run().reason, ExitReason::kIo);
  m.memory.store<uint8_t>(kCodeAddr + 1, 9);
  m.engine.invalidate_code(kCodeAddr + 1, 1);
  CpuState s = m.state();
  s.rip = kCodeAddr;
  s.gpr[kRax] = 0;
  m.engine.set_state(s);
  ASSERT_EQ(m.run().reason, ExitReason::kIo);
  EXPECT_EQ(m.state().gpr[kRax], 9u);
}

TEST(EmuEngine, StateRoundTripsIncludingHiddenSegmentState) {
  EmuMachine m(Mode::kLong64);
  CpuState s = m.state();
  s.fs.base = 0x123456789aull;
  s.gs.base = 0xffff800000001000ull;
  s.msr.kernel_gs_base = 0x55;
  s.msr.lstar = 0xffffffff81000000ull;
  s.ds.base = 0x1000; // ignored in 64-bit mode, but carried
  s.dr[2] = 0x4444;
  s.cr2 = 0xdead000;
  s.rflags = 0x2 | rflags::kCF | rflags::kZF | rflags::kDF;
  s.interrupt_shadow = true;
  s.gpr[kR13] = 13;
  m.engine.set_state(s);
  CpuState t = m.state();
  EXPECT_EQ(std::memcmp(&s.gpr, &t.gpr, sizeof s.gpr), 0);
  EXPECT_EQ(t.fs.base, s.fs.base);
  EXPECT_EQ(t.gs.base, s.gs.base);
  EXPECT_EQ(t.ds.base, s.ds.base);
  EXPECT_EQ(t.msr.kernel_gs_base, 0x55u);
  EXPECT_EQ(t.msr.lstar, s.msr.lstar);
  EXPECT_EQ(t.dr[2], 0x4444u);
  EXPECT_EQ(t.cr2, s.cr2);
  EXPECT_EQ(t.rflags, s.rflags);
  EXPECT_TRUE(t.interrupt_shadow);
  EXPECT_EQ(t.cs.l, 1);
  EXPECT_EQ(t.efer, s.efer);
}

TEST(EmuEngine, UnsupportedInstructionIsNamed) {
  EmuMachine m(Mode::kLong64);
  m.load("nop\nrdpmc\n");
  Exit& e = m.run();
  ASSERT_EQ(e.reason, ExitReason::kUnsupported);
  EXPECT_NE(e.detail.find("rdpmc"), std::string::npos) << e.detail;
  EXPECT_NE(e.detail.find("10001"), std::string::npos) << e.detail;
  EXPECT_NE(e.detail.find("0f 33"), std::string::npos) << e.detail;
  EXPECT_EQ(*m.engine.instruction_count(), 1u);
}

TEST(EmuEngine, AccessSplitBetweenRamAndMmioNamesItsDirectionInHex) {
  EmuMachine into_ram(Mode::kProtected32);
  into_ram.load("mov eax, [0xfffffffe]\n"); // MMIO below 4 GiB, then RAM at 0 after the wrap
  Exit& a = into_ram.run();
  ASSERT_EQ(a.reason, ExitReason::kUnsupported);
  EXPECT_EQ(a.detail, "access at linear 0xfffffffe crossing from MMIO into RAM");
  EmuMachine into_mmio(Mode::kLong64);
  into_mmio.load("mov eax, [0xfffffe]\n"); // the last two bytes of the 16 MiB of RAM
  Exit& b = into_mmio.run();
  ASSERT_EQ(b.reason, ExitReason::kUnsupported);
  EXPECT_EQ(b.detail, "access at linear 0xfffffe crossing from RAM into MMIO");
}

TEST(EmuEngine, FaultWithoutAnIdtIsATripleFault) {
  EmuMachine m(Mode::kLong64);
  m.load("ud2\n");
  EXPECT_EQ(m.run().reason, ExitReason::kShutdown);
  EXPECT_EQ(*m.engine.instruction_count(), 0u);
}

TEST(EmuEngine, RdtscIsTheInstructionCount) {
  EmuMachine m(Mode::kLong64);
  m.load("nop\nnop\nrdtsc\nout 0xf4, al\n");
  ASSERT_EQ(m.run().reason, ExitReason::kIo);
  EXPECT_EQ(m.state().gpr[kRax], 2u);
}

TEST(EmuEngine, PageFaultPushesErrorCodeAndSetsCr2) {
  EmuMachine m(Mode::kLong64);
  // Unmap the 2 MiB page at 0x600000, then touch it.
  m.memory.store<uint64_t>(0x3000 + 8 * 3, 0);
  m.load("mov byte [0x600010], 1\nout 0xf4, al\nhandler:\npop rbx\nmov rcx, cr2\nout 0xf4, al\n");
  set_gate64(m, 14, kCodeAddr + 10);
  Exit& e = m.run();
  ASSERT_EQ(e.reason, ExitReason::kIo) << e.detail;
  CpuState s = m.state();
  EXPECT_EQ(s.gpr[kRbx], 2u); // not present, write, supervisor
  EXPECT_EQ(s.gpr[kRcx], 0x600010u);
  EXPECT_EQ(s.rip, kCodeAddr + 16); // after the handler's OUT
}

} // namespace
} // namespace rrvm::test
