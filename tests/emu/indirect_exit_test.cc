// Exits whose target changes (RET, CALL and JMP through a register or memory) go on to the next
// translation through the code cache's table, probed inline, when their link misses: each case
// runs interpreted and translated, with the same registers, exit and count, and the result the
// code computes.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
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
  uint64_t count, translated;
};

Outcome run(Machine& x) {
  const Exit e = run_past_kicks(x.m.engine);
  return {e, x.m.state(), *x.m.engine.instruction_count(), x.m.engine.translated_blocks()};
}

void expect_same(const Outcome& interpreted, const Outcome& translated) {
  EXPECT_EQ(RunDifference()
                .registers(interpreted.state, translated.state)
                .field("exit", uint64_t(interpreted.exit.reason), uint64_t(translated.exit.reason))
                .count(interpreted.count, translated.count)
                .str(),
            "");
}

// Runs `main` (with `setup` placing code) interpreted and translated; the translated run must
// have translated blocks and both must reach the final OUT with RBX at `rbx`.
void expect_both(const std::function<void(Machine&)>& setup, const std::string& main,
                 uint64_t rbx) {
  Outcome o[2];
  for (bool translate : {false, true}) {
    SCOPED_TRACE(translate ? "translated" : "interpreted");
    Machine x(translate);
    setup(x);
    x.m.load(main);
    o[translate] = run(x);
    EXPECT_EQ(o[translate].exit.reason, ExitReason::kIo);
    EXPECT_EQ(o[translate].state.gpr[kRbx], rbx);
  }
  expect_same(o[0], o[1]);
  EXPECT_GE(o[1].translated, 2u);
}

// Eight call sites call one routine in turn, 200 rounds: its RET's target changes every time.
TEST(EmuIndirectExit, ReturnToManyCallers) {
  std::ostringstream main;
  main << "xor ebx, ebx\nmov ecx, 200\nmov rsi, 0x400000\ntop:\n";
  for (int i = 0; i < 8; ++i)
    main << "call rsi\nadd ebx, " << i << "\n";
  main << "dec ecx\njnz top\nout 0x80, al\n";
  expect_both([](Machine& x) { x.place("add ebx, 1000\nret\n", 0); }, main.str(),
              200 * (8 * 1000 + 28));
}

// A jump table of four targets, chosen by the count: JMP [table + rax*8] leaves for another
// target each round.
TEST(EmuIndirectExit, JumpTable) {
  const std::string code = R"(
    dispatch:
      mov eax, ecx
      and eax, 3
      jmp [table + rax * 8]
    t0:
      add ebx, 1
      jmp next
    t1:
      add ebx, 10
      jmp next
    t2:
      add ebx, 100
      jmp next
    t3:
      add ebx, 1000
    next:
      dec ecx
      jnz dispatch
      ret
    align 8
    table:
      dq t0, t1, t2, t3
  )";
  expect_both([&](Machine& x) { x.place(code, 0); },
              "xor ebx, ebx\nmov ecx, 400\nmov rax, 0x400000\ncall rax\nout 0x80, al\n",
              100 * 1111);
}

// The routine's immediate is rewritten between calls through a register: the block its call
// reached before is dropped, and the next call runs the new code.
TEST(EmuIndirectExit, TargetRewrittenBetweenIndirectExits) {
  const std::string main = R"(
      xor ebx, ebx
      mov rsi, 0x400000
      mov ecx, 20
    a:
      call rsi
      dec ecx
      jnz a
      mov byte [0x400002], 2 ; add ebx, 2
      mov ecx, 20
    b:
      call rsi
      dec ecx
      jnz b
      out 0x80, al
  )";
  expect_both([](Machine& x) { x.place("db 0x83, 0xc3, 1 ; add ebx, 1\nret\n", 0); }, main,
              20 * 1 + 20 * 2);
}

// The routine's linear page is mapped to another physical page (version B) and the TLB told:
// the next calls through the register run B.
TEST(EmuIndirectExit, RemappedCodePage) {
  for (const char* flush : {"invlpg [0x401000]", "mov rax, cr3\nmov cr3, rax"}) {
    SCOPED_TRACE(flush);
    const std::string main = "xor ebx, ebx\nmov rsi, 0x401000\nmov ecx, 20\na:\ncall rsi\n"
                             "dec ecx\njnz a\nmov qword [0x5008], " +
                             std::to_string(kPageB | kPte) + "\n" + flush +
                             "\nmov ecx, 20\nb:\ncall rsi\ndec ecx\njnz b\nout 0x80, al\n";
    expect_both(
        [](Machine& x) {
          x.place("add ebx, 1\nret\n", 0x1000, kPageA);
          x.place("add ebx, 5\nret\n", 0x1000, kPageB);
        },
        main, 20 * 1 + 20 * 5);
  }
}

// Stopped at every count of a run full of returns and indirect jumps, translated and
// interpreted stop on the same instruction with the same state.
TEST(EmuIndirectExit, LimitRightAfterAnIndirectExit) {
  const std::string main = R"(
      xor ebx, ebx
      mov rsi, 0x400000
      mov ecx, 12
    top:
      call rsi
      lea rax, [rel after]
      jmp rax
    after:
      add ebx, ecx
      dec ecx
      jnz top
      out 0x80, al
  )";
  Machine whole(false);
  whole.place("add ebx, 3\nret\n", 0);
  whole.m.load(main);
  const uint64_t total = run(whole).count;
  for (uint64_t limit = 1; limit < total; ++limit) {
    SCOPED_TRACE(limit);
    Outcome o[2];
    for (bool translate : {false, true}) {
      Machine x(translate);
      x.place("add ebx, 3\nret\n", 0);
      x.m.load(main);
      x.m.engine.set_instruction_limit(limit);
      o[translate] = run(x);
      EXPECT_EQ(o[translate].exit.reason, ExitReason::kInstructionLimit);
      EXPECT_EQ(o[translate].count, limit);
    }
    expect_same(o[0], o[1]);
  }
}

// The routine's block reaches into the next linear page (its MOV's immediate crosses; the first
// fetch there maps it, so the block decoded next spans it); that page is remapped between calls
// through a register: the call after the flush runs the new bytes.
TEST(EmuIndirectExit, TwoPageTarget) {
  const std::string routine = "add ebx, 1\nmov eax, 0x00015678 ; b8 78 56 | 01 00\nadd ebx, eax\n"
                              "ret\n";
  const std::string main = "xor ebx, ebx\nmov rsi, 0x400ffa\nmov ecx, 20\na:\ncall rsi\n"
                           "dec ecx\njnz a\nmov qword [0x5008], " +
                           std::to_string(kPageB | kPte) +
                           "\ninvlpg [0x401000]\nmov ecx, 20\nb:\ncall rsi\ndec ecx\njnz b\n"
                           "out 0x80, al\n";
  expect_both(
      [&](Machine& x) {
        x.place(routine, 0xffa);
        std::memcpy(x.m.memory.host() + kPageB, x.m.memory.host() + kPageA, 0x10);
        x.m.memory.host()[kPageB] = 0x02; // version B: mov eax, 0x00025678
      },
      main, 20 * (1 + 0x15678u) + 20 * (1 + 0x25678u));
}

} // namespace
} // namespace rrvm::test
