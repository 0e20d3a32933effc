// Event delivery that cannot complete the ordinary way never ends the process: an IVT or IDT in
// MMIO reads what the bus gives (the machine supplies it, several reads in a row if needed), and
// task gates and virtual-8086 mode stop the run as unsupported, through INT n, an exception an
// instruction raises, an external interrupt and a single-step trap alike.
#include <gtest/gtest.h>

#include <cstring>

#include "vmm/emu/testing/emu_machine.h"

namespace rrvm::test {
namespace {

constexpr uint64_t kMmioTable = 0x2000000; // beyond the 16 MiB of RAM
constexpr uint64_t kHandler = kCodeAddr + 64;

// The code before `handler:` is padded so the handler lands at kHandler.
std::string with_handler(const std::string& body, const std::string& handler) {
  return body + "times 64-($-$$) nop\nhandler:\n" + handler;
}

// Answers an MMIO read exit at `gpa` of `size` bytes with `value`.
void supply(Exit& e, uint64_t gpa, unsigned size, uint64_t value) {
  ASSERT_EQ(e.reason, ExitReason::kMmio) << e.detail;
  ASSERT_FALSE(e.mmio.write);
  ASSERT_EQ(e.mmio.gpa, gpa);
  ASSERT_EQ(e.mmio.size, size);
  std::memcpy(e.mmio.data, &value, size);
}

uint64_t gate32(uint64_t handler, uint16_t selector, unsigned type) {
  return (handler & 0xffff) | uint64_t(selector) << 16 | uint64_t(0x80 | type) << 40 |
         ((handler >> 16) & 0xffff) << 48;
}

void expect_exit_port(Exit& e) {
  ASSERT_EQ(e.reason, ExitReason::kIo) << e.detail;
  EXPECT_EQ(e.io.port, 0xf4);
}

TEST(EmuDelivery, RealModeIvtOutsideRamReadsWhatTheBusGives) {
  EmuMachine m(Mode::kReal);
  m.load(with_handler("o32 lidt [cs:idtr]\nud2\nidtr: dw 0x3ff\ndd 0x2000000\n",
                      "mov bx, 0x55\nout 0xf4, al\n"));
  Exit& e = m.run();
  supply(e, kMmioTable + 6 * 4, 4, uint64_t(kCodeAddr >> 4) << 16 | 64);
  expect_exit_port(m.run());
  CpuState s = m.state();
  EXPECT_EQ(s.gpr[kRbx], 0x55u);
  EXPECT_EQ(s.cs.selector, kCodeAddr >> 4);
}

TEST(EmuDelivery, RealModeIvtOfAllOnesIsAnOrdinaryFarTarget) {
  // What an unmapped bus gives: the handler at ffff:ffff runs whatever is there, here nothing
  // the test waits for; the run must simply go on without ending the process.
  EmuMachine m(Mode::kReal);
  m.load("o32 lidt [cs:idtr]\nud2\nidtr: dw 0x3ff\ndd 0x2000000\n");
  Exit& e = m.run();
  supply(e, kMmioTable + 6 * 4, 4, 0xffffffff);
  m.engine.set_instruction_limit(100);
  Exit& next = m.run();
  EXPECT_NE(next.reason, ExitReason::kInternalError) << next.detail;
  EXPECT_EQ(m.state().cs.selector, 0xffff);
}

TEST(EmuDelivery, ExternalInterruptThroughAnIvtOutsideRamStaysPendingUntilSupplied) {
  EmuMachine m(Mode::kReal);
  m.load(with_handler("o32 lidt [cs:idtr]\nsti\nnop\nhlt\nidtr: dw 0x3ff\ndd 0x2000000\n",
                      "mov bx, 0x66\nout 0xf4, al\n"));
  ASSERT_EQ(m.run().reason, ExitReason::kHlt);
  m.engine.inject_interrupt(0x20);
  Exit& e = m.run();
  supply(e, kMmioTable + 0x20 * 4, 4, uint64_t(kCodeAddr >> 4) << 16 | 64);
  expect_exit_port(m.run());
  EXPECT_EQ(m.state().gpr[kRbx], 0x66u);
}

TEST(EmuDelivery, SoftwareInterruptThroughAnIdtOutsideRam) {
  EmuMachine m(Mode::kProtected32);
  m.load(with_handler("lidt [idtr]\nint 0x80\nidtr: dw 0x7ff\ndd 0x2000000\n",
                      "mov ebx, 0x80\nout 0xf4, al\n"));
  Exit& e = m.run();
  supply(e, kMmioTable + 0x80 * 8, 8, gate32(kHandler, 0x08, 0xe));
  expect_exit_port(m.run());
  EXPECT_EQ(m.state().gpr[kRbx], 0x80u);
  EXPECT_EQ(*m.engine.instruction_count(), 4u); // LIDT, INT, the handler's MOV and OUT
}

TEST(EmuDelivery, LongModeGateOutsideRamTakesTwoReads) {
  EmuMachine m(Mode::kLong64);
  m.load(with_handler("lidt [rel idtr]\nint 0x80\nidtr: dw 0xfff\ndq 0x2000000\n",
                      "mov ebx, 0x64\nout 0xf4, al\n"));
  supply(m.run(), kMmioTable + 0x80 * 16, 8,
         (kHandler & 0xffff) | uint64_t(0x18) << 16 | uint64_t(0x8e) << 40 |
             ((kHandler >> 16) & 0xffff) << 48);
  supply(m.run(), kMmioTable + 0x80 * 16 + 8, 8, 0);
  expect_exit_port(m.run());
  EXPECT_EQ(m.state().gpr[kRbx], 0x64u);
}

TEST(EmuDelivery, ExceptionThroughAnIdtOutsideRam) {
  EmuMachine m(Mode::kProtected32);
  m.load(with_handler("lidt [idtr]\nud2\nidtr: dw 0x7ff\ndd 0x2000000\n",
                      "mov ebx, 6\nout 0xf4, al\n"));
  supply(m.run(), kMmioTable + 6 * 8, 8, gate32(kHandler, 0x08, 0xe));
  expect_exit_port(m.run());
  EXPECT_EQ(m.state().gpr[kRbx], 6u);
}

TEST(EmuDelivery, TaskGateStopsAsUnsupported) {
  for (const char* trigger : {"int 0x80", "ud2"}) {
    SCOPED_TRACE(trigger);
    EmuMachine m(Mode::kProtected32);
    const uint64_t idt = 0x4000;
    m.memory.store<uint64_t>(idt + 0x80 * 8, gate32(0, 0x30, 0x5));
    m.memory.store<uint64_t>(idt + 6 * 8, gate32(0, 0x30, 0x5));
    CpuState s = m.state();
    s.idt = {idt, 0x7ff};
    m.engine.set_state(s);
    m.load(std::string(trigger) + "\n");
    Exit& e = m.run();
    ASSERT_EQ(e.reason, ExitReason::kUnsupported);
    EXPECT_NE(e.detail.find("task gate"), std::string::npos) << e.detail;
  }
}

TEST(EmuDelivery, FaultInVirtual8086ModeStopsAsUnsupported) {
  // What gdb's P11 (EFLAGS with VM) and a single step do.
  EmuMachine m(Mode::kProtected32);
  m.load("ud2\n");
  CpuState s = m.state();
  s.rflags |= rflags::kVM;
  s.cs.base = kCodeAddr;
  s.cs.selector = kCodeAddr >> 4;
  s.rip = 0;
  m.engine.set_state(s);
  m.engine.set_single_step(true);
  Exit& e = m.run();
  ASSERT_EQ(e.reason, ExitReason::kUnsupported);
  EXPECT_NE(e.detail.find("virtual-8086"), std::string::npos) << e.detail;
}

TEST(EmuDelivery, SingleStepTrapThroughAnIdtOutsideRamIsNotLost) {
  EmuMachine m(Mode::kProtected32);
  m.load(with_handler("lidt [idtr]\npushfd\nor dword [esp], 0x100\npopfd\nnop\nnop\n"
                      "idtr: dw 0x7ff\ndd 0x2000000\n",
                      "mov ebx, [esp]\nout 0xf4, al\n"));
  supply(m.run(), kMmioTable + 1 * 8, 8, gate32(kHandler, 0x08, 0xe));
  expect_exit_port(m.run());
  // The trap came after the first NOP: the saved EIP is the second.
  EXPECT_EQ(m.state().gpr[kRbx], kCodeAddr + 7 + 1 + 7 + 1 + 1);
}

} // namespace
} // namespace rrvm::test
