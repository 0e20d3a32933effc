// The SDM's checks around SSE, MMX and FXSAVE on the interpreter: #UD without CR4.OSFXSR or with
// CR0.EM, #NM with CR0.TS, #GP for misaligned 16-byte operands and reserved MXCSR bits, #XM or
// #UD for unmasked floating-point exceptions (destination untouched, flags as the SDM orders
// them), #UD for the extensions CPUID hides. Each case runs at CPL 0 in long mode with handlers
// that leave the vector in ESI; ESI=0xff means nothing faulted.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <string>

#include "vmm/emu/code_cache.h"
#include "vmm/emu/cpu.h"
#include "vmm/emu/handlers.h"
#include "vmm/emu/testing/emu_machine.h"
#include "vmm/register_dump.h"

namespace rrvm::test {
namespace {

struct Case {
  const char* name;
  const char* code;
  uint8_t vector;
  std::function<void(const CpuState&)> check = nullptr;
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << c.name;
}

// Handlers for #UD, #NM, #GP and #XM; SSE enabled (OSFXSR, OSXMMEXCPT) unless a case clears it.
const char* kPrologue = R"(
%macro gate 1
  mov eax, fault%1
  mov word [0x30000 + %1 * 16], ax
  mov word [0x30000 + %1 * 16 + 2], cs
  mov word [0x30000 + %1 * 16 + 4], 0x8e00
  shr eax, 16
  mov word [0x30000 + %1 * 16 + 6], ax
%endmacro
%macro handler 1
fault%1:
  mov esi, %1
  out 0xf4, al
%endmacro
  jmp setup
  handler 6
  handler 7
  handler 13
  handler 19
idtr:
  dw 256 * 16 - 1
  dq 0x30000
setup:
  gate 6
  gate 7
  gate 13
  gate 19
  lidt [idtr]
  mov rax, cr4
  or eax, 0x600
  mov cr4, rax
  mov rax, 0x3ff0000000000000
  movq xmm0, rax
  xorps xmm1, xmm1
  mov esi, 0xff
)";

uint32_t mxcsr_of(const CpuState& s) {
  return s.fpu.mxcsr;
}
uint64_t low_qword(const CpuState& s, unsigned x) {
  uint64_t v;
  std::memcpy(&v, s.fpu.xmm[x].data(), 8);
  return v;
}

class SseExceptionTest : public ::testing::TestWithParam<Case> {};

TEST_P(SseExceptionTest, RaisesWhatTheSdmSays) {
  const Case& c = GetParam();
  EmuMachine m(Mode::kLong64);
  m.load(std::string(kPrologue) + c.code + "\nout 0xf4, al\n");
  Exit& e = m.run();
  ASSERT_EQ(e.reason, ExitReason::kIo) << exit_reason_name(e.reason) << " " << e.detail;
  CpuState s = m.state();
  EXPECT_EQ(s.gpr[kRsi], c.vector);
  if (c.check) c.check(s);
}

const char* kClearOsfxsr = "mov rax, cr4\nand eax, ~0x200\nmov cr4, rax\n";
const char* kSetTs = "mov rax, cr0\nor eax, 8\nmov cr0, rax\n";
const char* kSetEm = "mov rax, cr0\nor eax, 4\nmov cr0, rax\n";

std::string with(const char* setup, const char* code) {
  return std::string(setup) + code;
}

std::vector<Case> cases() {
  static const std::string no_osfxsr = with(kClearOsfxsr, "addps xmm0, xmm1");
  static const std::string ts = with(kSetTs, "addps xmm0, xmm1");
  static const std::string em = with(kSetEm, "addps xmm0, xmm1");
  static const std::string mmx_ts = with(kSetTs, "paddb mm0, mm1");
  static const std::string mmx_no_osfxsr = with(kClearOsfxsr, "paddb mm0, mm1");
  static const std::string fxsave_em = with(kSetEm, "fxsave [0x20000]");
  static const std::string ldmxcsr_no_osfxsr = with(kClearOsfxsr, "stmxcsr [0x20000]");
  return {
      {"SseWithoutOsfxsrIsUd", no_osfxsr.c_str(), 6},
      {"SseWithTsIsNm", ts.c_str(), 7},
      {"SseWithEmIsUd", em.c_str(), 6},
      {"MmxWithTsIsNm", mmx_ts.c_str(), 7},
      {"MmxNeedsNoOsfxsr", mmx_no_osfxsr.c_str(), 0xff},
      {"FxsaveWithEmIsNm", fxsave_em.c_str(), 7},
      {"StmxcsrWithoutOsfxsrIsUd", ldmxcsr_no_osfxsr.c_str(), 6},
      {"MisalignedMovapsIsGp", "movaps xmm0, [0x20008]", 13},
      {"MisalignedMovdqaStoreIsGp", "movdqa [0x20008], xmm0", 13},
      {"MisalignedPaddIsGp", "paddd xmm0, [0x20004]", 13},
      {"MisalignedMovupsIsFine", "movups xmm0, [0x20008]", 0xff},
      {"MisalignedPcmpestriIsFine", "pcmpestri xmm0, [0x20001], 0", 0xff},
      {"MisalignedScalarIsFine", "addsd xmm0, [0x20001]", 0xff},
      {"MisalignedFxsaveIsGp", "fxsave [0x20008]", 13},
      {"ReservedMxcsrBitIsGp", "mov dword [0x20000], 0x10000\nldmxcsr [0x20000]", 13,
       [](const CpuState& s) { EXPECT_EQ(mxcsr_of(s), 0x1f80u); }},
      {"FxrstorReservedMxcsrIsGp",
       "fxsave [0x20000]\nmov dword [0x20018], 0x10000\nfxrstor [0x20000]", 13},
      {"UnmaskedDivideByZeroIsXm",
       "mov dword [0x20000], 0x1d80\nldmxcsr [0x20000]\ndivsd xmm0, xmm1", 19,
       [](const CpuState& s) {
         EXPECT_EQ(low_qword(s, 0), 0x3ff0000000000000u); // untouched
         EXPECT_EQ(mxcsr_of(s), 0x1d84u);                 // ZE flag
       }},
      {"UnmaskedWithoutOsxmmexceptIsUd",
       "mov rax, cr4\nand eax, ~0x400\nmov cr4, rax\n"
       "mov dword [0x20000], 0x1d80\nldmxcsr [0x20000]\ndivsd xmm0, xmm1",
       6},
      // 0/0 (invalid, masked) in one lane and 1/0 (divide by zero, unmasked) in the other: both
      // pre-computation flags are set, the destination stays.
      {"PrecomputationFlagsTogether",
       "mov dword [0x20000], 0x1d80\nldmxcsr [0x20000]\nmovq xmm2, xmm0\npslldq xmm2, 8\n"
       "divpd xmm2, xmm1",
       19,
       [](const CpuState& s) {
         EXPECT_EQ(mxcsr_of(s), 0x1d85u);
         EXPECT_EQ(low_qword(s, 2), 0u);
       }},
      // Overflow unmasked, precision masked: the real CPU reports the overflow alone.
      {"UnmaskedOverflowAlone",
       "mov dword [0x20000], 0x1b80\nldmxcsr [0x20000]\nmov rax, 0x7fefffffffffffff\n"
       "movq xmm3, rax\naddsd xmm3, xmm3",
       19, [](const CpuState& s) { EXPECT_EQ(mxcsr_of(s), 0x1b88u); }},
      // Underflow unmasked and an exact tiny result: #XM all the same (masked, no flag at all).
      {"UnmaskedExactUnderflowIsXm",
       "mov dword [0x20000], 0x1780\nldmxcsr [0x20000]\nmov eax, 0x00800000\nmovd xmm3, eax\n"
       "mov eax, 0x3f000000\nmovd xmm4, eax\nmulss xmm3, xmm4",
       19,
       [](const CpuState& s) {
         EXPECT_EQ(mxcsr_of(s), 0x1790u);
         EXPECT_EQ(low_qword(s, 3), 0x00800000u);
       }},
      {"MaskedExactUnderflowHasNoFlag",
       "mov eax, 0x00800000\nmovd xmm3, eax\nmov eax, 0x3f000000\nmovd xmm4, eax\n"
       "mulss xmm3, xmm4",
       0xff,
       [](const CpuState& s) {
         EXPECT_EQ(mxcsr_of(s), 0x1f80u);
         EXPECT_EQ(low_qword(s, 3), 0x00400000u);
       }},
      {"MaskedOverflowGivesInfinity",
       "mov rax, 0x7fefffffffffffff\nmovq xmm3, rax\naddsd xmm3, xmm3", 0xff,
       [](const CpuState& s) {
         EXPECT_EQ(low_qword(s, 3), 0x7ff0000000000000u);
         EXPECT_EQ(mxcsr_of(s), 0x1fa8u);
       }},
      // The denormal flag QEMU's TCG misses: a denormal operand without DAZ.
      {"DenormalOperandSetsDe", "mov eax, 1\nmovd xmm3, eax\naddss xmm3, xmm3", 0xff,
       [](const CpuState& s) { EXPECT_EQ(mxcsr_of(s), 0x1f82u); }},
      {"DazHidesTheDenormal",
       "mov dword [0x20000], 0x1fc0\nldmxcsr [0x20000]\nmov eax, 1\nmovd xmm3, eax\n"
       "addss xmm3, xmm3",
       0xff,
       [](const CpuState& s) {
         EXPECT_EQ(mxcsr_of(s), 0x1fc0u);
         EXPECT_EQ(low_qword(s, 3), 0u);
       }},
      {"AvxIsUd", "vaddps xmm0, xmm0, xmm1", 6},
      {"AesIsUd", "aesenc xmm0, xmm1", 6},
      {"PclmulIsUd", "pclmulqdq xmm0, xmm1, 0", 6},
      {"XgetbvIsUd", "xor ecx, ecx\nxgetbv", 6},
      {"MovbeIsUd", "movbe eax, [0x20000]", 6},
      {"AdcxIsUd", "adcx eax, ebx", 6},
      {"MmxEntersMmxMode", "paddb mm0, mm1", 0xff,
       [](const CpuState& s) {
         EXPECT_EQ(s.fpu.ftw, 0xff);
         EXPECT_EQ(s.fpu.st[0][9], 0xff);
       }},
      {"EmmsEmptiesTheTags", "paddb mm0, mm1\nemms", 0xff,
       [](const CpuState& s) { EXPECT_EQ(s.fpu.ftw, 0); }},
      {"CmpXchg16bNeedsAlignment", "cmpxchg16b [0x20008]", 13},
      {"LegacyFxsaveKeepsSelectors",
       "mov rax, 0x1234\nmovq xmm5, rax\nfxsave [0x20000]\nxorps xmm5, xmm5\nfxrstor [0x20000]",
       0xff, [](const CpuState& s) { EXPECT_EQ(low_qword(s, 5), 0x1234u); }},
      {"CpuidAdvertisesX8664V2", "mov eax, 1\ncpuid", 0xff,
       [](const CpuState& s) {
         const uint64_t ecx = s.gpr[kRcx], edx = s.gpr[kRdx];
         // SSE3, SSSE3, CX16, SSE4.1, SSE4.2, POPCNT
         EXPECT_EQ(ecx & 0x00982201u, 0x00982201u) << std::hex << ecx;
         // PCLMULQDQ, MONITOR, FMA, MOVBE, AES, XSAVE, OSXSAVE, AVX, F16C, RDRAND
         EXPECT_EQ(ecx & 0x7e40100au, 0u) << std::hex << ecx;
         // FPU, CX8, CMOV, CLFSH, MMX, FXSR, SSE, SSE2
         EXPECT_EQ(edx & 0x07888101u, 0x07888101u) << std::hex << edx;
       }},
  };
}

INSTANTIATE_TEST_SUITE_P(Long64, SseExceptionTest, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

} // namespace
} // namespace rrvm::test

namespace rrvm::test {
namespace {

// Outside long mode: no REX, XMM0-7, 32-bit and 16-bit addressing, FXSAVE's legacy image.
TEST(SseModes, Protected32AndRealModeRunSse) {
  for (Mode mode : {Mode::kProtected32, Mode::kReal}) {
    EmuMachine m(mode);
    m.load(R"(
  mov eax, cr4
  or eax, 0x600
  mov cr4, eax
  mov dword [0x2000], 0x3f800000
  mov dword [0x2004], 7
  movss xmm1, [0x2000]
  addss xmm1, xmm1
  movd xmm7, [0x2004]
  pshufd xmm7, xmm7, 0
  paddd xmm7, xmm7
  movd ebx, xmm1
  pextrw ecx, xmm7, 6
  fxsave [0x2100]
  mov edx, [0x2100 + 160 + 7 * 16 + 12]
  out 0xf4, al
)");
    Exit& e = m.run();
    ASSERT_EQ(e.reason, ExitReason::kIo) << exit_reason_name(e.reason) << " " << e.detail;
    CpuState s = m.state();
    EXPECT_EQ(s.gpr[kRbx], 0x40000000u); // 2.0f
    EXPECT_EQ(s.gpr[kRcx], 14u);
    EXPECT_EQ(s.gpr[kRdx], 14u);
  }
}

} // namespace
} // namespace rrvm::test

namespace rrvm::test {
namespace {

TEST(SseRegisterDump, ShowsTheControlWordsAndTheXmmRegistersInUse) {
  CpuState s;
  s.fpu.xmm[3][0] = 0xef;
  s.fpu.xmm[3][15] = 0x12;
  s.fpu.xmm[12][7] = 1;
  const std::string dump = register_dump(s);
  EXPECT_NE(dump.find("fcw 037f fsw 0000 ftw 00 mxcsr 00001f80"), std::string::npos) << dump;
  EXPECT_NE(dump.find("xmm3  120000000000000000000000000000ef"), std::string::npos) << dump;
  EXPECT_NE(dump.find("xmm12 00000000000000000100000000000000"), std::string::npos) << dump;
  EXPECT_EQ(dump.find("xmm0 "), std::string::npos) << dump;
}

} // namespace
} // namespace rrvm::test

namespace rrvm::test {
namespace {

// Every legacy-encoded SSE..SSE4.2/MMX opcode (each map, mandatory prefix, register and memory
// form) decodes to a handler: none falls to "unsupported instruction".
TEST(SseCoverage, EveryEncodingHasAHandler) {
  GuestMemory mem(1 << 20);
  emu::Cpu cpu(mem, CpuidTable::emulated());
  ZydisDecoder decoder;
  ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  std::vector<std::string> missing;
  const std::vector<std::vector<uint8_t>> maps = {{0x0f}, {0x0f, 0x38}, {0x0f, 0x3a}};
  unsigned checked = 0;
  for (const auto& map : maps)
    for (int prefix : {-1, 0x66, 0xf2, 0xf3})
      for (unsigned op = 0; op < 256; ++op)
        for (uint8_t modrm : {uint8_t(0xc1), uint8_t(0x01), uint8_t(0xd3)}) {
          std::vector<uint8_t> bytes;
          if (prefix >= 0) bytes.push_back(uint8_t(prefix));
          bytes.insert(bytes.end(), map.begin(), map.end());
          bytes.push_back(uint8_t(op));
          bytes.push_back(modrm);
          bytes.insert(bytes.end(), {0x10, 0, 0, 0, 0, 0, 0, 0});
          ZydisDecodedInstruction zi;
          ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
          if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder, bytes.data(), bytes.size(), &zi, ops)))
            continue;
          switch (zi.meta.isa_set) {
          case ZYDIS_ISA_SET_SSE:
          case ZYDIS_ISA_SET_SSE2:
          case ZYDIS_ISA_SET_SSE2MMX:
          case ZYDIS_ISA_SET_SSE3:
          case ZYDIS_ISA_SET_SSSE3:
          case ZYDIS_ISA_SET_SSSE3MMX:
          case ZYDIS_ISA_SET_SSE4:
          case ZYDIS_ISA_SET_SSE42:
          case ZYDIS_ISA_SET_PENTIUMMMX:
          case ZYDIS_ISA_SET_SSEMXCSR:
          case ZYDIS_ISA_SET_FXSAVE:
          case ZYDIS_ISA_SET_FXSAVE64:
          case ZYDIS_ISA_SET_POPCNT:
          case ZYDIS_ISA_SET_CLFSH:
            break;
          default:
            continue;
          }
          emu::Insn in;
          ASSERT_TRUE(cpu.code->decode(bytes.data(), bytes.size(), 64, in));
          ++checked;
          if (in.fn == emu::not_implemented)
            missing.push_back(std::string(ZydisMnemonicGetString(zi.mnemonic)));
        }
  EXPECT_GT(checked, 900u);
  std::string list;
  for (const auto& m : missing)
    list += m + " ";
  EXPECT_TRUE(missing.empty()) << list;
}

} // namespace
} // namespace rrvm::test
