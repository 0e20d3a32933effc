// SIGINT, SIGTERM and SIGHUP stop run, record and replay cleanly: status 78, one line, the trace
// and the serial output finished, and a recording so stopped replays to the same output. A
// second signal ends rrvm at once and leaves what it wrote readable.
#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/subprocess.h"

namespace rrvm::test {
namespace {

constexpr int kStoppedStatus = 78;

bool exists(const std::string& path) {
  return access(path.c_str(), F_OK) == 0;
}

// Starts rrvm with `args`, sends each of `signals` after its delay, and collects the result.
ProcessResult signalled(const std::vector<std::string>& args,
                        const std::vector<std::pair<int, int>>& delay_ms_and_signal) {
  const std::string out = unique_temp_path("out.txt");
  const std::string err = unique_temp_path("err.txt");
  const pid_t pid = fork();
  if (pid == 0) {
    const int null_fd = open("/dev/null", O_RDONLY);
    dup2(null_fd, 0);
    dup2(open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 1);
    dup2(open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 2);
    std::vector<char*> argv;
    const std::string binary = rrvm_binary();
    argv.push_back(const_cast<char*>(binary.c_str()));
    for (const auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  for (const auto& [delay_ms, signal] : delay_ms_and_signal) {
    usleep(useconds_t(delay_ms) * 1000);
    kill(pid, signal);
  }
  int status = 0;
  for (int waited_ms = 0; waitpid(pid, &status, WNOHANG) != pid; waited_ms += 10) {
    if (waited_ms > 30000) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ADD_FAILURE() << "rrvm did not stop";
      break;
    }
    usleep(10000);
  }
  ProcessResult result;
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_file(out);
  result.err = read_file(err);
  return result;
}

ProcessResult rrvm(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {rrvm_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv);
}

class StopSignalTest : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    if (GetParam() == "kvm" && !kvm_usable_or_fail()) GTEST_SKIP() << "/dev/kvm is not usable";
  }
};

TEST_P(StopSignalTest, InterruptedRecordingReplaysToTheSameOutput) {
  const std::string trace = unique_temp_path("ticker.trace");
  const std::string recorded = unique_temp_path("recorded.txt");
  const std::string replayed = unique_temp_path("replayed.txt");
  ProcessResult r = signalled({"record", "--engine", GetParam(), "-o", trace, "--serial",
                               "file:" + recorded, guest_path("ticker_long.elf")},
                              {{500, SIGINT}});
  EXPECT_EQ(r.status, kStoppedStatus) << r.err;
  EXPECT_NE(r.err.find("rrvm: stopped by SIGINT at rip 0x"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("events to " + trace + "\n"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
  EXPECT_TRUE(exists(trace));
  EXPECT_FALSE(exists(trace + ".partial"));
  EXPECT_FALSE(read_file(recorded).empty()) << "the guest prints a dot every 20 ms";

  ProcessResult replay = rrvm({"replay", trace, "--serial", "file:" + replayed});
  if (GetParam() == "kvm" && pvm_window_imprecision(replay))
    GTEST_SKIP() << "PVM placed an interrupt window or kick imprecisely: " << replay.err;
  EXPECT_EQ(replay.status, kStoppedStatus) << replay.err;
  EXPECT_NE(replay.err.find("replay reached the end of the recording at event"), std::string::npos)
      << replay.err;
  EXPECT_EQ(read_file(replayed), read_file(recorded));
  ProcessResult dump = rrvm({"dump", "--count", "0", trace});
  EXPECT_EQ(dump.status, 0) << dump.err;
  EXPECT_NE(dump.out.find("footer: "), std::string::npos) << "a finished trace";
}

TEST_P(StopSignalTest, RunStopsOnSigtermAndSighup) {
  for (int signal : {SIGTERM, SIGHUP}) {
    ProcessResult r =
        signalled({"run", "--engine", GetParam(), guest_path("ticker_long.elf")}, {{300, signal}});
    EXPECT_EQ(r.status, kStoppedStatus) << r.err;
    EXPECT_NE(r.err.find(std::string("rrvm: stopped by ") +
                         (signal == SIGTERM ? "SIGTERM" : "SIGHUP") + " at rip"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.out.find("."), std::string::npos) << "serial output flushed";
  }
}

TEST_P(StopSignalTest, BusyGuestStopsToo) {
  // No exits at all while it computes: the stop must kick the vCPU (emu: a long run; kvm: a
  // guest PVM runs slowly enough never to finish in time).
  const std::string trace = unique_temp_path("compute.trace");
  ProcessResult r = signalled({"record", "--engine", GetParam(), "-o", trace, "--append",
                               "100000000000", guest_path("compute_long.elf")},
                              {{500, SIGINT}});
  EXPECT_EQ(r.status, kStoppedStatus) << r.err;
  if (GetParam() == "emu") {
    // A kvm replay of it would compute until the guest's next exit, at its end.
    ProcessResult replay = rrvm({"replay", trace});
    EXPECT_EQ(replay.status, kStoppedStatus) << replay.err;
  }
}

TEST_P(StopSignalTest, SecondSignalEndsAtOnceAndLeavesAReadableTrace) {
  // Serving gdb, the recorder waits for a connection and cannot reach an exit: the first signal
  // only asks, the second ends it.
  const std::string trace = unique_temp_path("gdb.trace");
  ProcessResult r = signalled({"record", "--engine", GetParam(), "-o", trace, "--gdb",
                               "127.0.0.1:0", guest_path("ticker_long.elf")},
                              {{500, SIGINT}, {300, SIGINT}});
  EXPECT_EQ(r.status, 128 + SIGINT) << r.err;
  EXPECT_TRUE(exists(trace)) << "the partial trace is moved to its name";
  EXPECT_FALSE(exists(trace + ".partial"));
  ProcessResult dump = rrvm({"dump", trace});
  EXPECT_NE(dump.out.find("footer: none"), std::string::npos) << dump.out << dump.err;
}

// emu's adaptive clock: a stop that ends an idle wait before its deadline ties guest time to the
// host time of the wake-up (a wake tie); the replay takes it from the trace at the same count.
TEST(StopSignalAdaptiveClock, AStopEndingAnIdleWaitIsAWakeTieTheReplayTakes) {
  // The guest idles ~97 % of the time, but a signal landing in its running share (larger on a
  // loaded host or under a sanitizer) stops it at an exit, without a wait to end: try again.
  const std::string trace = unique_temp_path("idle.trace");
  constexpr int kAttempts = 4;
  ProcessResult dump;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    ProcessResult r =
        signalled({"record", "--engine", "emu", "-o", trace, guest_path("idle_second_long.elf")},
                  {{400, SIGINT}});
    ASSERT_EQ(r.status, kStoppedStatus) << r.err;
    dump = rrvm({"dump", trace});
    if (dump.out.find(" clock-tie wake icount=") != std::string::npos) break;
  }
  ASSERT_NE(dump.out.find(" clock-tie wake icount="), std::string::npos)
      << "no stop of " << kAttempts << " ended an idle wait\n"
      << dump.out;
  ProcessResult replay = rrvm({"replay", trace});
  EXPECT_EQ(replay.status, kStoppedStatus) << replay.err;
}

INSTANTIATE_TEST_SUITE_P(Engines, StopSignalTest, ::testing::Values("emu", "kvm"),
                         [](const auto& info) { return info.param; });

} // namespace
} // namespace rrvm::test
