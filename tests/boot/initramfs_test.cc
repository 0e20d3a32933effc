// tools/make-initramfs.py: a gzipped newc cpio with busybox, /dev/console and an /init that prints
// and powers off, the same bytes every time.
#include <fstream>
#include <gtest/gtest.h>

#include "tests/boot/stock_kernel.h"
#include "tests/support/subprocess.h"

namespace rrvm::test {
namespace {

TEST(InitramfsTest, BuildsAReproducibleBusyboxInitramfs) {
  if (stock_kernel_or_fail().empty())
    GTEST_SKIP() << "busybox-static is not fetched (tools/fetch-linux.sh)";
  const std::string busybox = RRVM_LINUX_CACHE "/busybox";
  const std::string script = RRVM_SOURCE_DIR "/tools/make-initramfs.py";
  const std::string first = ::testing::TempDir() + "first.cpio.gz";
  const std::string second = ::testing::TempDir() + "second.cpio.gz";
  for (const std::string& out : {first, second}) {
    const ProcessResult made =
        run_process({"python3", script, busybox, out, "hello from the test"});
    ASSERT_EQ(made.status, 0) << made.err;
  }
  EXPECT_EQ(read_file(first), read_file(second));

  const ProcessResult listing =
      run_process({"sh", "-c", "gzip -dc '" + first + "' | '" + busybox + "' cpio -t"});
  ASSERT_EQ(listing.status, 0) << listing.err;
  for (const char* entry :
       {"\ninit\n", "\nbin/busybox\n", "\nbin/sh\n", "\ndev/console\n", "\nproc\n"})
    EXPECT_NE(("\n" + listing.out).find(entry), std::string::npos) << entry << listing.out;
  const ProcessResult init = run_process(
      {"sh", "-c", "gzip -dc '" + first + "' | '" + busybox + "' cpio -i --to-stdout init"});
  EXPECT_NE(init.out.find("echo \"hello from the test\""), std::string::npos) << init.out;
  EXPECT_NE(init.out.find("poweroff -f"), std::string::npos) << init.out;
}

TEST(InitramfsTest, RefusesAMissingBusybox) {
  const ProcessResult made = run_process({"python3", RRVM_SOURCE_DIR "/tools/make-initramfs.py",
                                          "/nonexistent/busybox", ::testing::TempDir() + "x.gz"});
  EXPECT_EQ(made.status, 66);
  EXPECT_NE(made.err.find("is not an executable"), std::string::npos) << made.err;
}

} // namespace
} // namespace rrvm::test
