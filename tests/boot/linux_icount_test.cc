// Debian's stock kernel under --clock icount: it calibrates the advertised 1 GHz TSC, reports no
// soft lockup, runs without page-table isolation, and two plain runs (no recording) print
// exactly the same bytes.
#include <gtest/gtest.h>

#include "tests/boot/stock_kernel.h"
#include "tests/support/subprocess.h"

namespace rrvm::test {
namespace {

constexpr const char* kMarker = "rrvm icount test: user space reached";
constexpr int kBootSeconds = 240; // about 9 s on an idle 2-core machine

TEST(LinuxIcountTest, TwoBootsAreIdenticalAndSeeA1GHzTscWithoutSoftLockups) {
  const std::string kernel = stock_kernel_or_fail();
  if (kernel.empty()) GTEST_SKIP() << "Debian's kernel is not fetched (tools/fetch-linux.sh)";
  const std::string initrd = ::testing::TempDir() + "icount_initramfs.cpio.gz";
  const ProcessResult made = run_process({"python3", RRVM_SOURCE_DIR "/tools/make-initramfs.py",
                                          RRVM_LINUX_CACHE "/busybox", initrd, kMarker});
  ASSERT_EQ(made.status, 0) << made.err;
  const std::vector<std::string> run = {rrvm_binary(), "run",
                                        "--engine",    "emu",
                                        "--clock",     "icount",
                                        "--rtc-time",  "1700000000",
                                        "--mem",       "256M",
                                        "--initrd",    initrd,
                                        "--append",    "console=ttyS0 nokaslr",
                                        kernel};
  const ProcessResult first = run_process(run, kBootSeconds);
  ASSERT_FALSE(first.timed_out);
  EXPECT_NE(first.out.find(kMarker), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("tsc: Detected 1000.000 MHz"), std::string::npos) << first.out;
  EXPECT_EQ(first.out.find("soft lockup"), std::string::npos) << first.out;
  // emu's IA32_ARCH_CAPABILITIES says RDCL_NO and MDS_NO: no page-table isolation (a CR3 switch
  // at every kernel entry and exit), no buffer clearing.
  EXPECT_EQ(first.out.find("page tables isolation: enabled"), std::string::npos) << first.out;
  EXPECT_EQ(first.out.find("MDS: Vulnerable"), std::string::npos) << first.out;
  const ProcessResult second = run_process(run, kBootSeconds);
  ASSERT_FALSE(second.timed_out);
  EXPECT_EQ(second.status, first.status);
  EXPECT_EQ(second.out, first.out);
}

} // namespace
} // namespace rrvm::test
