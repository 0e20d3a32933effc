// Debian's stock kernel boots to a busybox user space on emu and runs a workload that draws on
// a guest's nondeterminism (threads racing on a counter, fork+exec, /dev/urandom, the clocks).
// Its recording, with --clock icount and --verify=full, replays exactly, twice, without the
// kernel or the initrd (the trace holds both): serial output, the workload's exit status and
// the deterministic counters.
#include <cstdlib>
#include <filesystem>
#include <gtest/gtest.h>
#include <map>
#include <regex>
#include <sstream>
#include <time.h>

#include "tests/boot/stock_kernel.h"
#include "tests/support/subprocess.h"

namespace rrvm::test {
namespace {

constexpr const char* kMarker = "rrvm linux test: user space reached";
constexpr int kBootSeconds = 240; // about 18 s of emu for the boot and the workload
// /init writes the workload's exit status, 0, to isa-debug-exit: rrvm exits with (0 << 1) | 1.
constexpr int kWorkloadPassed = 1;

// stderr without the statistics block and the recorder's own "recorded N events" line.
std::string guest_report(const std::string& err) {
  std::istringstream in(err);
  std::string out;
  std::string line;
  bool in_stats = false;
  while (std::getline(in, line)) {
    if (line.rfind("vcpu0 stats", 0) == 0)
      in_stats = true;
    else if (in_stats && line.find('\t') == std::string::npos)
      in_stats = false;
    if (!in_stats && line.rfind("rrvm: recorded ", 0) != 0) out += line + "\n";
  }
  return out;
}

// The `vcpu0 stats` block of `--stats` output: description → its columns after the tab that
// ends the padded description (the value; on replay also the recorded value and DIFFERS).
std::map<std::string, std::string> stats_block(const std::string& err) {
  std::map<std::string, std::string> columns;
  std::istringstream in(err);
  std::string line;
  bool in_stats = false;
  while (std::getline(in, line)) {
    if (line.rfind("vcpu0 stats", 0) == 0) {
      in_stats = true;
      continue;
    }
    const size_t tab = line.find('\t');
    if (!in_stats || tab == std::string::npos) {
      in_stats = false;
      continue;
    }
    std::string description = line.substr(0, tab);
    description.erase(description.find_last_not_of(' ') + 1);
    columns[description] = line.substr(tab + 1);
  }
  return columns;
}

std::string first_column(const std::string& columns) {
  return columns.substr(0, columns.find('\t'));
}

// The workload's lines (the guest's terminal ends them with "\r\n"): each part ran and printed
// what the guest gave it.
void expect_workload_output(const std::string& out, time_t recorded_at) {
  std::smatch race;
  ASSERT_TRUE(std::regex_search(
      out, race,
      std::regex("workload race: (\\d+) threads x (\\d+) increments, counter (\\d+)\r\n")))
      << out;
  const long increments = std::stol(race[1]) * std::stol(race[2]);
  const long counter = std::stol(race[3]);
  EXPECT_GT(counter, 0);
  EXPECT_LE(counter, increments) << "a lost update can only lower the count";
  EXPECT_NE(out.find("workload exec: echo ran in child\r\n"), std::string::npos) << out;
  EXPECT_TRUE(
      std::regex_search(out, std::regex("workload fork: child \\d+ exited with status 0\r\n")))
      << out;
  EXPECT_TRUE(std::regex_search(out, std::regex("workload urandom: [0-9a-f]{32}\r\n"))) << out;
  std::smatch times;
  ASSERT_TRUE(std::regex_search(out, times,
                                std::regex("workload time: realtime (\\d+)\\.\\d{9} monotonic "
                                           "(\\d+)\\.\\d{9} time (\\d+)\r\n")))
      << out;
  const long realtime = std::stol(times[1]);
  EXPECT_LE(std::labs(realtime - long(recorded_at)), 3600) << "the RTC starts at the host's time";
  EXPECT_LT(std::stol(times[2]), 600) << "seconds since boot";
  EXPECT_GE(std::stol(times[3]), realtime);
  EXPECT_LE(std::stol(times[3]), realtime + 1);
  EXPECT_NE(out.find("workload done\r\n"), std::string::npos) << out;
}

TEST(LinuxTraceTest, BootAndWorkloadReplayExactlyWithoutKernelOrInitrd) {
  const std::string stock = stock_kernel_or_fail();
  if (stock.empty()) GTEST_SKIP() << "Debian's kernel is not fetched (tools/fetch-linux.sh)";
  const std::string kernel = ::testing::TempDir() + "trace_vmlinuz";
  std::filesystem::copy_file(stock, kernel, std::filesystem::copy_options::overwrite_existing);
  const std::string initrd = ::testing::TempDir() + "trace_initramfs.cpio.gz";
  const ProcessResult made =
      run_process({"python3", RRVM_SOURCE_DIR "/tools/make-initramfs.py", "--workload",
                   guest_path("linux/workload"), RRVM_LINUX_CACHE "/busybox", initrd, kMarker});
  ASSERT_EQ(made.status, 0) << made.err;
  const std::string trace = ::testing::TempDir() + "linux.trace";

  const time_t recorded_at = time(nullptr);
  const ProcessResult recorded =
      run_process({rrvm_binary(), "record", "--engine", "emu", "--clock", "icount", "--verify",
                   "full", "--stats", "--mem", "256M", "--initrd", initrd, "--append",
                   "console=ttyS0 nokaslr", "-o", trace, kernel},
                  kBootSeconds);
  ASSERT_FALSE(recorded.timed_out);
  ASSERT_NE(recorded.err.find("rrvm: recorded "), std::string::npos) << recorded.err;
  EXPECT_EQ(recorded.status, kWorkloadPassed) << recorded.err << recorded.out;
  EXPECT_NE(recorded.out.find("Linux version 6."), std::string::npos) << recorded.out;
  EXPECT_NE(recorded.out.find(kMarker), std::string::npos) << recorded.out;
  expect_workload_output(recorded.out, recorded_at);
  const std::map<std::string, std::string> live_stats = stats_block(recorded.err);
  ASSERT_FALSE(live_stats.empty()) << recorded.err;
  std::filesystem::remove(kernel);
  std::filesystem::remove(initrd);

  const ProcessResult dump = run_process({rrvm_binary(), "dump", "--count", "0", trace});
  EXPECT_NE(dump.out.find("boot: linux"), std::string::npos) << dump.out;
  EXPECT_NE(dump.out.find("command line \"console=ttyS0 nokaslr\""), std::string::npos) << dump.out;
  EXPECT_NE(dump.out.find("image 0: " + kernel + ", 8"), std::string::npos) << dump.out;
  EXPECT_NE(dump.out.find("image 1: " + initrd), std::string::npos) << dump.out;

  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE("replay " + std::to_string(round + 1));
    const ProcessResult replayed =
        run_process({rrvm_binary(), "replay", "--stats", trace}, kBootSeconds);
    ASSERT_FALSE(replayed.timed_out);
    EXPECT_EQ(replayed.status, recorded.status) << replayed.err;
    EXPECT_EQ(replayed.out, recorded.out);
    EXPECT_EQ(guest_report(replayed.err), guest_report(recorded.err));
    // Each deterministic counter: replayed, as the trace's summary has it, and as the recording
    // printed it live.
    const std::map<std::string, std::string> replayed_stats = stats_block(replayed.err);
    ASSERT_FALSE(replayed_stats.empty()) << replayed.err;
    for (const auto& [description, columns] : replayed_stats) {
      const std::string value = first_column(columns);
      EXPECT_EQ(columns, std::string(value).append("\t").append(value)) << description;
      ASSERT_EQ(live_stats.count(description), 1u) << description;
      EXPECT_EQ(first_column(live_stats.at(description)), value) << description;
    }
  }
}

} // namespace
} // namespace rrvm::test
