// The mixed benchmark guest (tests/guests/mixed_multiboot.asm) in its reduced variant under
// `rrvm run/record/replay --engine emu`: its serial output must equal what a host model of the
// guest's computation prints, whatever the clock, and a replay must print it again.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "tests/support/subprocess.h"

namespace rrvm::test {
namespace {

// The reduced variant's sizes, from tests/guests/CMakeLists.txt; the rest is fixed in the guest.
constexpr uint32_t kRounds = MIXED_ROUNDS;
constexpr uint32_t kLinesPerRound = MIXED_LINES_PER_ROUND;
constexpr uint32_t kPassesPerRound = MIXED_PASSES_PER_ROUND;
constexpr uint32_t kRtcReadsPerRound = 3;
constexpr uint32_t kIdleTicksPerRound = 2;
constexpr uint32_t kArrayDwords = 65536;
constexpr uint32_t kFnvPrime = 16777619;
constexpr uint32_t kFnvOffset = 2166136261;

uint32_t mix_pass(std::vector<uint32_t>& a, uint32_t pass, uint32_t h) {
  for (uint32_t i = 0; i < kArrayDwords; ++i) {
    uint32_t x = a[i] * 0x9e3779b1u + a[(7 * i + pass) & (kArrayDwords - 1)];
    x ^= h >> 3;
    a[i] = x;
    h = std::rotl(h + x, 5);
  }
  return h;
}

uint32_t bucket_of(uint32_t v) {
  return ((v ^ (v >> 16)) * 0x45d9f3bu) >> 24;
}

uint32_t histogram_pass(const std::vector<uint32_t>& a, uint32_t pass, uint32_t h) {
  std::vector<uint32_t> histogram(256);
  for (uint32_t i = 0; i < kArrayDwords; ++i)
    h = h * 31 + ++histogram[bucket_of(a[i] + pass)];
  return histogram[pass & 0xff] ^ h;
}

std::string formatted(const char* format, uint32_t a, uint32_t b) {
  char text[64];
  std::snprintf(text, sizeof text, format, a, b);
  return text;
}

// What the guest prints, computed on the host.
std::string expected_output() {
  std::vector<uint32_t> a(kArrayDwords);
  for (uint32_t i = 0; i < kArrayDwords; ++i)
    a[i] = (i * kFnvPrime) ^ kFnvOffset;
  uint32_t checksum = kFnvOffset;
  uint32_t pass = 0;
  uint32_t line = 0;
  std::string out;
  for (uint32_t round = 0; round < kRounds; ++round) {
    for (uint32_t p = 0; p < kPassesPerRound; ++p, ++pass) {
      const uint32_t h =
          pass % 2 == 0 ? mix_pass(a, pass, checksum) : histogram_pass(a, pass, checksum);
      checksum = std::rotl(checksum, 1) ^ h;
    }
    uint32_t value = checksum;
    for (uint32_t l = 0; l < kLinesPerRound; ++l) {
      value = value * 1664525 + 1013904223;
      out += formatted("line %05u %08x\n", ++line, value);
    }
  }
  out += formatted("mixed: checksum %08x, lines %u", checksum, line);
  out += formatted(", RTC reads %u, idle ticks %u\n", kRounds * kRtcReadsPerRound,
                   kRounds * kIdleTicksPerRound);
  return out;
}

ProcessResult run_rrvm(std::vector<std::string> argv) {
  argv.insert(argv.begin(), rrvm_binary());
  return run_process(argv, 60);
}

void expect_passes(const ProcessResult& r) {
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.status, 1) << r.err; // GUEST_PASS on isa-debug-exit
  EXPECT_EQ(r.out, expected_output());
}

TEST(MixedGuest, PrintsTheHostModelsOutputWithEitherClock) {
  for (const char* clock : {"icount", "host"}) {
    SCOPED_TRACE(clock);
    expect_passes(run_rrvm(
        {"run", "--engine", "emu", "--clock", clock, guest_path("mixed_multiboot_small.elf")}));
  }
}

TEST(MixedGuest, ReplayPrintsTheRecordedOutput) {
  const std::string trace = unique_temp_path("mixed.trace");
  expect_passes(run_rrvm(
      {"record", "-o", trace, "--engine", "emu", guest_path("mixed_multiboot_small.elf")}));
  expect_passes(run_rrvm({"replay", trace}));
}

} // namespace
} // namespace rrvm::test
