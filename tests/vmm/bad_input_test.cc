// Bad input to `rrvm run` gets a one-line error and a distinct exit status, never a crash.
#include <fstream>
#include <gtest/gtest.h>

#include "tests/support/subprocess.h"

namespace rrvm::test {
namespace {

std::string write_temp(const std::string& name, const std::string& bytes) {
  std::string path = ::testing::TempDir() + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

struct BadCase {
  const char* name;
  std::vector<std::string> args;
  int status;
  const char* message;
};

void expect_refusal(const std::vector<std::string>& args, int status, const std::string& message) {
  std::vector<std::string> argv = {rrvm_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessResult r = run_process(argv);
  EXPECT_EQ(r.status, status) << r.err;
  EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
  // One line (a trailing newline only), and the guest never started.
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(BadInputTest, MissingKernel) {
  expect_refusal({"run", "--engine", "emu", "/nonexistent/kernel"}, 66, "No such file");
}

TEST(BadInputTest, NotAnElf) {
  expect_refusal({"run", "--engine", "emu", write_temp("text.txt", "just some text\n")}, 66,
                 "not an ELF file");
}

TEST(BadInputTest, TruncatedElf) {
  expect_refusal({"run", "--engine", "emu",
                  write_temp("trunc.elf", "\x7f"
                                          "ELF\x01\x01")},
                 66, "truncated");
}

TEST(BadInputTest, Elf32WithoutMultibootHeader) {
  // The ELF header of a real ELF32 executable with the multiboot header cut off.
  std::ifstream in(guest_path("hello_multiboot.elf"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  auto pos = bytes.find(std::string("\x02\xb0\xad\x1b", 4));
  ASSERT_NE(pos, std::string::npos);
  bytes[pos] = 0;
  expect_refusal({"run", "--engine", "emu", write_temp("nomb.elf", bytes)}, 66,
                 "without a multiboot header");
}

TEST(BadInputTest, SegmentsOutsideGuestMemory) {
  if (!kvm_usable_or_fail()) GTEST_SKIP() << "/dev/kvm is not usable on this host";
  // The guest loads at 1 MiB; 1 MiB of RAM cannot hold it... but --mem must be ≥ 2M, so use a
  // flat image that does not fit below 1 MiB instead.
  expect_refusal({"run", "--engine", "kvm", "--flat", "0xff000", guest_path("pit_long.elf")}, 66,
                 "within 0x500-0x100000");
}

TEST(BadInputTest, MemoryOptions) {
  expect_refusal({"run", "--mem", "1M", guest_path("pit_long.elf")}, 64, "too small");
  expect_refusal({"run", "--mem", "lots", guest_path("pit_long.elf")}, 64, "bad --mem");
  expect_refusal({"run", "--mem", "8G", guest_path("pit_long.elf")}, 64, "3.5 GiB");
}

TEST(BadInputTest, UnknownOptionsAndValues) {
  expect_refusal({"run", "--frobnicate", guest_path("pit_long.elf")}, 64, "unknown option");
  expect_refusal({"run", "--engine", "bochs", guest_path("pit_long.elf")}, 64, "bad --engine");
  expect_refusal({"run", "--serial", "tcp:1", guest_path("pit_long.elf")}, 64, "bad --serial");
  expect_refusal({"run"}, 64, "missing KERNEL");
  expect_refusal({"launch"}, 64, "unknown command");
}

} // namespace
} // namespace rrvm::test
