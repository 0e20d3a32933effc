// x87 exceptions on the interpreter: #NM from CR0.EM/CR0.TS (WAIT only with CR0.MP), #MF for a
// pending unmasked exception at the next waiting instruction with CR0.NE set (and not at the
// non-waiting ones), the CR0.NE-clear behaviour (IGNNE#: ignored), and the environment layouts
// of the 16-bit and real-mode forms.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "vmm/emu/testing/emu_machine.h"

namespace rrvm::test {
namespace {

constexpr uint64_t kIdt = 0x4000;
constexpr unsigned kNoFault = 0xff;

// Vectors 7 (#NM) and 16 (#MF) lead to a handler that leaves the vector in ESI and the faulting
// RIP in RDI; a run without a fault leaves ESI = kNoFault.
std::string with_handlers(const std::string& body) {
  return "jmp start\n"
         "nm: mov esi, 7\n pop rdi\n out 0xf4, al\n"
         "mf: mov esi, 16\n pop rdi\n out 0xf4, al\n"
         "start: mov esi, " +
         std::to_string(kNoFault) + "\n" + body + "\ndone: out 0xf4, al\n";
}

void set_gate(EmuMachine& m, unsigned v, uint64_t handler) {
  const uint64_t lo = (handler & 0xffff) | (uint64_t(0x18) << 16) | (uint64_t(0x8e) << 40) |
                      ((handler >> 16) & 0xffff) << 48;
  m.memory.store<uint64_t>(kIdt + 16 * v, lo);
  m.memory.store<uint64_t>(kIdt + 16 * v + 8, handler >> 32);
}

struct Outcome {
  unsigned vector;
  uint64_t fault_rip;
  CpuState state;
};

// Runs `body` in 64-bit ring 0 with CR0 bits `cr0_set` added.
Outcome run(const std::string& body, uint64_t cr0_set) {
  EmuMachine m(Mode::kLong64);
  m.load(with_handlers(body));
  // The handlers sit right after the 2-byte jump: nm at +2, mf at +2 + 5 + 1 + 2.
  set_gate(m, 7, kCodeAddr + 2);
  set_gate(m, 16, kCodeAddr + 2 + 8);
  CpuState s = m.state();
  s.idt = {kIdt, 0xfff};
  s.cr0 |= cr0_set;
  m.engine.set_state(s);
  Exit& e = m.run();
  EXPECT_EQ(e.reason, ExitReason::kIo) << e.detail;
  CpuState after = m.state();
  return {unsigned(after.gpr[kRsi]), after.gpr[kRdi], after};
}

TEST(X87Exceptions, TaskSwitchedRaisesDeviceNotAvailable) {
  Outcome r = run("fld1", cr0::kTS);
  EXPECT_EQ(r.vector, 7u);
  EXPECT_EQ(r.state.fpu.ftw, 0u); // nothing executed
}

TEST(X87Exceptions, EmulationRaisesDeviceNotAvailableEvenForNonWaiting) {
  EXPECT_EQ(run("fninit", cr0::kEM).vector, 7u);
  EXPECT_EQ(run("fnstsw ax", cr0::kEM).vector, 7u);
}

TEST(X87Exceptions, WaitRaisesDeviceNotAvailableOnlyWithMonitorCoprocessor) {
  EXPECT_EQ(run("fwait", cr0::kTS | cr0::kMP).vector, 7u);
  EXPECT_EQ(run("fwait", cr0::kTS).vector, kNoFault);
  EXPECT_EQ(run("fwait", cr0::kEM).vector, kNoFault);
}

const std::string kPendingZeroDivide = "push 0x37b\n fldcw [rsp]\n fld1\n fldz\n fdivp st1, st0\n";

// RBX holds the address of the instruction labelled `target`.
TEST(X87Exceptions, PendingUnmaskedExceptionRaisesMathFaultAtNextWaitingInstruction) {
  Outcome r = run("lea rbx, [rel target]\n" + kPendingZeroDivide +
                      "fnstsw ax\n fnstcw [rsp]\n fnclex\n fld1\n fldz\n fdivp st1, st0\n"
                      "nop\n target: fwait\n",
                  cr0::kNE);
  EXPECT_EQ(r.vector, 16u);
  EXPECT_EQ(r.fault_rip, r.state.gpr[kRbx]);
  // The non-waiting FNSTSW stored the pending status: ES, B and ZE, TOP unchanged (no pop).
  EXPECT_EQ(r.state.gpr[kRax] & 0xffff, 0xb084u);
}

TEST(X87Exceptions, MathFaultAtAnyWaitingX87Instruction) {
  Outcome r =
      run("lea rbx, [rel target]\n" + kPendingZeroDivide + "mov eax, 1\n target: fld1\n", cr0::kNE);
  EXPECT_EQ(r.vector, 16u);
  EXPECT_EQ(r.fault_rip, r.state.gpr[kRbx]);
  EXPECT_EQ(r.state.fpu.fsw >> 11 & 7, 6u); // the FLD1 did not push
}

TEST(X87Exceptions, WithoutNumericErrorPendingExceptionsAreIgnored) {
  Outcome r = run(kPendingZeroDivide + "fwait\n fld1\n", 0);
  EXPECT_EQ(r.vector, kNoFault);
  EXPECT_EQ(r.state.fpu.fsw & 0x80ff, 0x8084u); // still pending: B, ES, ZE
}

} // namespace
} // namespace rrvm::test
