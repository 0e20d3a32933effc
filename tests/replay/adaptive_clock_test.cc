// emu's --clock host, the adaptive clock: guest time is the retired-instruction count at a rate
// re-tied to host time now and then, so the TSC agrees with the PIT on every run, a recording
// logs only the rare ties, and an idling guest still keeps pace with host time.
#include <chrono>
#include <gtest/gtest.h>
#include <string>
#include <vector>

#include "formats/trace_reader.h"
#include "tests/support/subprocess.h"
#include "vmm/virtual_clock.h"

namespace rrvm::test {
namespace {

struct Recording {
  ProcessResult process;
  uint64_t ties = 0;
  uint64_t clock_samples = 0;
  uint64_t exits = 0;
};

Recording record(const std::string& name, const std::vector<std::string>& guest) {
  const std::string trace = ::testing::TempDir() + name + ".trace";
  std::vector<std::string> argv = {rrvm_binary(), "record", "-o",         trace,
                                   "--engine",    "emu",    "--rtc-time", "1700000000"};
  argv.insert(argv.end(), guest.begin(), guest.end());
  Recording r{run_process(argv, 120)};
  TraceReader reader(trace);
  EXPECT_EQ(reader.header().machine.clock_mode, "adaptive");
  if (!reader.footer()) {
    ADD_FAILURE() << name << ": no footer";
    return r;
  }
  r.ties = reader.footer()->kind_counts[size_t(EventKind::kClockTie)];
  r.clock_samples = reader.footer()->kind_counts[size_t(EventKind::kClock)];
  // Under --verify hashes exits are not logged one by one: the statistics count them.
  for (const auto& [stat, value] : reader.footer()->summary.stats)
    if (stat == "total number of vm exits") r.exits = value;
  const ProcessResult replayed = run_process({rrvm_binary(), "replay", trace}, 120);
  EXPECT_EQ(replayed.status, r.process.status) << name << ": " << replayed.err;
  EXPECT_EQ(replayed.out, r.process.out) << name;
  return r;
}

// The TSC delta tsc_calibrate_long prints after `label` ("idle 0x...").
uint64_t tsc_delta(const std::string& out, const std::string& label) {
  const size_t at = out.find(label + " 0x");
  if (at == std::string::npos) {
    ADD_FAILURE() << "no '" << label << "' line in: " << out;
    return 0;
  }
  return std::stoull(out.substr(at + label.size() + 3, 16), nullptr, 16);
}

TEST(AdaptiveClock, TscCalibratedAgainstThePitIsTheSameOnEveryRunAndReplay) {
  // record() also replays each recording and expects the same output.
  const Recording first = record("adaptive_calibrate_1", {guest_path("tsc_calibrate_long.elf")});
  const Recording second = record("adaptive_calibrate_2", {guest_path("tsc_calibrate_long.elf")});
  ASSERT_EQ(first.process.status, 1) << first.process.err;
  ASSERT_EQ(second.process.status, 1) << second.process.err;
  EXPECT_EQ(first.clock_samples, 0u);
  // 10 PIT periods of 1193 counts at 1193182 Hz, in ticks of the advertised 1 GHz TSC.
  const double expected = 10 * 1193.0 / 1193182.0 * double(kGuestTscHz);
  if (first.ties == 0 && second.ties == 0) {
    // Guest time is the same function of the instruction count in both runs: the same deltas.
    EXPECT_EQ(first.process.out, second.process.out);
    for (const char* label : {"idle", "busy"}) {
      const double measured = double(tsc_delta(first.process.out, label));
      EXPECT_NEAR(measured / expected, 1.0, 1e-5) << label << " " << measured;
    }
    return;
  }
  // A loaded host made a run tie its clock (a later start, a new rate): the TSC still runs at
  // exactly 1 GHz of guest time, but a PIT tick then falls on another nanosecond and a read on
  // an instruction of another length, so the deltas may differ by a few instructions' time.
  for (const Recording* r : {&first, &second}) {
    for (const char* label : {"idle", "busy"}) {
      const double measured = double(tsc_delta(r->process.out, label));
      EXPECT_NEAR(measured / expected, 1.0, 1e-4)
          << label << " " << measured << ", " << r->ties << " ties";
    }
  }
}

TEST(AdaptiveClock, ABusyGuestOf100MInstructionsLogsFewTies) {
  // compute_long's loop is 11 instructions: 9.1 M iterations are 100 M instructions, 1000
  // quanta, each a question the live gate answers.
  const Recording r =
      record("adaptive_compute", {guest_path("compute_long.elf"), "--append", "9100000"});
  ASSERT_EQ(r.process.status, 1) << r.process.err;
  EXPECT_GE(r.exits, 1000u);
  EXPECT_LT(r.ties, 12u);
  EXPECT_EQ(r.clock_samples, 0u);
  std::cout << "[ measured ] " << r.ties << " ties, " << r.exits << " exits\n";
}

TEST(AdaptiveClock, AnIdlingGuestKeepsPaceWithHostTime) {
  // One second of guest time in 100 PIT ticks, halting between them: a live run waits for each
  // tick's host time (neither skipping the idle time, as icount does, nor falling behind).
  const auto start = std::chrono::steady_clock::now();
  const ProcessResult run = run_process(
      {rrvm_binary(), "run", "--engine", "emu", guest_path("idle_second_long.elf")}, 60);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(run.status, 1) << run.err;
  EXPECT_GT(seconds, 0.9);
  EXPECT_LT(seconds, 3.0); // a loaded machine may add a lot, but not seconds
  std::cout << "[ measured ] 1 s of idle guest time took " << seconds << " s\n";

  const ProcessResult icount = run_process(
      {rrvm_binary(), "run", "--clock", "icount", guest_path("idle_second_long.elf")}, 60);
  EXPECT_EQ(icount.status, 1) << icount.err;
  EXPECT_EQ(icount.out, run.out);
}

} // namespace
} // namespace rrvm::test
