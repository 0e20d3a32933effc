// --clock icount: guest time is the retired-instruction count at 1 ns per instruction plus the
// idle time skipped over HLTs, so a run is reproducible without a recording, the TSC agrees with
// the PIT, and a recording holds no clock samples.
#include <gtest/gtest.h>
#include <string>
#include <vector>

#include "formats/trace_reader.h"
#include "tests/support/subprocess.h"
#include "vmm/virtual_clock.h"

namespace rrvm::test {
namespace {

// A fixed RTC start: the wall-clock time is an input, not part of the clock mode.
const std::vector<std::string> kIcount = {"--engine", "emu",        "--clock",
                                          "icount",   "--rtc-time", "1700000000"};

ProcessResult run_icount(const std::vector<std::string>& guest) {
  std::vector<std::string> argv = {rrvm_binary(), "run"};
  argv.insert(argv.end(), kIcount.begin(), kIcount.end());
  argv.insert(argv.end(), guest.begin(), guest.end());
  return run_process(argv);
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

TEST(IcountClock, TscCalibratedAgainstThePitIsTheSameOnEveryRunAtTheAdvertisedRate) {
  const ProcessResult first = run_icount({guest_path("tsc_calibrate_long.elf")});
  const ProcessResult second = run_icount({guest_path("tsc_calibrate_long.elf")});
  ASSERT_EQ(first.status, 1) << first.err;
  ASSERT_EQ(second.status, 1) << second.err;
  EXPECT_EQ(first.out, second.out);
  // 10 PIT periods of 1193 counts at 1193182 Hz, in TSC ticks of the 1 GHz icount TSC.
  const double expected = 10 * 1193.0 / 1193182.0 * double(kGuestTscHz);
  for (const char* label : {"idle", "busy"}) {
    const double measured = double(tsc_delta(first.out, label));
    EXPECT_NEAR(measured / expected, 1.0, 1e-5) << label << " " << measured;
  }
}

TEST(IcountClock, TwoRunsOfTimerGuestsGiveIdenticalOutput) {
  const std::vector<std::vector<std::string>> guests = {
      {guest_path("pit_long.elf")},
      {guest_path("busy_pit_long.elf")},
      {guest_path("hpet_long.elf")},
      {"--flat", "0x7c00", guest_path("rtc_real.bin")}};
  for (const auto& guest : guests) {
    const ProcessResult first = run_icount(guest);
    const ProcessResult second = run_icount(guest);
    EXPECT_EQ(first.status, 1) << guest.back() << ": " << first.err;
    EXPECT_FALSE(first.out.empty()) << guest.back();
    EXPECT_EQ(first.out, second.out) << guest.back();
  }
}

TEST(IcountClock, RecordingHoldsNoClockSamplesAndReplaysExactly) {
  const std::string trace = ::testing::TempDir() + "icount_calibrate.trace";
  std::vector<std::string> record = {rrvm_binary(), "record", "-o", trace, "--verify", "full"};
  record.insert(record.end(), kIcount.begin(), kIcount.end());
  record.push_back(guest_path("tsc_calibrate_long.elf"));
  const ProcessResult recorded = run_process(record);
  ASSERT_EQ(recorded.status, 1) << recorded.err;
  {
    TraceReader reader(trace);
    EXPECT_EQ(reader.header().machine.clock_mode, "icount");
    ASSERT_TRUE(reader.footer());
    EXPECT_EQ(reader.footer()->kind_counts[size_t(EventKind::kClock)], 0u);
    EXPECT_GT(reader.footer()->kind_counts[size_t(EventKind::kInjection)], 0u);
  }
  const ProcessResult replayed = run_process({rrvm_binary(), "replay", trace});
  EXPECT_EQ(replayed.status, 1) << replayed.err;
  EXPECT_EQ(replayed.out, recorded.out);
  // A plain run of the same guest is the same execution.
  EXPECT_EQ(run_icount({guest_path("tsc_calibrate_long.elf")}).out, recorded.out);

  const ProcessResult on_kvm = run_process({rrvm_binary(), "replay", "--engine", "kvm", trace});
  EXPECT_EQ(on_kvm.status, 64) << on_kvm.err;
}

TEST(IcountClock, KvmIsRefusedWithOneLine) {
  for (const char* command : {"run", "record"}) {
    std::vector<std::string> argv = {rrvm_binary(), command};
    if (std::string(command) == "record")
      argv.insert(argv.end(), {"-o", ::testing::TempDir() + "refused.trace"});
    argv.insert(argv.end(), {"--engine", "kvm", "--clock", "icount", guest_path("pit_long.elf")});
    const ProcessResult refused = run_process(argv);
    EXPECT_EQ(refused.status, 64) << command;
    EXPECT_EQ(refused.err, "rrvm: --clock icount needs an instruction count: it runs only with "
                           "--engine emu (or auto), not kvm\n")
        << command;
  }
  const ProcessResult bad = run_process({rrvm_binary(), "run", "--clock", "shift", "x"});
  EXPECT_EQ(bad.status, 64);
  EXPECT_EQ(bad.err, "rrvm: bad --clock 'shift': expected host or icount\n");
}

} // namespace
} // namespace rrvm::test
