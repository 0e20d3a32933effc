// An MMIO read by a MOV, MOVZX, an ALU instruction from memory or a read-modify-write stops the
// run without retiring its instruction (as a port read does, no C++ exception), and the
// instruction then runs again with the machine's answer: each read is asked for once, at the
// count an undisturbed run gives it, and retires with its value; a read-modify-write then writes
// what it computed from the answer.
#include <gtest/gtest.h>

#include <cstring>

#include "vmm/emu/testing/emu_machine.h"

namespace rrvm::test {
namespace {

constexpr unsigned kIterations = 100;
constexpr uint64_t kRegister = 0xfed000f0; // in the MMIO hole, mapped by the long-mode state

constexpr const char* kLoop = R"(
  mov ecx, 100
  xor ebx, ebx
  mov rsi, 0xfed000f0
top:
  mov eax, [rsi]
  add ebx, eax
  add ebx, [rsi]
  movzx eax, word [rsi]
  add ebx, eax
  add dword [rsi], 1
  dec ecx
  jnz top
  out 0xf4, al
)";
constexpr unsigned kBeforeLoop = 3;
constexpr unsigned kPerIteration = 8;
// Where each read stands in an iteration, and its size.
struct Read {
  unsigned at;
  uint8_t size;
};
constexpr Read kReads[] = {{0, 4}, {2, 4}, {3, 2}, {5, 4}};
constexpr unsigned kReadModifyWrite = 3; // kReads' ADD [rsi], 1

uint32_t answer(uint64_t count) {
  return uint32_t(count * 2654435761u + 7);
}

uint32_t expected_sum() {
  uint32_t sum = 0;
  for (unsigned i = 0; i < kIterations; ++i) {
    const uint64_t base = kBeforeLoop + uint64_t(kPerIteration) * i;
    sum += answer(base + kReads[0].at) + answer(base + kReads[1].at) +
           (answer(base + kReads[2].at) & 0xffff);
  }
  return sum;
}

class MmioReadExit : public testing::TestWithParam<bool> {};

TEST_P(MmioReadExit, EachReadRetiresOnceWithItsValue) {
  EmuMachine m(Mode::kLong64, 16 << 20, GetParam());
  m.load(kLoop);
  unsigned reads = 0;
  for (;;) {
    Exit& e = run_past_kicks(m.engine);
    if (e.reason == ExitReason::kIo) {
      EXPECT_TRUE(e.io.write);
      EXPECT_EQ(e.io.port, 0xf4);
      break;
    }
    ASSERT_EQ(e.reason, ExitReason::kMmio) << e.detail;
    ASSERT_EQ(e.mmio.gpa, kRegister);
    const unsigned iteration = reads / std::size(kReads);
    const Read& read = kReads[reads % std::size(kReads)];
    const uint64_t count = kBeforeLoop + uint64_t(kPerIteration) * iteration + read.at;
    if (e.mmio.write) { // the read-modify-write's, after it retired
      ASSERT_EQ(reads % std::size(kReads), 0u) << "a write before its read";
      ASSERT_EQ(*m.engine.instruction_count(),
                count - kPerIteration + kReads[kReadModifyWrite].at + 1);
      uint32_t written;
      std::memcpy(&written, e.mmio.data, 4);
      EXPECT_EQ(written, answer(*m.engine.instruction_count() - 1) + 1);
      continue;
    }
    ASSERT_LT(iteration, kIterations) << "more reads than the loop makes";
    ASSERT_EQ(*m.engine.instruction_count(), count) << "read " << reads;
    ASSERT_EQ(e.mmio.size, read.size) << "read " << reads;
    const uint32_t value = answer(count);
    std::memcpy(e.mmio.data, &value, read.size);
    ++reads;
  }
  EXPECT_EQ(reads, kIterations * std::size(kReads));
  EXPECT_EQ(*m.engine.instruction_count(), kBeforeLoop + uint64_t(kPerIteration) * kIterations + 1);
  EXPECT_EQ(uint32_t(m.state().gpr[kRbx]), expected_sum());
}

INSTANTIATE_TEST_SUITE_P(Engines, MmioReadExit, testing::Bool(),
                         [](const testing::TestParamInfo<bool>& info) {
                           return info.param ? "Translated" : "Interpreted";
                         });

} // namespace
} // namespace rrvm::test
