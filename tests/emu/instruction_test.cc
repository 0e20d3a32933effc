// Instruction families with exact results and flags, in 64-bit, 32-bit protected and real mode,
// each case started from initial_state() and ended by OUT 0xf4.
#include <gtest/gtest.h>

#include <vector>

#include "vmm/emu/testing/emu_machine.h"

namespace rrvm::test {
namespace {

using rflags::kAF, rflags::kCF, rflags::kOF, rflags::kPF, rflags::kSF, rflags::kZF;

struct Case {
  const char* name;
  const char* code;
  std::vector<std::pair<unsigned, uint64_t>> regs; // GPR number, expected value
  uint64_t flags_mask = 0;                         // flags checked
  uint64_t flags = 0;                              // their expected values
  uint64_t count = 0;        // expected instruction count when nonzero (including the OUT)
  Mode mode = Mode::kLong64; // set by cases() for the whole suite
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << c.name;
}

class InstructionTest : public ::testing::TestWithParam<Case> {};

TEST_P(InstructionTest, ResultsAndFlags) {
  const Case& c = GetParam();
  EmuMachine m(c.mode);
  m.load(std::string(c.code) + "\nout 0xf4, al\n");
  Exit& e = m.run();
  ASSERT_EQ(e.reason, ExitReason::kIo) << exit_reason_name(e.reason) << " " << e.detail;
  ASSERT_EQ(e.io.port, 0xf4);
  CpuState s = m.state();
  for (auto [r, v] : c.regs)
    EXPECT_EQ(s.gpr[r], v) << "register " << r;
  EXPECT_EQ(s.rflags & c.flags_mask, c.flags) << std::hex << "rflags " << s.rflags;
  if (c.count) {
    EXPECT_EQ(*m.engine.instruction_count(), c.count);
  }
}

const uint64_t kAll = kCF | kPF | kAF | kZF | kSF | kOF;

// The cases of one suite, all run in `mode`.
auto cases(Mode mode, std::vector<Case> list) {
  for (Case& c : list)
    c.mode = mode;
  return ::testing::ValuesIn(list);
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(
    Long64, InstructionTest,
    cases(
        Mode::kLong64,
        {{"AddOverflow",
          "mov rax, 0x7fffffffffffffff\nadd rax, 1",
          {{kRax, 0x8000000000000000ull}},
          kAll,
          kOF | kSF | kAF | kPF,
          3},
         {"AddByteCarryZero", "mov al, 0xff\nadd al, 1", {{kRax, 0}}, kAll, kCF | kZF | kAF | kPF},
         {"Sub32ZeroExtends",
          "mov rax, -1\nmov eax, 0\nsub eax, 1",
          {{kRax, 0xffffffffull}},
          kAll,
          kCF | kSF | kAF | kPF},
         {"Neg16MinValue", "mov ax, 0x8000\nneg ax", {{kRax, 0x8000}}, kAll, kCF | kOF | kSF | kPF},
         {"AdcIntoSign", "stc\nmov bl, 0x7f\nadc bl, 0", {{kRbx, 0x80}}, kAll, kOF | kSF | kAF},
         {"SbbBorrowChain",
          "mov rax, 0\nmov rdx, 1\nsub rax, 1\nsbb rdx, 0",
          {{kRax, ~0ull}, {kRdx, 0}},
          kCF | kZF,
          kZF},
         {"IncKeepsCarry",
          "stc\nmov ecx, 0xffffffff\ninc ecx",
          {{kRcx, 0}},
          kAll,
          kCF | kZF | kAF | kPF},
         {"Shl1",
          "mov eax, 0x80000001\nshl eax, 1",
          {{kRax, 2}},
          kCF | kOF | kSF | kZF | kPF,
          kCF | kOF},
         {"SarFill",
          "mov eax, 0x80000000\nsar eax, 31",
          {{kRax, 0xffffffff}},
          kCF | kSF | kZF | kPF,
          kSF | kPF},
         {"ShiftByZeroKeepsFlags",
          "stc\nmov cl, 0\nmov eax, 5\nshl eax, cl",
          {{kRax, 5}},
          kCF,
          kCF},
         {"Rol8", "mov ecx, 0x12345678\nrol ecx, 8", {{kRcx, 0x34567812}}, kCF, 0},
         {"RclThroughCarry", "stc\nmov al, 0x80\nrcl al, 1", {{kRax, 1}}, kCF | kOF, kCF | kOF},
         {"IdivNegative",
          "mov rax, -7\nmov rcx, 2\ncqo\nidiv rcx",
          {{kRax, uint64_t(-3)}, {kRdx, uint64_t(-1)}}},
         {"Mul64High",
          "mov rax, 0x100000000\nmov rdx, 0x100000000\nmul rdx",
          {{kRax, 0}, {kRdx, 1}},
          kCF | kOF,
          kCF | kOF},
         {"Imul3Overflow",
          "mov ebx, 0x40000000\nimul eax, ebx, 4",
          {{kRax, 0}},
          kCF | kOF,
          kCF | kOF},
         {"Bswap", "mov eax, 0x12345678\nbswap eax", {{kRax, 0x78563412}}},
         {"BsfFound", "mov ebx, 0x10\nbsf ecx, ebx", {{kRcx, 4}}, kZF, 0},
         {"BsfZeroKeepsDestination",
          "mov ecx, 99\nxor ebx, ebx\nbsf ecx, ebx",
          {{kRcx, 99}},
          kZF,
          kZF},
         {"BtsMemoryNegativeOffset",
          "mov rbx, 0x20010\nmov rax, -1\nbts qword [rbx], rax\nmov rdx, [0x20008]",
          {{kRdx, 0x8000000000000000ull}},
          kCF,
          0},
         {"CmpxchgEqual",
          "mov rax, 5\nmov rbx, 5\nmov rcx, 9\ncmpxchg rbx, rcx",
          {{kRbx, 9}, {kRax, 5}},
          kZF,
          kZF},
         {"CmpxchgDifferent",
          "mov rax, 4\nmov rbx, 5\nmov rcx, 9\ncmpxchg rbx, rcx",
          {{kRbx, 5}, {kRax, 5}},
          kZF,
          0},
         {"XaddSwapsAndAdds", "mov eax, 3\nmov ebx, 4\nxadd eax, ebx", {{kRax, 7}, {kRbx, 3}}},
         {"SetccCmovcc",
          "mov ecx, 7\nmov eax, 1\ncmp eax, 2\nsetl bl\ncmovb ecx, eax",
          {{kRbx, 1}, {kRcx, 1}}},
         {"CmovFalseStillZeroExtends",
          "mov rcx, -1\ncmp eax, eax\ncmovne ecx, eax",
          {{kRcx, 0xffffffff}}},
         {"RepStosCountsIterations",
          "mov rdi, 0x20000\nmov ecx, 4\nmov al, 0xab\nrep stosb\nmov edx, [0x20000]",
          {{kRcx, 0}, {kRdi, 0x20004}, {kRdx, 0xabababab}},
          0,
          0,
          9},
         {"RepeCmpsStopsAtDifference",
          "mov dword [0x20000], 0x11223344\nmov dword [0x20100], 0x11993344\n"
          "mov rsi, 0x20000\nmov rdi, 0x20100\nmov ecx, 4\nrepe cmpsb",
          {{kRcx, 1}, {kRsi, 0x20003}},
          kZF | kCF,
          kCF},
         {"StdMovsBackwards",
          "mov rax, 0x0807060504030201\nmov [0x20000], rax\nstd\nmov rsi, 0x20007\nmov rdi, "
          "0x20107\n"
          "mov ecx, 8\nrep movsb\ncld\nmov rax, [0x20100]",
          {{kRax, 0x0807060504030201ull}, {kRsi, 0x1ffff}}},
         {"PushPopImmediate", "push 0x1234\npop rbx", {{kRbx, 0x1234}, {kRsp, kStackTop}}},
         {"Popcnt", "mov eax, 0xf0\npopcnt ebx, eax", {{kRbx, 4}}, kAll, 0},
         {"LeaScaled", "mov rbx, 10\nmov rcx, 3\nlea rax, [rbx + rcx*8 - 4]", {{kRax, 30}}},
         {"CallRet", "call f\njmp done\nf: mov eax, 5\nret\ndone:", {{kRax, 5}, {kRsp, kStackTop}}},
         {"LoopCountsRcx", "mov ecx, 3\nxor eax, eax\nl: inc eax\nloop l", {{kRax, 3}, {kRcx, 0}}},
         {"LahfSahf", "stc\nlahf\nclc\nsahf", {}, kCF, kCF},
         {"SyscallSysret",
          "mov ecx, 0xc0000081\nmov edx, 0x00180018\nxor eax, eax\nwrmsr\n"
          "mov ecx, 0xc0000082\nmov eax, k\nxor edx, edx\nwrmsr\nsyscall\nafter: jmp done\n"
          "k: mov rbx, rcx\nsub rbx, after\nmov rcx, after\nmov r11, 0x3002\no64 sysret\n"
          "done: mov dx, cs\nmov si, ss\n",
          {{kRbx, 0}, {kRdx, 0x2b}, {kRsi, 0x23}}}}),
    case_name);

INSTANTIATE_TEST_SUITE_P(
    Protected32, InstructionTest,
    cases(Mode::kProtected32,
          {{"IncKeepsCarry",
            "stc\nmov eax, 0xffffffff\ninc eax",
            {{kRax, 0}},
            kAll,
            kCF | kZF | kAF | kPF},
           {"Div", "xor edx, edx\nmov eax, 100\nmov ebx, 7\ndiv ebx", {{kRax, 14}, {kRdx, 2}}},
           {"EnterLeave",
            "enter 16, 0\nmov eax, esp\nleave",
            {{kRax, kStackTop - 20}, {kRsp, kStackTop}}},
           {"Xlat", "mov ebx, 0x20000\nmov byte [0x20005], 0x77\nmov al, 5\nxlatb", {{kRax, 0x77}}},
           {"CwdeCdq", "mov ax, 0x8000\ncwde\ncdq", {{kRax, 0xffff8000}, {kRdx, 0xffffffff}}},
           {"Shld",
            "mov eax, 0x12345678\nmov ebx, 0x9abcdef0\nshld eax, ebx, 8",
            {{kRax, 0x3456789a}},
            kCF,
            0},
           {"Cmpxchg8b",
            "mov dword [0x20000], 1\nmov dword [0x20004], 2\nmov eax, 1\nmov edx, 2\n"
            "mov ebx, 5\nmov ecx, 6\ncmpxchg8b [0x20000]\nmov esi, [0x20000]\nmov edi, [0x20004]",
            {{kRsi, 5}, {kRdi, 6}},
            kZF,
            kZF},
           {"RepneScas",
            "mov dword [0x20000], 0x00636261\nmov edi, 0x20000\nmov ecx, 10\nxor al, al\n"
            "repne scasb",
            {{kRcx, 6}, {kRdi, 0x20004}},
            kZF,
            kZF},
           {"PushaPopa",
            "mov eax, 1\nmov ecx, 2\npushad\nxor eax, eax\nxor ecx, ecx\npopad",
            {{kRax, 1}, {kRcx, 2}, {kRsp, kStackTop}}},
           {"SegmentLoadAndOverride",
            "mov dword [0x20000], 0x5a5a\nmov ax, 0x10\nmov fs, ax\nmov ebx, [fs:0x20000]",
            {{kRbx, 0x5a5a}}},
           {"Daa", "mov al, 0x19\nadd al, 0x28\ndaa", {{kRax, 0x47}}, kCF, 0},
           {"Aam", "mov eax, 79\naam", {{kRax, 0x0709}}}}),
    case_name);

INSTANTIATE_TEST_SUITE_P(
    Real, InstructionTest,
    cases(Mode::kReal,
          {{"Add16", "mov ax, 0x1234\nmov bx, 0x10\nadd ax, bx", {{kRax, 0x1244}}, kAll, kPF},
           {"Addressing16",
            "mov bx, 0x100\nmov si, 0x20\nmov byte [bx+si+3], 0x5a\nmov al, [0x123]",
            {{kRax, 0x5a}}},
           {"LoopCx", "mov cx, 3\nxor ax, ax\nl: inc ax\nloop l", {{kRax, 3}, {kRcx, 0}}},
           {"PushPop16", "push word 0x4321\npop dx", {{kRdx, 0x4321}, {kRsp, 0xfff0}}},
           {"IntThroughIvt",
            "mov word [0x100], h\nmov word [0x102], cs\nint 0x40\njmp done\n"
            "h: mov bx, 0x99\niret\ndone:",
            {{kRbx, 0x99}, {kRsp, 0xfff0}}},
           {"FarCallRet",
            "call 0x1000:f\njmp done\nf: mov dx, 7\nretf\ndone:",
            {{kRdx, 7}, {kRsp, 0xfff0}}},
           {"SegmentArithmetic",
            "mov ax, 0x2000\nmov es, ax\nmov byte [es:0x10], 0x66\nmov ax, 0x2001\nmov ds, ax\n"
            "mov bl, [0]",
            {{kRbx, 0x66}}},
           {"OperandSizePrefix", "mov eax, 0x12345678\nadd eax, 0x11111111", {{kRax, 0x23456789}}},
           {"JcxzAndConditional",
            "xor cx, cx\njcxz z\nmov ax, 1\nz: cmp cx, 1\njb y\nmov ax, 2\ny:",
            {{kRax, 0}}}}),
    case_name);

} // namespace
} // namespace rrvm::test
