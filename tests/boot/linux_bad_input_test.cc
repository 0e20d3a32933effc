// Bad Linux input to `rrvm run` and `rrvm record`: one line naming the sizes, status 66 (bad
// input) or 64 (usage), and no trace written.
#include <fstream>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tests/boot/bzimage_forge.h"
#include "tests/support/subprocess.h"

namespace rrvm::test {
namespace {

void expect_refusal(std::vector<std::string> args, int status, const std::string& message) {
  const std::string trace = ::testing::TempDir() + "refused.trace";
  std::remove(trace.c_str());
  for (const char* command : {"run", "record"}) {
    SCOPED_TRACE(command);
    std::vector<std::string> argv = {rrvm_binary(), command, "--engine", "emu"};
    if (std::string(command) == "record") argv.insert(argv.end(), {"-o", trace});
    argv.insert(argv.end(), args.begin(), args.end());
    const ProcessResult r = run_process(argv);
    EXPECT_EQ(r.status, status) << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
    struct stat st;
    EXPECT_NE(::stat(trace.c_str(), &st), 0) << "a trace was written";
  }
}

TEST(LinuxBadInputTest, NeitherLinuxNorMultibootNorElf) {
  std::vector<uint8_t> bytes(4096, 0x5a);
  bytes[0x1fe] = 0x55; // a boot sector, but no setup header
  bytes[0x1ff] = 0xaa;
  expect_refusal({write_temp_file("boot_sector.img", bytes)}, 66,
                 "not a Linux bzImage (no HdrS setup header) and not an ELF file");
}

TEST(LinuxBadInputTest, BootProtocolOlderThan2_12) {
  ForgedBzImage forged;
  forged.version = 0x020b;
  expect_refusal(
      {write_temp_file("old.bzImage", forged.bytes())}, 66,
      "Linux boot protocol 2.11 is older than 2.12, the first with a 64-bit entry point");
}

TEST(LinuxBadInputTest, InitrdLargerThanTheRamAboveTheKernel) {
  ForgedBzImage forged; // the kernel ends at 17 MiB
  const std::string kernel = write_temp_file("small.bzImage", forged.bytes());
  const std::string initrd = write_temp_file("big.initrd", std::vector<uint8_t>(16u << 20, 1));
  expect_refusal({"--mem", "32M", "--initrd", initrd, kernel}, 66,
                 "initrd of 16777216 bytes (16.0 MiB) does not fit in guest RAM between the "
                 "kernel's end at 0x1100000 and 0x2000000 (15.0 MiB free); try a larger --mem");
}

TEST(LinuxBadInputTest, CommandLineLongerThanCmdlineSize) {
  ForgedBzImage forged;
  forged.cmdline_size = 16;
  const std::string kernel = write_temp_file("short_cmdline.bzImage", forged.bytes());
  expect_refusal({"--append", std::string(40, 'x'), kernel}, 66,
                 "--append command line is 40 bytes; " + kernel +
                     " takes at most 16 (its cmdline_size)");
}

TEST(LinuxBadInputTest, KernelLargerThanMemory) {
  ForgedBzImage forged;
  forged.init_size = 0x2000000;
  const std::string kernel = write_temp_file("huge.bzImage", forged.bytes());
  expect_refusal({"--mem", "32M", kernel}, 66,
                 "the kernel needs RAM up to 48.0 MiB (load address 0x1000000 + init_size 32.0 "
                 "MiB), guest has 32.0 MiB; try a larger --mem");
}

TEST(LinuxBadInputTest, InitrdWithAKernelThatIsNotLinux) {
  const std::string initrd = write_temp_file("small.initrd", std::vector<uint8_t>(100, 1));
  expect_refusal({"--initrd", initrd, guest_path("pit_long.elf")}, 64,
                 "--initrd is for Linux kernels");
}

TEST(LinuxBadInputTest, MissingInitrd) {
  ForgedBzImage forged;
  expect_refusal({"--initrd", "/nonexistent/initrd", write_temp_file("k.bzImage", forged.bytes())},
                 66, "initrd /nonexistent/initrd: No such file");
}

} // namespace
} // namespace rrvm::test
