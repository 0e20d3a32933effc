// `rrvm record` then `rrvm replay`: the replay re-executes the guest from the trace alone and
// reproduces its serial output and exit status exactly.
#include <filesystem>
#include <gtest/gtest.h>

#include "tests/support/subprocess.h"

namespace rrvm::test {
namespace {

struct RecordCase {
  const char* name;
  std::vector<std::string> args;
  const char* kernel;
};

void PrintTo(const RecordCase& c, std::ostream* os) {
  *os << c.name;
}

const RecordCase kCases[] = {
    {"hello_multiboot", {"--append", "recorded"}, "hello_multiboot.elf"},
    {"pit_real", {"--flat", "0x7c00"}, "pit_real.bin"},
    {"rtc_real", {"--flat", "0x7c00"}, "rtc_real.bin"},
    {"pit_long", {}, "pit_long.elf"},
    {"hpet_long", {}, "hpet_long.elf"},
    {"pit_multiboot", {}, "pit_multiboot.elf"},
};

std::string trace_path(const std::string& name) {
  return ::testing::TempDir() + name + ".trace";
}

ProcessResult record(const RecordCase& c, const std::string& trace) {
  std::vector<std::string> argv = {rrvm_binary(), "record", "-o", trace, "--engine", "emu"};
  argv.insert(argv.end(), c.args.begin(), c.args.end());
  argv.push_back(guest_path(c.kernel));
  return run_process(argv);
}

class RecordReplayTest : public ::testing::TestWithParam<RecordCase> {};

TEST_P(RecordReplayTest, EmuReplayReproducesTheRecording) {
  const RecordCase& c = GetParam();
  const std::string trace = trace_path(c.name);
  ProcessResult recorded = record(c, trace);
  ASSERT_EQ(recorded.status, 1) << recorded.err;
  ASSERT_NE(recorded.err.find("recorded"), std::string::npos) << recorded.err;
  for (int i = 0; i < 2; ++i) {
    ProcessResult replayed = run_process({rrvm_binary(), "replay", trace});
    EXPECT_EQ(replayed.status, recorded.status) << replayed.err;
    EXPECT_EQ(replayed.out, recorded.out) << replayed.err;
  }
}

INSTANTIATE_TEST_SUITE_P(Guests, RecordReplayTest, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(RecordReplayTest, ATruncatedTraceReplaysItsPrefixThenSaysWhereItEnds) {
  // A killed recording: cut the trace at many lengths. Each cut either still holds every event
  // the guest needs (the footer is gone, the chunk is whole) or ends early, which replay must
  // say, after replaying what is there; it never crashes or hangs.
  const std::string trace = trace_path("truncated_source");
  ASSERT_EQ(record(kCases[1], trace).status, 1);
  const auto size = std::filesystem::file_size(trace);
  const std::string cut = trace_path("truncated");
  int ended_early = 0;
  for (uintmax_t length = size; length > 97; length -= 97) {
    std::filesystem::copy_file(trace, cut, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::resize_file(cut, length);
    ProcessResult replayed = run_process({rrvm_binary(), "replay", "--serial", "none", cut});
    ASSERT_FALSE(replayed.timed_out);
    if (replayed.status == 1) continue;
    EXPECT_EQ(replayed.status, 66) << "cut at " << length << ": " << replayed.err;
    if (replayed.err.find("trace ends early at event") != std::string::npos)
      ++ended_early;
    else
      EXPECT_NE(replayed.err.find("rrvm: "), std::string::npos) << replayed.err;
  }
  EXPECT_GT(ended_early, 0);
}

TEST(RecordReplayTest, ReplayRefusesWhatIsNotATrace) {
  ProcessResult r = run_process({rrvm_binary(), "replay", guest_path("pit_real.bin")});
  EXPECT_EQ(r.status, 66) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
}

TEST(RecordReplayTest, KvmRecordingReplaysOnKvmAndOnEmu) {
  if (!kvm_usable_or_fail()) GTEST_SKIP() << "/dev/kvm is not usable on this host";
  const std::string trace = trace_path("kvm_pit");
  ProcessResult recorded = run_process({rrvm_binary(), "record", "-o", trace, "--engine", "kvm",
                                        "--flat", "0x7c00", guest_path("pit_real.bin")});
  ASSERT_EQ(recorded.status, 1) << recorded.err;
  ProcessResult on_kvm = run_process({rrvm_binary(), "replay", "--engine", "kvm", trace});
  EXPECT_EQ(on_kvm.status, 1) << on_kvm.err;
  EXPECT_EQ(on_kvm.out, recorded.out);
  ProcessResult on_emu = run_process({rrvm_binary(), "replay", "--engine", "emu", trace});
  // A halting guest takes its timer interrupts at HLT exits; a host-timer kick is possible only
  // if the host stalled the vCPU mid-handler, and such a recording replays only on kvm.
  if (on_emu.status == 3 && on_emu.err.find("host-timer kick") != std::string::npos)
    GTEST_SKIP() << "this recording happened to contain a host-timer kick";
  EXPECT_EQ(on_emu.status, 1) << on_emu.err;
  EXPECT_EQ(on_emu.out, recorded.out);
}

TEST(RecordReplayTest, AnEmuRecordingRefusesKvm) {
  const std::string trace = trace_path("emu_only");
  ASSERT_EQ(record(kCases[1], trace).status, 1);
  ProcessResult r = run_process({rrvm_binary(), "replay", "--engine", "kvm", trace});
  EXPECT_EQ(r.status, 64) << r.err;
  EXPECT_NE(r.err.find("replays only with --engine emu"), std::string::npos) << r.err;
}

TEST(RecordReplayTest, KvmKicksAreFoundAgainByBreakpointAndState) {
  if (!kvm_usable_or_fail()) GTEST_SKIP() << "/dev/kvm is not usable on this host";
  // The guest computes without exits while the PIT ticks: every tick arrives at a kick.
  const std::string trace = trace_path("kvm_busy");
  ProcessResult recorded = run_process({rrvm_binary(), "record", "-o", trace, "--engine", "kvm",
                                        "--stats", guest_path("busy_pit_long.elf")});
  ASSERT_EQ(recorded.status, 1) << recorded.err;
  ASSERT_EQ(recorded.err.find("host timer kicks of a running vcpu       \t0\n"), std::string::npos)
      << "no kick was recorded: " << recorded.err;
  for (int i = 0; i < 2; ++i) {
    ProcessResult replayed = run_process({rrvm_binary(), "replay", "--stats", trace});
    EXPECT_EQ(replayed.status, 1) << replayed.err;
    EXPECT_EQ(replayed.out, recorded.out);
    EXPECT_EQ(replayed.err.find("replay breakpoint hits seeking a kick   \t0\n"), std::string::npos)
        << replayed.err;
  }
  ProcessResult on_emu = run_process({rrvm_binary(), "replay", "--engine", "emu", trace});
  EXPECT_EQ(on_emu.status, 3) << on_emu.err;
  EXPECT_NE(on_emu.err.find("cannot replay on emu"), std::string::npos) << on_emu.err;
}

TEST(RecordReplayTest, UntilFailKeepsTheFirstFailingRunWhichReplaysEveryTime) {
  const std::string trace = trace_path("demo");
  // The demo guest loses a timer tick in about a quarter of its runs.
  ProcessResult recorded = run_process({rrvm_binary(), "record", "--until-fail", "60", "-o", trace,
                                        "--engine", "emu", guest_path("demo_race.elf")});
  ASSERT_EQ(recorded.status, 35) << recorded.err;
  EXPECT_NE(recorded.err.find("failed; its trace is " + trace), std::string::npos) << recorded.err;
  EXPECT_NE(recorded.out.find("BUG: timer ticks lost"), std::string::npos) << recorded.out;
  for (int i = 0; i < 3; ++i) {
    ProcessResult replayed = run_process({rrvm_binary(), "replay", trace});
    EXPECT_EQ(replayed.status, 35) << replayed.err;
    // The last run's output is what the trace holds.
    EXPECT_EQ(recorded.out.substr(recorded.out.size() - replayed.out.size()), replayed.out);
  }
}

TEST(RecordReplayTest, UntilFailWithOnlyPassingRunsKeepsNoTrace) {
  const std::string trace = trace_path("all_pass");
  ProcessResult r =
      run_process({rrvm_binary(), "record", "--until-fail", "2", "-o", trace, "--engine", "emu",
                   "--flat", "0x7c00", guest_path("pit_real.bin")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("all 2 attempts passed"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(trace));
}

TEST(RecordReplayTest, RdtscOnKvmDivergesWithItsLikelyCause) {
  if (!kvm_usable_or_fail()) GTEST_SKIP() << "/dev/kvm is not usable on this host";
  const std::string trace = trace_path("kvm_rdtsc");
  ProcessResult recorded = run_process(
      {rrvm_binary(), "record", "-o", trace, "--engine", "kvm", guest_path("rdtsc_long.elf")});
  ASSERT_EQ(recorded.status, 1) << recorded.err;
  ProcessResult replayed = run_process({rrvm_binary(), "replay", trace});
  // 16 TSC bits decide the exits: a replay that matches by chance is a 1 in 65536 event.
  EXPECT_EQ(replayed.status, 3) << replayed.err;
  EXPECT_NE(replayed.err.find("replay diverged at event"), std::string::npos) << replayed.err;
  EXPECT_NE(replayed.err.find("likely cause: the guest's code has RDTSC"), std::string::npos)
      << replayed.err;
  EXPECT_NE(replayed.err.find("rflags"), std::string::npos) << replayed.err;
}

TEST(RecordReplayTest, RdtscOnEmuIsDeterministicAndFullVerificationPasses) {
  const std::string trace = trace_path("emu_rdtsc");
  ProcessResult recorded = run_process({rrvm_binary(), "record", "--verify=full", "-o", trace,
                                        "--engine", "emu", guest_path("rdtsc_long.elf")});
  ASSERT_EQ(recorded.status, 1) << recorded.err;
  ProcessResult dump = run_process({rrvm_binary(), "dump", trace});
  EXPECT_NE(dump.out.find("register-hash"), std::string::npos);
  ProcessResult replayed = run_process({rrvm_binary(), "replay", trace});
  EXPECT_EQ(replayed.status, 1) << replayed.err;
}

} // namespace
} // namespace rrvm::test
