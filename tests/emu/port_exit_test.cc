// A port read (IN, INS) or an RDMSR the machine answers stops the run without retiring the
// instruction and without a C++ exception; the instruction then runs again with the machine's
// answer. Whatever stops the run around it (a translated hot loop, single steps, an instruction
// limit landing on the read, a kick between the exit and the answer), the read retires exactly
// once, with the value, at the count an undisturbed run gives it.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "vmm/emu/testing/emu_machine.h"
#include "vmm/msr_index.h"

namespace rrvm::test {
namespace {

constexpr unsigned kIterations = 200;
constexpr unsigned kBeforeLoop = 3; // MOV ECX, XOR EBX, MOV DX
constexpr unsigned kPerIteration = 5;

// Reads the UART's line status kIterations times and sums what it read into EBX.
constexpr const char* kReadLoop = R"(
  mov ecx, 200
  xor ebx, ebx
  mov dx, 0x3fd
top:
  in al, dx
  movzx eax, al
  add ebx, eax
  dec ecx
  jnz top
  out 0xf4, al
)";

// The count at which iteration `i`'s IN stands, and the value the machine answers there.
uint64_t in_count(unsigned i) {
  return kBeforeLoop + uint64_t(kPerIteration) * i;
}
uint8_t answer(uint64_t count) {
  return uint8_t(count * 37 + 11);
}
uint64_t expected_sum() {
  uint64_t sum = 0;
  for (unsigned i = 0; i < kIterations; ++i)
    sum += answer(in_count(i));
  return sum;
}
constexpr uint64_t kEndCount = kBeforeLoop + uint64_t(kPerIteration) * kIterations + 1;

// Answers a port read exit of the read loop: the exit must stand on an IN at its count.
void answer_read(EmuMachine& m, Exit& e, unsigned iteration) {
  ASSERT_EQ(e.reason, ExitReason::kIo) << e.detail;
  ASSERT_FALSE(e.io.write);
  ASSERT_EQ(e.io.port, 0x3fd);
  ASSERT_EQ(e.io.size, 1);
  ASSERT_EQ(*m.engine.instruction_count(), in_count(iteration));
  e.io.data[0] = answer(in_count(iteration));
}

void expect_loop_done(EmuMachine& m, Exit& e) {
  ASSERT_EQ(e.reason, ExitReason::kIo) << e.detail;
  EXPECT_TRUE(e.io.write);
  EXPECT_EQ(e.io.port, 0xf4);
  EXPECT_EQ(*m.engine.instruction_count(), kEndCount);
  EXPECT_EQ(m.state().gpr[kRbx], expected_sum());
}

class PortExit : public testing::TestWithParam<bool> {
protected:
  bool translate() const { return GetParam(); }
};

TEST_P(PortExit, ReadInAHotLoopRetiresOnceWithTheValue) {
  EmuMachine m(Mode::kLong64, 16 << 20, translate());
  m.load(kReadLoop);
  uint64_t in_rip = 0;
  for (unsigned i = 0; i < kIterations; ++i) {
    Exit& e = run_past_kicks(m.engine);
    answer_read(m, e, i);
    if (i == 0) in_rip = m.engine.exit_rip();
    ASSERT_EQ(m.engine.exit_rip(), in_rip) << "iteration " << i;
  }
  expect_loop_done(m, run_past_kicks(m.engine));
  if (translate()) {
    EXPECT_GT(m.engine.translated_blocks(), 0u);
  }
}

// Every step retires one instruction; a step onto an IN first asks for the read.
TEST_P(PortExit, SingleStepsRetireTheReadOnce) {
  EmuMachine m(Mode::kLong64, 16 << 20, translate());
  m.load(kReadLoop);
  m.engine.set_single_step(true);
  uint64_t count = 0;
  unsigned reads = 0;
  bool answered = false;
  for (;;) {
    Exit& e = m.run();
    if (e.reason == ExitReason::kIo && !e.io.write) {
      ASSERT_FALSE(answered) << "asked twice for one read at count " << count;
      answer_read(m, e, reads++);
      answered = true;
      continue;
    }
    ++count;
    if (e.reason == ExitReason::kIo) { // the OUT retires before its exit
      expect_loop_done(m, e);
      break;
    }
    ASSERT_EQ(e.reason, ExitReason::kDebug) << e.detail;
    ASSERT_EQ(*m.engine.instruction_count(), count) << "one instruction per step";
    if (answered) {
      ASSERT_EQ(m.state().gpr[kRax] & 0xff, answer(count - 1));
    }
    answered = false;
  }
  EXPECT_EQ(reads, kIterations);
}

// A limit on the IN stops before it; one past it asks for the read, then retires the IN alone.
TEST_P(PortExit, LimitsLandingOnTheReadRetireItOnce) {
  EmuMachine m(Mode::kLong64, 16 << 20, translate());
  m.load(kReadLoop);
  for (unsigned i = 0; i < kIterations; ++i) {
    const uint64_t at = in_count(i);
    if (i % 3 == 0) {
      m.engine.set_instruction_limit(at);
      Exit& before = run_past_kicks(m.engine);
      ASSERT_EQ(before.reason, ExitReason::kInstructionLimit) << before.detail;
      ASSERT_EQ(*m.engine.instruction_count(), at);
    }
    m.engine.set_instruction_limit(at + 1);
    answer_read(m, run_past_kicks(m.engine), i);
    Exit& after = run_past_kicks(m.engine);
    ASSERT_EQ(after.reason, ExitReason::kInstructionLimit) << after.detail;
    ASSERT_EQ(*m.engine.instruction_count(), at + 1);
    ASSERT_EQ(m.state().gpr[kRax] & 0xff, answer(at));
    m.engine.set_instruction_limit(std::nullopt);
    // Every other time, run on unlimited to the next IN.
    if (i % 2 == 0 || i + 1 == kIterations) continue;
    answer_read(m, run_past_kicks(m.engine), ++i);
  }
  m.engine.set_instruction_limit(std::nullopt);
  expect_loop_done(m, run_past_kicks(m.engine));
}

// A kick that comes between the exit and the answer stops the next run before the IN reruns;
// the run after it takes the answer, and the machine is not asked again.
TEST_P(PortExit, KickDuringTheExitKeepsTheAnswer) {
  EmuMachine m(Mode::kLong64, 16 << 20, translate());
  m.load(kReadLoop);
  for (unsigned i = 0; i < kIterations; ++i) {
    Exit& e = run_past_kicks(m.engine);
    answer_read(m, e, i);
    m.engine.kick();
    Exit& kicked = m.run();
    ASSERT_EQ(kicked.reason, ExitReason::kKicked) << kicked.detail;
    ASSERT_EQ(*m.engine.instruction_count(), in_count(i));
  }
  expect_loop_done(m, run_past_kicks(m.engine));
}

// REP INSB: every element is a read exit and a counted execution; the bytes land in order.
TEST_P(PortExit, RepInsReadsEachElementOnce) {
  EmuMachine m(Mode::kLong64, 16 << 20, translate());
  m.load("mov edi, 0x20000\nmov ecx, 64\nmov dx, 0x60\ncld\nrep insb\nout 0xf4, al\n");
  for (unsigned element = 0; element < 64; ++element) {
    Exit& e = run_past_kicks(m.engine);
    ASSERT_EQ(e.reason, ExitReason::kIo) << e.detail;
    ASSERT_FALSE(e.io.write);
    ASSERT_EQ(*m.engine.instruction_count(), 4u + element);
    e.io.data[0] = answer(element);
  }
  Exit& done = run_past_kicks(m.engine);
  ASSERT_EQ(done.reason, ExitReason::kIo) << done.detail;
  EXPECT_TRUE(done.io.write);
  EXPECT_EQ(*m.engine.instruction_count(), 4u + 64 + 1);
  for (unsigned element = 0; element < 64; ++element)
    EXPECT_EQ(m.memory.load<uint8_t>(kDataAddr + element), answer(element)) << element;
  EXPECT_EQ(m.state().gpr[kRcx], 0u);
}

// RDMSR of an MSR the machine answers stops unretired too, and retires once with the value.
TEST_P(PortExit, MachineMsrReadRetiresOnceWithTheValue) {
  EmuMachine m(Mode::kLong64, 16 << 20, translate());
  m.load("mov ecx, 0x10\nxor ebx, ebx\nmov esi, 10\ntop:\nrdmsr\nadd ebx, eax\ndec esi\n"
         "jnz top\nout 0xf4, al\n");
  static_assert(msr::kTsc == 0x10);
  uint64_t expected = 0;
  for (unsigned i = 0; i < 10; ++i) {
    Exit& e = run_past_kicks(m.engine);
    ASSERT_EQ(e.reason, ExitReason::kMsrRead) << e.detail;
    ASSERT_EQ(e.msr.index, msr::kTsc);
    ASSERT_EQ(*m.engine.instruction_count(), 3u + 4 * i);
    *e.msr.value = 1000 + i;
    expected += 1000 + i;
  }
  Exit& done = run_past_kicks(m.engine);
  ASSERT_EQ(done.reason, ExitReason::kIo) << done.detail;
  EXPECT_EQ(*m.engine.instruction_count(), 3u + 4 * 10 + 1);
  EXPECT_EQ(m.state().gpr[kRbx], expected);
}

INSTANTIATE_TEST_SUITE_P(EmuPortExit, PortExit, testing::Bool(),
                         [](const testing::TestParamInfo<bool>& info) {
                           return info.param ? "Translated" : "Interpreted";
                         });

} // namespace
} // namespace rrvm::test
