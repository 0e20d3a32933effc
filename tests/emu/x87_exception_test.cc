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

// Vectors 7 (#NM), 14 (#PF) and 16 (#MF) lead to a handler that leaves the vector in ESI and the
// faulting RIP in RDI; a run without a fault leaves ESI = kNoFault.
std::string with_handlers(const std::string& body) {
  return "jmp start\n"
         "nm: mov esi, 7\n pop rdi\n out 0xf4, al\n"
         "mf: mov esi, 16\n pop rdi\n out 0xf4, al\n"
         "pf: mov esi, 14\n pop rdx\n pop rdi\n out 0xf4, al\n"
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
  // The handlers sit right after the 2-byte jump: nm at +2, mf at +2 + 5 + 1 + 2, pf 8 later.
  set_gate(m, 7, kCodeAddr + 2);
  set_gate(m, 16, kCodeAddr + 2 + 8);
  set_gate(m, 14, kCodeAddr + 2 + 16);
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
                      "fnstsw ax\n fnclex\n fld1\n fldz\n fdivp st1, st0\n"
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

// The second GiB is not mapped: a faulting store or load leaves the x87 state as it was.
TEST(X87Exceptions, PageFaultingStoreLeavesTheStackAlone) {
  Outcome r = run("lea rbx, [rel target]\n fld1\n fld1\n mov rax, 0x40000000\n"
                  "target: fstp qword [rax]\n",
                  0);
  EXPECT_EQ(r.vector, 14u);
  EXPECT_EQ(r.fault_rip, r.state.gpr[kRbx]);
  EXPECT_EQ(r.state.fpu.fsw >> 11 & 7, 6u);
  EXPECT_EQ(r.state.fpu.ftw, 0xc0u);
  // FIP is the second FLD1's (two bytes before the five-byte MOV), not the store's.
  EXPECT_EQ(r.state.fpu.fip, r.state.gpr[kRbx] - 7);
}

TEST(X87Exceptions, PageFaultingLoadLeavesTheStackAlone) {
  Outcome r =
      run("lea rbx, [rel target]\n fld1\n mov rax, 0x40000000\n target: fld tword [rax]\n", 0);
  EXPECT_EQ(r.vector, 14u);
  EXPECT_EQ(r.fault_rip, r.state.gpr[kRbx]);
  EXPECT_EQ(r.state.fpu.fsw >> 11 & 7, 7u);
  EXPECT_EQ(r.state.fpu.ftw, 0x80u);
}

// The environment layouts outside 64-bit mode, which the differential tests cannot reach (PVM
// runs only 64-bit user code natively): the values follow the SDM's figures for FNSTENV, with
// FCS/FDS zero as on CPUs that deprecate them. A zero divide with ZE unmasked makes FOP and FDP
// change; FIP names the divide, FDP its operand (linear addresses in real mode, offsets else).
const char* kEnvBody = R"(
  mov word [0x8000], 7
  mov word [0x8002], 0
  mov word [0x8004], 0x37b
  mov dword [0x8008], divide
  fninit
  fldcw [0x8004]
  fild word [0x8000]
divide:
  fidiv word [0x8002]
  o16 fnstenv [0x8010]
  o32 fnstenv [0x8030]
  out 0xf4, al
)";

uint16_t word_at(EmuMachine& m, uint64_t a) {
  return m.memory.load<uint16_t>(a);
}
uint32_t dword_at(EmuMachine& m, uint64_t a) {
  return m.memory.load<uint32_t>(a);
}

TEST(X87Environment, RealModeLayouts) {
  EmuMachine m(Mode::kReal);
  m.load(std::string("bits 16\n") + kEnvBody);
  Exit& e = m.run();
  ASSERT_EQ(e.reason, ExitReason::kIo) << e.detail;
  const uint32_t fip = uint32_t(kCodeAddr) + dword_at(m, 0x8008);
  const uint16_t fop = 0x636; // DE, ModRM 36: FIDIV m16int [disp16]
  // 14 bytes: FCW, FSW, FTW, FIP[15:0], FIP[19:16] and FOP, FDP[15:0], FDP[19:16].
  EXPECT_EQ(word_at(m, 0x8010), 0x37bu);
  EXPECT_EQ(word_at(m, 0x8012), 0xb884u); // B, TOP 7, ES, ZE
  EXPECT_EQ(word_at(m, 0x8014), 0x3fffu); // ST(0) valid (physical 7), the rest empty
  EXPECT_EQ(word_at(m, 0x8016), fip & 0xffff);
  EXPECT_EQ(word_at(m, 0x8018), (fip >> 16) << 12 | fop);
  EXPECT_EQ(word_at(m, 0x801a), 0x8002u);
  EXPECT_EQ(word_at(m, 0x801c), 0u);
  // 28 bytes, the same fields in 32-bit slots (after the first FNSTENV masked everything).
  EXPECT_EQ(dword_at(m, 0x8030), 0xffff037fu);
  EXPECT_EQ(dword_at(m, 0x803c), 0xffff0000u | (fip & 0xffff));
  EXPECT_EQ(dword_at(m, 0x8040), (fip >> 16) << 12 | fop);
  EXPECT_EQ(dword_at(m, 0x8044), 0xffff8002u);
  EXPECT_EQ(dword_at(m, 0x8048), 0u);
}

TEST(X87Environment, Protected32Layouts) {
  EmuMachine m(Mode::kProtected32);
  m.load(std::string("bits 32\n") + kEnvBody);
  Exit& e = m.run();
  ASSERT_EQ(e.reason, ExitReason::kIo) << e.detail;
  const uint32_t fip = dword_at(m, 0x8008);
  const uint16_t fop = 0x635; // DE, ModRM 35: FIDIV m16int [disp32]
  // 28 bytes: FCW, FSW, FTW, FIP, FCS and FOP, FDP, FDS.
  EXPECT_EQ(dword_at(m, 0x8030), 0xffff037fu);
  EXPECT_EQ(dword_at(m, 0x8034), 0xffff3804u); // ES and B cleared by FNSTENV's masking
  EXPECT_EQ(dword_at(m, 0x803c), fip);
  EXPECT_EQ(dword_at(m, 0x8040), uint32_t(fop) << 16);
  EXPECT_EQ(dword_at(m, 0x8044), 0x8002u);
  EXPECT_EQ(dword_at(m, 0x8048), 0xffff0000u);
  // 14 bytes: FCW, FSW, FTW, FIP, FCS, FDP, FDS.
  EXPECT_EQ(word_at(m, 0x8010), 0x37bu);
  EXPECT_EQ(word_at(m, 0x8012), 0xb884u);
  EXPECT_EQ(word_at(m, 0x8016), fip & 0xffff);
  EXPECT_EQ(word_at(m, 0x8018), 0u);
  EXPECT_EQ(word_at(m, 0x801a), 0x8002u);
}

} // namespace
} // namespace rrvm::test
