// Blocks that continue into the next linear page: the instruction crossing the page end is part
// of a cached (and translated) block, and such a block follows the second page's mapping and
// contents as fetching each instruction would: remapped (INVLPG, CR3 write), written, or gone
// (#PF on the fetch). Each case runs interpreted and translated, with the same results.
#include <gtest/gtest.h>

#include <cstring>
#include <sstream>

#include "tests/emu/run_difference.h"
#include "tests/emu/two_page_machine.h"
#include "vmm/emu/testing/emu_machine.h"

namespace rrvm::test {
namespace {

using Machine = TwoPageMachine;
constexpr uint64_t kPte = Machine::kPte, kPageA = Machine::kPageA, kPageB = Machine::kPageB;

struct Outcome {
  Exit exit;
  CpuState state;
  uint64_t count, translated, uncached;
};

Outcome run(Machine& x) {
  const Exit e = run_past_kicks(x.m.engine);
  return {e, x.m.state(), *x.m.engine.instruction_count(), x.m.engine.translated_blocks(),
          x.m.engine.uncached_instructions()};
}

void expect_same(const Outcome& interpreted, const Outcome& translated) {
  EXPECT_EQ(RunDifference()
                .registers(interpreted.state, translated.state)
                .field("exit", uint64_t(interpreted.exit.reason), uint64_t(translated.exit.reason))
                .count(interpreted.count, translated.count)
                .str(),
            "");
}

// A routine whose third instruction crosses from 0x400fff into 0x401000: the high half of its
// immediate lies in the second page (its first byte at kPageA/kPageB).
const char* kRoutine = R"(
  add ebx, 1
  add ebx, 2
  mov eax, 0x00015678 ; b8 78 56 | 01 00
  add ebx, eax
  ret
)";
constexpr uint64_t kRoutineAt = 0xff7;

void load_with_routine(Machine& x, const std::string& main) {
  x.place(kRoutine, kRoutineAt);
  std::memcpy(x.m.memory.host() + kPageB, x.m.memory.host() + kPageA, 0x10);
  x.m.memory.host()[kPageB] = 0x02; // version B: mov eax, 0x00025678
  x.m.load(main);
}

// Calls the routine `count` times (RCX and RAX are clobbered).
std::string call_loop(unsigned count, const std::string& label) {
  std::ostringstream t;
  t << "mov ecx, " << count << "\n"
    << label << ":\nmov rax, " << 0x400000 + kRoutineAt << "\ncall rax\ndec ecx\njnz " << label
    << "\n";
  return t.str();
}

TEST(EmuSpanningBlocks, LoopStraddlingAPageRunsTranslatedAndExact) {
  const std::string loop = R"(
top:
  add ebx, ecx
  imul edx, ebx, 3
  xor edx, ecx
  add ebx, edx
  times 0xd - ($ - $$) nop
  mov eax, 0x11223344 ; from 0x400ffd into 0x401000
  add ebx, eax
  dec ecx
  jnz top
  ret
)";
  Outcome o[2];
  for (bool translate : {false, true}) {
    Machine x(translate);
    x.place(loop, 0xff0);
    // The read maps the second page in the TLB, so the loop's first decoding spans it.
    x.m.load("mov eax, [0x401000]\nxor ebx, ebx\nmov ecx, 2000\nmov rax, 0x400ff0\ncall rax\n"
             "out 0x80, al\n");
    o[translate] = run(x);
    EXPECT_EQ(o[translate].exit.reason, ExitReason::kIo);
    EXPECT_EQ(o[translate].uncached, 0u); // the crossing MOV is in the loop's block
  }
  expect_same(o[0], o[1]);
  EXPECT_GE(o[1].translated, 1u);
  EXPECT_EQ(o[0].translated, 0u);
}

// The routine runs (translated after a few calls), then the second page is remapped to version B
// and the TLB told (INVLPG, or a CR3 write): the next calls run B's immediate.
TEST(EmuSpanningBlocks, RemappedSecondPageRunsTheNewCode) {
  for (const char* flush : {"invlpg [0x401000]", "mov rax, cr3\nmov cr3, rax"}) {
    SCOPED_TRACE(flush);
    const std::string main = "xor ebx, ebx\n" + call_loop(10, "a") + "mov qword [0x5008], " +
                             std::to_string(kPageB | kPte) + "\n" + flush + "\n" +
                             call_loop(10, "b") + "out 0x80, al\n";
    Outcome o[2];
    for (bool translate : {false, true}) {
      Machine x(translate);
      load_with_routine(x, main);
      o[translate] = run(x);
      EXPECT_EQ(o[translate].exit.reason, ExitReason::kIo);
      EXPECT_EQ(o[translate].state.gpr[kRbx], 10 * (3 + 0x15678u) + 10 * (3 + 0x25678u));
      EXPECT_LE(o[translate].uncached, 2u); // the first call, and the first after the flush
    }
    expect_same(o[0], o[1]);
    EXPECT_GE(o[1].translated, 1u);
  }
}

// Without a flush the TLB keeps the old translation, as a CPU's may: version A runs on.
TEST(EmuSpanningBlocks, RemapWithoutAFlushKeepsTheCachedTranslation) {
  const std::string main = "xor ebx, ebx\n" + call_loop(10, "a") + "mov qword [0x5008], " +
                           std::to_string(kPageB | kPte) + "\n" + call_loop(10, "b") +
                           "out 0x80, al\n";
  Outcome o[2];
  for (bool translate : {false, true}) {
    Machine x(translate);
    load_with_routine(x, main);
    o[translate] = run(x);
    EXPECT_EQ(o[translate].state.gpr[kRbx], 20 * (3 + 0x15678u));
  }
  expect_same(o[0], o[1]);
}

// The routine's bytes in the second page are written: its block is dropped and the new immediate
// runs at the next call.
TEST(EmuSpanningBlocks, WrittenSecondPageRunsTheNewCode) {
  const std::string main = "xor ebx, ebx\n" + call_loop(10, "a") + "mov byte [0x401000], 3\n" +
                           call_loop(10, "b") + "out 0x80, al\n";
  Outcome o[2];
  for (bool translate : {false, true}) {
    Machine x(translate);
    load_with_routine(x, main);
    o[translate] = run(x);
    EXPECT_EQ(o[translate].exit.reason, ExitReason::kIo);
    EXPECT_EQ(o[translate].state.gpr[kRbx], 10 * (3 + 0x15678u) + 10 * (3 + 0x35678u));
    EXPECT_LE(o[translate].uncached, 1u); // the first call; the block decoded again spans too
  }
  expect_same(o[0], o[1]);
  EXPECT_GE(o[1].translated, 1u);
}

// The second page is unmapped (and flushed) after the routine ran translated: the next call runs
// its first two instructions and faults fetching the crossing one, #PF with CR2 at the page
// start and the fetch's error code, at the same count either way.
TEST(EmuSpanningBlocks, FaultFetchingTheSecondPageMatchesTheInterpreter) {
  const std::string main = R"(
  mov eax, fault
  mov word [0x30000 + 14 * 16], ax
  mov word [0x30000 + 14 * 16 + 2], cs
  mov word [0x30000 + 14 * 16 + 4], 0x8e00
  shr eax, 16
  mov word [0x30000 + 14 * 16 + 6], ax
  lidt [idtr]
  xor ebx, ebx
)" + call_loop(10, "a") + R"(
  mov qword [0x5008], 0
  invlpg [0x401000]
)" + call_loop(1, "b") + R"(
  out 0x80, al
fault:
  pop rdi
  mov rsi, [rsp]
  mov rdx, cr2
  out 0x81, al
idtr:
  dw 256 * 16 - 1
  dq 0x30000
)";
  Outcome o[2];
  for (bool translate : {false, true}) {
    Machine x(translate);
    load_with_routine(x, main);
    o[translate] = run(x);
    ASSERT_EQ(o[translate].exit.reason, ExitReason::kIo);
    EXPECT_EQ(o[translate].exit.io.port, 0x81);
    EXPECT_EQ(o[translate].state.gpr[kRsi], 0x400000 + kRoutineAt + 6); // the crossing MOV
    EXPECT_EQ(o[translate].state.gpr[kRdx], 0x401000u);
    EXPECT_EQ(o[translate].state.gpr[kRdi], 0x10u); // not present, instruction fetch
    EXPECT_EQ(o[translate].state.gpr[kRbx], 10 * (3 + 0x15678u) + 3);
  }
  expect_same(o[0], o[1]);
  EXPECT_GE(o[1].translated, 1u);
}

} // namespace
} // namespace rrvm::test
