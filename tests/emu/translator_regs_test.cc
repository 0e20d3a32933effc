// Guest registers held in host registers within a translated block, and flag records left out
// where nothing sees them, against the interpreter: faults and handler calls between cached uses
// and between flag writers, flag readers after writers whose records were dropped, partial
// register writes after full-width cached ones, the stack pointer cached across PUSH/POP/CALL/RET,
// and INC/DEC at a block's start (whose CF comes from a record the block did not write). Every
// case runs whole and stopped at instruction limits inside its blocks.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <sstream>

#include "tests/emu/run_difference.h"
#include "vmm/emu/testing/emu_machine.h"

namespace rrvm::test {
namespace {

constexpr uint64_t kNotPresent = 0xc00000; // a 2 MiB page the long-mode cases leave unmapped
constexpr unsigned kLoops = 40;            // enough runs of each block for it to run translated

struct Outcome {
  std::vector<std::string> exits; // each with its count and RIP
  CpuState state;
  uint64_t count = 0;
  uint64_t translated = 0;
};

// Runs `source` to its OUT to port 0x80, stopping first at `limit` if one is given.
Outcome run(EmuMachine& m, const std::string& source, std::optional<uint64_t> limit) {
  m.load(source);
  m.memory.store<uint64_t>(0x3000 + 8 * (kNotPresent >> 21), 0);
  m.engine.set_instruction_limit(limit);
  Outcome o;
  for (unsigned n = 0; n < 100; ++n) {
    const Exit& e = run_past_kicks(m.engine);
    std::ostringstream x;
    x << exit_reason_name(e.reason) << " at " << *m.engine.instruction_count() << " rip "
      << std::hex << m.engine.exit_rip();
    o.exits.push_back(x.str());
    if (e.reason == ExitReason::kInstructionLimit) {
      m.engine.set_instruction_limit(std::nullopt);
      continue;
    }
    if (e.reason == ExitReason::kIo && e.io.port != 0x80) continue;
    break;
  }
  o.state = m.state();
  o.count = *m.engine.instruction_count();
  o.translated = m.engine.translated_blocks();
  return o;
}

std::string compare(Mode mode, const std::string& source, std::optional<uint64_t> limit) {
  auto interpreted = std::make_unique<EmuMachine>(mode, 16 << 20, false);
  auto translated = std::make_unique<EmuMachine>(mode, 16 << 20, true);
  const Outcome a = run(*interpreted, source, limit);
  const Outcome b = run(*translated, source, limit);
  std::ostringstream d;
  d << RunDifference()
           .exits(a.exits, b.exits)
           .registers(a.state, b.state)
           .count(a.count, b.count)
           .str();
  if (std::memcmp(interpreted->memory.host(), translated->memory.host(),
                  interpreted->memory.size()) != 0)
    d << "memory differs\n";
  if (b.translated == 0) d << "nothing was translated\n";
  return d.str();
}

// The whole run, then runs stopped at limits spread over it (most inside translated blocks).
void expect_same(Mode mode, const std::string& source) {
  EXPECT_EQ(compare(mode, source, std::nullopt), "");
  std::mt19937_64 rng(source.size());
  auto probe = std::make_unique<EmuMachine>(mode, 16 << 20, false);
  const uint64_t total = run(*probe, source, std::nullopt).count;
  for (unsigned i = 0; i < 6; ++i) {
    const uint64_t limit = 1 + rng() % total;
    EXPECT_EQ(compare(mode, source, limit), "") << "stopped at " << limit;
  }
}

// Long mode with a #PF handler that leaves the error code in r9, the faulting RIP in r10 and the
// RFLAGS the fault saw in r11, then ends the run; r15 points at data, r14 counts the loops, and
// r12 walks into the unmapped page by a page a loop, reaching it on the last.
std::string long_code(const std::string& body) {
  std::ostringstream t;
  t << R"(
  jmp setup
fault:
  pop r9
  pop r10
  pop r11
  pop r11
  out 0x80, al
idtr:
  dw 256 * 16 - 1
  dq 0x30000
setup:
  mov eax, fault
  mov word [0x30000 + 14 * 16], ax
  mov word [0x30000 + 14 * 16 + 2], cs
  mov word [0x30000 + 14 * 16 + 4], 0x8e00
  shr eax, 16
  mov word [0x30000 + 14 * 16 + 6], ax
  mov dword [0x30000 + 14 * 16 + 8], 0
  lidt [idtr]
  mov r15, )"
    << kDataAddr << R"(
  mov eax, 0x12345678
  mov ebx, 0x9abcdef0
  mov ecx, 7
  mov edx, 0xfffffff0
  mov esi, 0x80000000
  mov edi, 3
  mov r12, )"
    << kNotPresent - (kLoops - 1) * 0x1000 << R"(
  mov r14d, )"
    << kLoops << "\ntop:\n"
    << body << R"(
  dec r14d
  jnz top
  out 0x80, al
)";
  return t.str();
}

TEST(EmuTranslatorRegs, FaultBetweenTwoFlagWriters) {
  // The OR's flags (SF set) are seen by the #PF the load takes on the last loop; the SUB, IMUL
  // and AND before it drop theirs.
  expect_same(Mode::kLong64, long_code(R"(
  sub eax, ebx
  imul ecx, ecx, 5
  and edx, eax
  or edi, esi
  mov r8, [r12]
  sub ebx, eax
  add r12, 0x1000
)"));
}

TEST(EmuTranslatorRegs, FaultAfterElidedWriters) {
  // Writers whose records are dropped, then a store that faults on the last loop: the flags it
  // sees are the last writer's; the cached registers reach the Cpu before the handler runs.
  expect_same(Mode::kLong64, long_code(R"(
  add eax, ebx
  sub edx, eax
  xor ecx, edx
  add ebx, ecx
  mov [r12], ebx
  add r12, 0x1000
)"));
}

TEST(EmuTranslatorRegs, FlagReadersAfterElidedWriters) {
  static const char* kWriters[] = {
      "add eax, ebx", "sub ecx, edx", "and esi, eax",  "or edi, ecx",      "xor ebx, esi",
      "neg edx",      "shl eax, 3",   "sar ecx, 1",    "imul edx, ebx, 9", "inc esi",
      "dec edi",      "cmp eax, ecx", "test ebx, edx", "add rax, rbx",     "sub esi, 0x7fffffff",
      "rol ebx, 5",   "ror ecx, 1"};
  static const char* kReaders[] = {"setc r8b",       "cmovo r9d, eax",   "adc ebx, ecx",
                                   "sbb edx, esi",   "pushfq\n  pop r8", "setz r9b\n  setp r8b",
                                   "cmovl eax, edi", "rcl esi, 1",       "lahf\n  movzx ecx, ah"};
  std::mt19937_64 rng(3);
  std::ostringstream body;
  for (unsigned i = 0; i < 24; ++i) {
    for (unsigned n = 1 + unsigned(rng() % 4); n > 0; --n)
      body << "  " << kWriters[rng() % std::size(kWriters)] << "\n";
    body << "  " << kReaders[rng() % std::size(kReaders)] << "\n  add r8d, r9d\n";
  }
  expect_same(Mode::kLong64, long_code(body.str()));
}

TEST(EmuTranslatorRegs, IncDecAfterAnUnknownWriter) {
  // Each INC/DEC starts a block (the RET before ends the writer's), after writers of every
  // kind at every width: ADD, SUB, ADC and SBB (whose carry-in the CF rule must see) on operands
  // that carry each way, logic, NEG, a shift (flags committed), INC/DEC (CF frozen). Each CF is
  // hashed into r8.
  static const char* kWriters[] = {"add", "sub", "adc", "sbb", "and", "neg", "shl", "dec"};
  static const uint64_t kOperands[][2] = {{0x7fffffffffffffff, 0x8000000000000001},
                                          {0x8000000000000000, 0x8000000000000000},
                                          {0xff, 1},
                                          {1, 0xff},
                                          {0, 0},
                                          {0x0123456789abcdef, 0xfedcba9876543210}};
  std::ostringstream body, functions;
  unsigned id = 0;
  for (const char* w : kWriters) {
    for (unsigned size : {1u, 2u, 4u, 8u}) {
      static const char* kA[] = {"", "al", "ax", "", "eax", "", "", "", "rax"};
      static const char* kC[] = {"", "cl", "cx", "", "ecx", "", "", "", "rcx"};
      for (const auto& [a, b] : kOperands) {
        const std::string op = w;
        // Operands that carry each way at every width, and a CF set before each writer.
        functions << "f" << id << ":\n  " << op << " " << kA[size];
        if (op != "neg" && op != "dec") functions << ", " << (op == "shl" ? "1" : kC[size]);
        functions << "\n  ret\n";
        body << "  mov rax, " << a << "\n  mov rcx, " << b << "\n  cmp rax, rcx\n  call f" << id
             << "\n  " << (id % 2 ? "dec esi" : "inc edx")
             << "\n  setc r9b\n  lea r8, [r8 + r8 * 2]\n  add r8, r9\n";
        ++id;
      }
    }
  }
  expect_same(Mode::kLong64, long_code(body.str() + "  jmp next\n" + functions.str() + "next:\n"));
}

TEST(EmuTranslatorRegs, HandlerCallsChangeCachedRegisters) {
  // Handlers (not inline, called directly or through the trampoline) that write registers the
  // block holds: XCHG, ADC, SHL by CL, RCR, MUL, CDQ, BSWAP, XADD, CPUID, between full-width uses.
  expect_same(Mode::kLong64, long_code(R"(
  add eax, ebx
  xchg eax, ecx
  add ecx, eax
  adc eax, ecx
  add ebx, eax
  shl edx, cl
  add esi, edx
  rcr ebx, 1
  add edi, ebx
  mul edx
  add eax, edx
  cdq
  sub edx, ebx
  bswap ebx
  add ebx, esi
  xadd esi, edi
  lea edi, [rsi + rdi * 2]
  mov r8d, eax
  mov eax, 1
  cpuid
  mov eax, r8d
  and ebx, 0xff
  add eax, ebx
)"));
}

TEST(EmuTranslatorRegs, PartialWritesAfterFullWidthUse) {
  expect_same(Mode::kLong64, long_code(R"(
  add eax, ebx
  mov al, 5
  add eax, ecx
  mov ah, bl
  inc ax
  add eax, 1
  setc al
  movzx ecx, al
  add ecx, eax
  mov bx, 7
  add ebx, ecx
  neg dl
  add edx, ebx
  not si
  add esi, edx
  xor dh, al
  add edi, edx
  sub ch, bh
  add ecx, edi
  movsx eax, cx
  add eax, esi
  mov rbp, r15
  mov [rbp + 8], ah
  mov r8d, [rbp + 8]
  add eax, r8d
)"));
}

TEST(EmuTranslatorRegs, SlowPathsReloadCachedRegisters) {
  // Loads and read-modify-writes that cross a page (the handler runs them) between cached uses,
  // PUSH/POP of cached registers and of RSP itself, and CALL/RET, in 64-bit code.
  expect_same(Mode::kLong64, long_code(R"(
  add eax, ebx
  mov r8d, [r15 + 0xffe]
  add ecx, r8d
  add dword [r15 + 0xffd], eax
  add eax, [r15 + 0xffc]
  add [r15 + 0x10], ecx
  push rax
  push rsp
  pop rdx
  sub rdx, rsp
  pop rbx
  add ebx, ecx
  push rbx
  mov rbx, rsp
  pop rsp
  mov rsp, rbx
  add rsp, 8
  call f
  add esi, eax
  jmp next
f:
  add eax, [rsp]
  ret
next:
)"));
}

TEST(EmuTranslatorRegs, StackPointerCachedIn32BitCode) {
  expect_same(Mode::kProtected32, R"(
  mov eax, 0x12345678
  mov ebx, 3
  mov edi, )" + std::to_string(kLoops) +
                                      R"(
top:
  push eax
  push ebx
  add eax, [esp]
  pop ecx
  add ecx, esp
  call f
  pop edx
  add eax, edx
  dec edi
  jnz top
  out 0x80, al
f:
  add ebx, [esp + 4]
  ret
)");
}

TEST(EmuTranslatorRegs, InPlaceOperationsOnCachedRegisters) {
  // ALU operations, MOV, INC/DEC, shifts and IMUL on the cached host registers: 32-bit ones on
  // registers whose upper halves are set (which they clear), immediates of every width and sign
  // (a 32-bit one with its top bit set, a 64-bit one sign-extended, byte and word ones that need
  // their short encodings), a register with itself, CMP and TEST that leave the destination
  // alone, each followed by a reader of every flag they set.
  static const char* kOperations[] = {"add eax, ebx",
                                      "sub ebx, 0x80000001",
                                      "and ecx, 0xfffffff0",
                                      "or edx, eax",
                                      "xor esi, esi",
                                      "add rdi, -5",
                                      "sub rax, rbx",
                                      "cmp ecx, 0x90000000",
                                      "cmp rdx, -1",
                                      "test esi, edi",
                                      "test rax, 0x80",
                                      "add al, 0xf0",
                                      "sub bx, 0x8001",
                                      "cmp ch, 0x7f",
                                      "xor dx, 0x1234",
                                      "mov eax, eax",
                                      "mov ebx, 0x87654321",
                                      "mov rcx, -2",
                                      "mov rdx, 0x123456789abc",
                                      "mov esi, edi",
                                      "mov di, 0xfffe",
                                      "mov ah, 0x99",
                                      "inc eax",
                                      "dec rbx",
                                      "inc ecx",
                                      "dec di",
                                      "shl eax, 7",
                                      "shr rbx, 63",
                                      "sar ecx, 31",
                                      "shr edx, 1",
                                      "shl rsi, 1",
                                      "rol edi, 9",
                                      "ror rax, 60",
                                      "shl eax, 0",
                                      "add ebx, ebx",
                                      "sub rcx, rcx",
                                      "imul eax, ebx, 0x9e3779b1",
                                      "imul rcx, rdx, -7",
                                      "imul esi, edi",
                                      "imul rdi, rax",
                                      "imul bx, cx, 0x1234"};
  static const char* kReaders[] = {"setc r8b",      "seto r8b",         "setz r8b\n  setp r9b",
                                   "sets r8b",      "pushfq\n  pop r8", "adc r9d, ecx",
                                   "cmovl r9, rax", "sbb r8, rdx",      "lahf\n  movzx ecx, ah"};
  std::mt19937_64 rng(7);
  std::ostringstream body;
  body << "  mov rax, 0x1122334455667788\n  mov rbx, 0x8000000080000000\n"
          "  mov rcx, 0xffffffff7fffffff\n  mov rdx, r15\n  mov rsi, r14\n  mov rdi, 0xfedcba98\n";
  for (unsigned i = 0; i < 40; ++i) {
    for (unsigned n = 1 + unsigned(rng() % 3); n > 0; --n)
      body << "  " << kOperations[rng() % std::size(kOperations)] << "\n";
    body << "  " << kReaders[rng() % std::size(kReaders)] << "\n  add r10, r8\n  add r11, r9\n";
  }
  expect_same(Mode::kLong64, long_code(body.str()));
}

TEST(EmuTranslatorRegs, AddressesFromCachedRegisters) {
  // LEA and memory operands computed by one host LEA: base, index and both, every scale,
  // negative and 32-bit displacements, RIP-relative ones, and 32-bit address sizes (which wrap
  // and clear the upper half), on registers whose upper halves are set.
  expect_same(Mode::kLong64, long_code(R"(
  mov rax, 0x100000010
  mov rbx, 3
  mov rsi, r15
  lea rcx, [rax + rbx * 8 + 0x7ffffff0]
  lea edx, [rax + rbx * 4 - 0x80000000]
  lea rdi, [rbx * 2 + 5]
  lea r8, [rsi + rbx]
  lea r9d, [eax + ebx * 8 - 1]
  lea r10, [rel data_word]
  lea r11, [rdi]
  lea rbp, [rcx + rcx * 1]
  add ecx, edx
  add rdi, r8
  add r9, r10
  add r11, rbp
  mov [rsi + rbx * 8 + 16], rcx
  mov r8d, [rsi + rbx * 8 + 16]
  add [rsi + rbx * 4 - 4], r8d
  add r9, [rsi + 8]
  mov rdx, [rel data_word]
  add rdx, r9
  mov [rel data_word], rdx
  mov ebx, esi
  mov eax, [ebx + 24]
  add eax, [ebx * 1 + 28]
  add r11d, eax
  jmp over
data_word:
  dq 0x0102030405060708
over:
)"));
}

} // namespace
} // namespace rrvm::test
