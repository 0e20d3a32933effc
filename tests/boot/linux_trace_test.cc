// Debian's stock kernel boots to a busybox user space on emu, and its recording replays exactly,
// twice, without the kernel or the initrd: the trace holds both.
#include <filesystem>
#include <gtest/gtest.h>

#include "tests/boot/stock_kernel.h"
#include "tests/support/subprocess.h"

namespace rrvm::test {
namespace {

constexpr const char* kMarker = "rrvm linux test: user space reached";
constexpr int kBootSeconds = 240; // about 11 s on an idle 2-core machine

// stderr without the recorder's own "recorded N events" line.
std::string guest_report(const std::string& err) {
  std::string out;
  size_t at = 0;
  while (at < err.size()) {
    const size_t end = err.find('\n', at);
    const std::string line = err.substr(at, end == std::string::npos ? end : end + 1 - at);
    if (line.rfind("rrvm: recorded ", 0) != 0) out += line;
    at = end == std::string::npos ? err.size() : end + 1;
  }
  return out;
}

TEST(LinuxTraceTest, BootToUserSpaceReplaysExactlyWithoutKernelOrInitrd) {
  const std::string stock = stock_kernel_or_fail();
  if (stock.empty()) GTEST_SKIP() << "Debian's kernel is not fetched (tools/fetch-linux.sh)";
  const std::string kernel = ::testing::TempDir() + "trace_vmlinuz";
  std::filesystem::copy_file(stock, kernel, std::filesystem::copy_options::overwrite_existing);
  const std::string initrd = ::testing::TempDir() + "trace_initramfs.cpio.gz";
  const ProcessResult made = run_process({"python3", RRVM_SOURCE_DIR "/tools/make-initramfs.py",
                                          RRVM_LINUX_CACHE "/busybox", initrd, kMarker});
  ASSERT_EQ(made.status, 0) << made.err;
  const std::string trace = ::testing::TempDir() + "linux.trace";

  const ProcessResult recorded =
      run_process({rrvm_binary(), "record", "--engine", "emu", "--mem", "256M", "--initrd", initrd,
                   "--append", "console=ttyS0 nokaslr", "-o", trace, kernel},
                  kBootSeconds);
  ASSERT_FALSE(recorded.timed_out);
  ASSERT_NE(recorded.err.find("rrvm: recorded "), std::string::npos) << recorded.err;
  EXPECT_NE(recorded.out.find("Linux version 6."), std::string::npos) << recorded.out;
  EXPECT_NE(recorded.out.find(kMarker), std::string::npos) << recorded.out;
  EXPECT_NE(recorded.out.find("reboot: System halted"), std::string::npos) << recorded.out;
  std::filesystem::remove(kernel);
  std::filesystem::remove(initrd);

  const ProcessResult dump = run_process({rrvm_binary(), "dump", "--count", "0", trace});
  EXPECT_NE(dump.out.find("boot: linux"), std::string::npos) << dump.out;
  EXPECT_NE(dump.out.find("command line \"console=ttyS0 nokaslr\""), std::string::npos) << dump.out;
  EXPECT_NE(dump.out.find("image 0: " + kernel + ", 8"), std::string::npos) << dump.out;
  EXPECT_NE(dump.out.find("image 1: " + initrd), std::string::npos) << dump.out;

  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE("replay " + std::to_string(round + 1));
    const ProcessResult replayed = run_process({rrvm_binary(), "replay", trace}, kBootSeconds);
    ASSERT_FALSE(replayed.timed_out);
    EXPECT_EQ(replayed.status, recorded.status) << replayed.err;
    EXPECT_EQ(replayed.out, recorded.out);
    EXPECT_EQ(guest_report(replayed.err), guest_report(recorded.err));
  }
}

} // namespace
} // namespace rrvm::test
