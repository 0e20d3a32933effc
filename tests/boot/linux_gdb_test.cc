// Issue 11's gdb scenario: a recording of Debian's stock kernel booting to user space, replayed
// under the real gdb with symbols from tools/linux-symbols.py; a breakpoint on a kernel function
// by name, then a reverse step back into its caller's call instruction and a step forward again.
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <regex>

#include "tests/boot/stock_kernel.h"
#include "tests/support/gdb_server_process.h"
#include "tests/support/subprocess.h"

namespace rrvm::test {
namespace {

constexpr int kBootSeconds = 240; // the recording takes about 10 s on an idle 2-core machine

TEST(LinuxGdbTest, BreakOnAKernelFunctionByNameThenReverseStepIntoItsCaller) {
  const std::string kernel = stock_kernel_or_fail();
  if (kernel.empty()) GTEST_SKIP() << "Debian's kernel is not fetched (tools/fetch-linux.sh)";
  if (run_process({"gdb", "--version"}).status != 0) GTEST_SKIP() << "no gdb";

  const std::string initrd = unique_temp_path("initramfs.cpio.gz");
  const ProcessResult made = run_process(
      {"python3", RRVM_SOURCE_DIR "/tools/make-initramfs.py", RRVM_LINUX_CACHE "/busybox", initrd});
  ASSERT_EQ(made.status, 0) << made.err;
  const std::string symbols = unique_temp_path("vmlinux-symbols.elf");
  const ProcessResult listed =
      run_process({"python3", RRVM_SOURCE_DIR "/tools/linux-symbols.py", kernel, symbols}, 240);
  ASSERT_EQ(listed.status, 0) << listed.err;
  const std::string trace = unique_temp_path("linux.trace");
  const ProcessResult recorded =
      run_process({rrvm_binary(), "record", "--engine", "emu", "--clock", "icount", "--mem", "256M",
                   "--initrd", initrd, "--append", "console=ttyS0 nokaslr", "-o", trace, kernel},
                  kBootSeconds);
  ASSERT_FALSE(recorded.timed_out);
  ASSERT_NE(recorded.out.find("Run /init as init process"), std::string::npos) << recorded.out;
  std::filesystem::remove(initrd);

  const std::string server_err = unique_temp_path("server.err");
  GdbServerProcess server({"replay", trace, "--gdb", "127.0.0.1:0"}, server_err);
  const int port = server.port(30'000);
  ASSERT_NE(port, 0) << server.err();
  // setup_arch runs once, early, called by start_kernel. gdb knows no prologues without debug
  // information: `break *` puts the breakpoint on the function's first instruction, so one
  // reverse step lands on the call.
  const std::string script = unique_temp_path("scenario.gdb");
  std::ofstream(script) << "set pagination off\nset confirm off\nsymbol-file " << symbols
                        << "\ntarget remote 127.0.0.1:" << port
                        << "\nbreak *setup_arch\ncontinue\n"
                           "printf \"AT ENTRY %d\\n\", $pc == (long)&setup_arch\n"
                           "reverse-stepi\ninfo symbol $pc\nx/i $pc\n"
                           "stepi\nprintf \"AT ENTRY %d\\n\", $pc == (long)&setup_arch\n"
                           "info symbol $pc\nkill\n";
  const ProcessResult gdb = run_process({"gdb", "-batch", "-nx", "-x", script}, kBootSeconds);
  ASSERT_FALSE(gdb.timed_out);
  const std::string out = gdb.out + gdb.err;
  EXPECT_NE(out.find("Breakpoint 1, 0xffffffff"), std::string::npos) << out;
  EXPECT_NE(out.find("in setup_arch ()\nAT ENTRY 1\n"), std::string::npos) << out;
  // Back in the caller, on the instruction that called the function.
  const std::regex caller("start_kernel \\+ [0-9]+ in section \\.text[.0-9]*\n"
                          "=> 0xffffffff[0-9a-f]+ <start_kernel\\+[0-9]+>:\\s+call\\s+"
                          "0xffffffff[0-9a-f]+ <setup_arch>\n");
  EXPECT_TRUE(std::regex_search(out, caller)) << out;
  // And forward again into the function.
  EXPECT_NE(out.find("AT ENTRY 1\nsetup_arch in section .text"), std::string::npos) << out;
  std::filesystem::remove(script);
  std::filesystem::remove(symbols);
  std::filesystem::remove(trace);
  std::filesystem::remove(server_err);
}

} // namespace
} // namespace rrvm::test
