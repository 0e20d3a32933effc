// tools/make-initramfs.py: a gzipped newc cpio with busybox, the device nodes /init uses and an
// /init that prints and then powers off, runs a workload and reports its status, or starts an
// interactive shell; the same bytes every time.
#include <gtest/gtest.h>
#include <regex>

#include "tests/boot/stock_kernel.h"
#include "tests/support/subprocess.h"

namespace rrvm::test {
namespace {

constexpr const char* kBusybox = RRVM_LINUX_CACHE "/busybox";
constexpr const char* kScript = RRVM_SOURCE_DIR "/tools/make-initramfs.py";

ProcessResult make_initramfs(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"python3", kScript};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv);
}

// `busybox cpio` on the unzipped archive, e.g. {"-tv"} or {"-i", "--to-stdout", "init"}.
std::string cpio(const std::string& archive, const std::string& args) {
  const ProcessResult r =
      run_process({"sh", "-c", "gzip -dc '" + archive + "' | '" + kBusybox + "' cpio " + args});
  EXPECT_EQ(r.status, 0) << r.err;
  return r.out;
}

// Builds the archive twice with `options` and checks the two are the same bytes.
std::string reproducible_initramfs(const std::vector<std::string>& options) {
  const std::string first = unique_temp_path("first.cpio.gz");
  const std::string second = unique_temp_path("second.cpio.gz");
  for (const std::string& out : {first, second}) {
    std::vector<std::string> args = options;
    for (const std::string& a : {std::string(kBusybox), out, std::string("hello from the test")})
      args.push_back(a);
    const ProcessResult made = make_initramfs(args);
    EXPECT_EQ(made.status, 0) << made.err;
  }
  EXPECT_EQ(read_file(first), read_file(second));
  return first;
}

void expect_entries(const std::string& listing, const std::vector<std::string>& entries) {
  for (const std::string& entry : entries)
    EXPECT_NE(listing.find(entry), std::string::npos) << entry << "\n" << listing;
}

TEST(InitramfsTest, BuildsAReproducibleBusyboxInitramfs) {
  if (stock_kernel_or_fail().empty())
    GTEST_SKIP() << "busybox-static is not fetched (tools/fetch-linux.sh)";
  const std::string archive = reproducible_initramfs({});
  std::string listing = "\n";
  listing += cpio(archive, "-t");
  expect_entries(listing,
                 {"\ninit\n", "\nbin/busybox\n", "\nbin/sh\n", "\ndev/console\n", "\nproc\n"});
  const std::string init = cpio(archive, "-i --to-stdout init");
  EXPECT_NE(init.find("echo \"hello from the test\"\n/bin/poweroff -f\n"), std::string::npos)
      << init;
  EXPECT_EQ(init.find("workload"), std::string::npos) << init;
  EXPECT_EQ(init.find("cttyhack"), std::string::npos) << init;
}

TEST(InitramfsTest, WorkloadIsInstalledRunAndItsStatusWrittenToIsaDebugExit) {
  if (stock_kernel_or_fail().empty())
    GTEST_SKIP() << "busybox-static is not fetched (tools/fetch-linux.sh)";
  const std::string workload = guest_path("linux/workload");
  const std::string archive = reproducible_initramfs({"--workload", workload});
  // Character devices: /dev/port for the status byte, /dev/urandom for the workload.
  const std::string listing = cpio(archive, "-tv");
  for (const char* entry : {"crw------- 0/0 +0 .* dev/port\n", "crw------- 0/0 +0 .* dev/urandom\n",
                            "-rwxr-xr-x 0/0 +[1-9][0-9]* .* bin/workload\n"})
    EXPECT_TRUE(std::regex_search(listing, std::regex(entry))) << entry << "\n" << listing;
  EXPECT_EQ(cpio(archive, "-i --to-stdout bin/workload"), read_file(workload));
  const std::string init = cpio(archive, "-i --to-stdout init");
  const size_t message = init.find("echo \"hello from the test\"\n");
  const size_t run = init.find("\n/bin/workload\n");
  const size_t report = init.find("dd of=/dev/port bs=1 seek=244 count=1");
  ASSERT_NE(message, std::string::npos) << init;
  ASSERT_NE(run, std::string::npos) << init;
  ASSERT_NE(report, std::string::npos) << init;
  EXPECT_LT(message, run);
  EXPECT_LT(run, report);
}

TEST(InitramfsTest, ShellRunsInASessionOfItsOwnThenPowersOff) {
  if (stock_kernel_or_fail().empty())
    GTEST_SKIP() << "busybox-static is not fetched (tools/fetch-linux.sh)";
  const std::string archive = reproducible_initramfs({"--shell"});
  expect_entries(cpio(archive, "-t"),
                 {"\nbin/setsid\n", "\nbin/cttyhack\n", "\ndev/ttyS0\n", "\ndev/tty\n"});
  const std::string init = cpio(archive, "-i --to-stdout init");
  EXPECT_NE(init.find("echo \"hello from the test\"\nsetsid cttyhack sh\n/bin/poweroff -f\n"),
            std::string::npos)
      << init;
}

TEST(InitramfsTest, RefusesAMissingBusyboxOrWorkload) {
  const std::string out = unique_temp_path("x.gz");
  ProcessResult made = make_initramfs({"/nonexistent/busybox", out});
  EXPECT_EQ(made.status, 66);
  EXPECT_NE(made.err.find("/nonexistent/busybox is not an executable"), std::string::npos)
      << made.err;
  made = make_initramfs({"--workload", "/nonexistent/workload", "/bin/sh", out});
  EXPECT_EQ(made.status, 66);
  EXPECT_NE(made.err.find("/nonexistent/workload is not an executable"), std::string::npos)
      << made.err;
  EXPECT_TRUE(read_file(out).empty()) << "nothing is written";
}

TEST(InitramfsTest, RefusesBadUsage) {
  const std::string out = unique_temp_path("x.gz");
  for (const std::vector<std::string>& args : {std::vector<std::string>{},
                                               {"/bin/sh"},
                                               {"--shell", "--workload", "/bin/sh", "/bin/sh", out},
                                               {"--bogus", "/bin/sh", out},
                                               {"/bin/sh", out, "message", "extra"}}) {
    const ProcessResult made = make_initramfs(args);
    EXPECT_EQ(made.status, 64) << made.err;
    EXPECT_NE(made.err.find("make-initramfs: "), std::string::npos) << made.err;
  }
}

} // namespace
} // namespace rrvm::test
