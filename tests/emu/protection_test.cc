// Protected-mode segment limit and type checks on data and stack accesses (#GP(0), and #SS(0)
// through SS), expand-down segments, and the alignment check (#AC(0)) at CPL 3. Each case
// installs handlers that leave the vector in ESI and the error code in EDI, sets EBX=1 once the
// accesses that must pass have passed, and then makes the access that must fault.
#include <gtest/gtest.h>

#include <string>

#include "vmm/emu/testing/emu_machine.h"

namespace rrvm::test {
namespace {

struct Case {
  const char* name;
  Mode mode;
  const char* code;
  uint8_t vector;
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << c.name;
}

// Handlers for #SS, #GP and #AC (vectors with an error code) through an IDT at 0x30000, and in
// 32-bit mode extra GDT entries: 0x40 read/write data, 0x48 read-only data and 0x50 read/write
// expand-down data, all based at 0x20000 with a byte-granular limit of 0xfff.
std::string prologue(Mode mode) {
  const bool wide = mode == Mode::kLong64;
  std::string s = wide ? "%define GATE 16\n%define ERROR_CODE rdi\n"
                       : "%define GATE 8\n%define ERROR_CODE edi\n";
  // Long mode: CR0.AM set, a misaligned access at ring 0 (never checked), then IRETQ to the
  // label ring3 at CPL 3 with EFLAGS.AC clear.
  if (wide)
    s += R"(
%macro to_ring3_with_am 0
  mov qword [0x604], 0x70000 ; RSP0
  mov rax, cr0
  or eax, 1 << 18
  mov cr0, rax
  mov eax, [0x20001]
  push 0x23
  push 0x60000
  push 0x3002
  push 0x2b
  push ring3
  iretq
%endmacro
)";
  s += R"(
%macro gate 1
  mov eax, fault%1
  mov word [0x30000 + %1 * GATE], ax
  mov word [0x30000 + %1 * GATE + 2], cs
  mov word [0x30000 + %1 * GATE + 4], 0x8e00
  shr eax, 16
  mov word [0x30000 + %1 * GATE + 6], ax
%endmacro
%macro handler 1
fault%1:
  mov esi, %1
  pop ERROR_CODE
  out 0xf4, al
%endmacro
  jmp setup
  handler 12
  handler 13
  handler 17
idtr:
  dw 256 * GATE - 1
  dq 0x30000
gdtr:
  dw 0x57
  dq 0x500
setup:
  gate 12
  gate 13
  gate 17
  lidt [idtr]
  mov dword [0x540], 0x00000fff
  mov dword [0x544], 0x00409302
  mov dword [0x548], 0x00000fff
  mov dword [0x54c], 0x00409102
  mov dword [0x550], 0x00000fff
  mov dword [0x554], 0x00409702
  lgdt [gdtr]
  xor ebx, ebx
)";
  return s;
}

class ProtectionTest : public ::testing::TestWithParam<Case> {};

TEST_P(ProtectionTest, RaisesTheSdmFault) {
  const Case& c = GetParam();
  EmuMachine m(c.mode);
  m.load(prologue(c.mode) + c.code + "\nmov esi, 0xff\nout 0xf4, al\n");
  Exit& e = m.run();
  ASSERT_EQ(e.reason, ExitReason::kIo) << exit_reason_name(e.reason) << " " << e.detail;
  const CpuState s = m.state();
  EXPECT_EQ(s.gpr[kRbx], 1u) << "an access that must pass faulted";
  EXPECT_EQ(s.gpr[kRsi], c.vector) << "0xff: nothing faulted";
  EXPECT_EQ(s.gpr[kRdi], 0u) << "error code";
}

INSTANTIATE_TEST_SUITE_P(
    Segments, ProtectionTest,
    ::testing::Values(
        Case{"ReadPastTheLimit", Mode::kProtected32,
             "mov ax, 0x40\nmov ds, ax\nmov eax, [0xffc]\nmov ebx, 1\nmov eax, [0xffd]", 13},
        Case{"WriteToReadOnlyData", Mode::kProtected32,
             "mov ax, 0x48\nmov ds, ax\nmov eax, [0]\nmov ebx, 1\nmov [0], eax", 13},
        Case{"ExpandDownBelowTheLimit", Mode::kProtected32,
             "mov ax, 0x50\nmov es, ax\nmov eax, [es:0x1000]\nmov [es:0xfffffffc], eax\n"
             "mov ebx, 1\nmov eax, [es:0xffe]",
             13},
        Case{"StackAccessPastTheLimit", Mode::kProtected32,
             "mov ax, 0x40\nmov ss, ax\nmov esp, 0xff0\nmov ebp, 0xffc\nmov eax, [ebp]\n"
             "mov ebx, 1\nmov ebp, 0xffe\nmov eax, [ebp]",
             12},
        Case{"PopPastTheLimit", Mode::kProtected32,
             "mov ax, 0x40\nmov ss, ax\nmov esp, 0xffa\npop eax\nmov ebx, 1\npop eax", 12},
        Case{"NullSegment", Mode::kProtected32,
             "mov eax, [fs:0x20000]\nmov ebx, 1\nxor eax, eax\nmov fs, ax\nmov eax, [fs:0x20000]",
             13},
        Case{"WriteThroughCodeSegment", Mode::kProtected32,
             "mov eax, [cs:0x20000]\nmov ebx, 1\nmov [cs:0x20000], eax", 13},
        Case{"NoLimitsOrTypesInLongMode", Mode::kLong64,
             "mov ax, 0x48\nmov ds, ax\nmov eax, [0x21000]\nmov [0x21000], eax\nmov ebx, 1", 0xff}),
    [](const auto& info) { return std::string(info.param.name); });

// Ring 3 in long mode with CR0.AM: a misaligned access passes while EFLAGS.AC is clear and
// faults once it is set, in translated code too; ring 0 is never checked.
INSTANTIATE_TEST_SUITE_P(Alignment, ProtectionTest,
                         ::testing::Values(Case{"MisalignedAtRing3WithAc", Mode::kLong64, R"(
  to_ring3_with_am
ring3:
  mov eax, [0x20001]
  mov ax, [0x20002]
  pushfq
  or dword [rsp], 1 << 18
  popfq
  mov eax, [0x20004]
  mov ebx, 1
  mov eax, [0x20002]
)",
                                                17},
                                           // The loop runs translated before POPF sets AC.
                                           Case{"MisalignedInATranslatedLoopOnceAcIsSet",
                                                Mode::kLong64, R"(
  to_ring3_with_am
ring3:
  mov ecx, 100
hot:
  mov eax, [0x20001]
  dec ecx
  jnz hot
  test ebx, ebx
  jnz finish
  mov ebx, 1
  pushfq
  or dword [rsp], 1 << 18
  popfq
  jmp ring3
finish:
)",
                                                17}),
                         [](const auto& info) { return std::string(info.param.name); });

} // namespace
} // namespace rrvm::test
