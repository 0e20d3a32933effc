// A recording of a Linux boot holds the kernel and the initrd: its replay needs neither file.
#include <filesystem>
#include <gtest/gtest.h>

#include "tests/boot/bzimage_forge.h"
#include "tests/boot/stock_kernel.h"
#include "tests/support/subprocess.h"

namespace rrvm::test {
namespace {

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

TEST(LinuxTraceTest, ReplayNeedsNeitherTheKernelNorTheInitrd) {
  const std::string stock = stock_kernel_or_fail();
  if (stock.empty()) GTEST_SKIP() << "Debian's kernel is not fetched (tools/fetch-linux.sh)";
  const std::string kernel = ::testing::TempDir() + "trace_vmlinuz";
  std::filesystem::copy_file(stock, kernel, std::filesystem::copy_options::overwrite_existing);
  std::vector<uint8_t> initrd_bytes(100000);
  for (size_t i = 0; i < initrd_bytes.size(); ++i)
    initrd_bytes[i] = static_cast<uint8_t>(i % 251);
  const std::string initrd = write_temp_file("trace_initrd", initrd_bytes);
  const std::string trace = ::testing::TempDir() + "linux.trace";

  const ProcessResult recorded =
      run_process({rrvm_binary(), "record", "--engine", "emu", "--mem", "256M", "--initrd", initrd,
                   "--append", "console=ttyS0", "-o", trace, kernel},
                  120);
  ASSERT_FALSE(recorded.timed_out);
  ASSERT_NE(recorded.err.find("rrvm: recorded "), std::string::npos) << recorded.err;
  std::filesystem::remove(kernel);
  std::filesystem::remove(initrd);

  const ProcessResult dump = run_process({rrvm_binary(), "dump", trace});
  EXPECT_NE(dump.out.find("boot: linux"), std::string::npos) << dump.out;
  EXPECT_NE(dump.out.find("command line \"console=ttyS0\""), std::string::npos) << dump.out;
  EXPECT_NE(dump.out.find("image 0: " + kernel + ", 8"), std::string::npos) << dump.out;
  EXPECT_NE(dump.out.find("image 1: " + initrd + ", 100000 bytes"), std::string::npos) << dump.out;

  const ProcessResult replayed = run_process({rrvm_binary(), "replay", trace}, 120);
  EXPECT_EQ(replayed.status, recorded.status) << replayed.err;
  EXPECT_EQ(replayed.out, recorded.out);
  EXPECT_EQ(guest_report(replayed.err), guest_report(recorded.err));
}

} // namespace
} // namespace rrvm::test
