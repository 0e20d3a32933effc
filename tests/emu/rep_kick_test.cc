// A kick (a keystroke, Ctrl-A x, a signal) or an instruction limit that lands inside a REP string
// instruction pauses it between iterations; resuming finishes it exactly as an uninterrupted run
// does: same memory, same registers, same instruction count.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "vmm/emu/testing/emu_machine.h"

namespace rrvm::test {
namespace {

// Fills 8 MiB with REP STOSB and copies 4 MiB of it back with REP MOVSB, then adds the
// instructions after the REPs into RBX: running them at the wrong place would show.
constexpr const char* kProgram = "mov edi, 0x400000\nmov ecx, 0x800000\nmov al, 0x5a\nrep stosb\n"
                                 "mov esi, 0x400000\nmov edi, 0xc00000\nmov ecx, 0x400000\n"
                                 "rep movsb\nadd ebx, 1\nadd ebx, 2\nout 0xf4, al\n";

struct Outcome {
  CpuState state;
  uint64_t count;
  uint8_t last_copied;
  unsigned kicks;
};

Outcome run_program(bool kick) {
  EmuMachine m(Mode::kLong64);
  m.load(kProgram);
  std::atomic<bool> done{false};
  std::thread kicker;
  if (kick)
    kicker = std::thread([&] {
      while (!done.load()) {
        m.engine.kick();
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    });
  Outcome o{};
  for (;;) {
    Exit& e = m.run();
    if (e.reason == ExitReason::kKicked) {
      ++o.kicks;
      continue;
    }
    EXPECT_EQ(e.reason, ExitReason::kIo) << e.detail;
    break;
  }
  done = true;
  if (kicker.joinable()) kicker.join();
  o.state = m.state();
  o.count = *m.engine.instruction_count();
  o.last_copied = m.memory.load<uint8_t>(0xc00000 + 0x400000 - 1);
  return o;
}

TEST(EmuRepKick, KicksDuringRepChangeNothing) {
  const Outcome plain = run_program(false);
  const Outcome kicked = run_program(true);
  ASSERT_GT(kicked.kicks, 2u) << "the kicks must land while the REPs run";
  EXPECT_EQ(kicked.count, plain.count);
  EXPECT_EQ(kicked.state.gpr[kRbx], 3u);
  EXPECT_EQ(kicked.state.gpr[kRbx], plain.state.gpr[kRbx]);
  EXPECT_EQ(kicked.state.gpr[kRcx], 0u);
  EXPECT_EQ(kicked.state.gpr[kRdi], plain.state.gpr[kRdi]);
  EXPECT_EQ(kicked.state.rip, plain.state.rip);
  EXPECT_EQ(kicked.last_copied, 0x5a);
  EXPECT_EQ(plain.count, 3u + 0x800000 + 3 + 0x400000 + 3);
}

TEST(EmuRepKick, InstructionLimitsInsideARepResumeExactly) {
  EmuMachine m(Mode::kLong64);
  m.load("mov edi, 0x400000\nmov ecx, 1000\nrep stosb\nadd ebx, 1\nout 0xf4, al\n");
  for (uint64_t limit = 5;; limit += 7) {
    m.engine.set_instruction_limit(limit);
    Exit& e = m.run();
    if (e.reason == ExitReason::kIo) break;
    ASSERT_EQ(e.reason, ExitReason::kInstructionLimit) << e.detail;
    ASSERT_EQ(*m.engine.instruction_count(), limit);
  }
  EXPECT_EQ(m.state().gpr[kRbx], 1u);
  EXPECT_EQ(*m.engine.instruction_count(), 2u + 1000 + 2);
}

} // namespace
} // namespace rrvm::test
