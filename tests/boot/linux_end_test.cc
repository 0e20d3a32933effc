// How Debian's stock kernel ends a run without ACPI, on emu under --clock icount: `poweroff -f`
// halts with interrupts disabled (a power off, status 80); `reboot -f` resets (status 82) through
// the keyboard controller by default, and with reboot=t by a triple fault.
#include <gtest/gtest.h>

#include "tests/boot/stock_kernel.h"
#include "tests/support/subprocess.h"

namespace rrvm::test {
namespace {

constexpr const char* kMarker = "rrvm end test: user space reached";
constexpr int kBootSeconds = 240; // about 9 s on an idle 2-core machine

// Boots the stock kernel with an initramfs whose /init ends with `END -f`.
ProcessResult boot_to(const std::string& kernel, const std::string& end,
                      const std::string& command_line) {
  const std::string initrd = unique_temp_path("end_" + end + ".cpio.gz"); // two tests use "reboot"
  const ProcessResult made =
      run_process({"python3", RRVM_SOURCE_DIR "/tools/make-initramfs.py", "--end", end,
                   RRVM_LINUX_CACHE "/busybox", initrd, kMarker});
  EXPECT_EQ(made.status, 0) << made.err;
  return run_process({rrvm_binary(), "run", "--engine", "emu", "--clock", "icount", "--rtc-time",
                      "1700000000", "--mem", "256M", "--initrd", initrd, "--append", command_line,
                      kernel},
                     kBootSeconds);
}

TEST(LinuxEndTest, PoweroffIsAPowerOff) {
  const std::string kernel = stock_kernel_or_fail();
  if (kernel.empty()) GTEST_SKIP() << "Debian's kernel is not fetched (tools/fetch-linux.sh)";
  const ProcessResult r = boot_to(kernel, "poweroff", "console=ttyS0");
  ASSERT_FALSE(r.timed_out);
  EXPECT_NE(r.out.find(kMarker), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("reboot: System halted"), std::string::npos) << r.out;
  EXPECT_EQ(r.status, 80) << r.err;
  EXPECT_EQ(
      r.err.rfind("rrvm: guest powered off (halted with interrupts disabled at cs:rip 0010:", 0),
      0u)
      << r.err;
  EXPECT_NE(r.err.find("in 64-bit long mode)\n"), std::string::npos) << r.err;
}

TEST(LinuxEndTest, RebootWithTripleFaultIsAReset) {
  const std::string kernel = stock_kernel_or_fail();
  if (kernel.empty()) GTEST_SKIP() << "Debian's kernel is not fetched (tools/fetch-linux.sh)";
  const ProcessResult r = boot_to(kernel, "reboot", "console=ttyS0 reboot=t");
  ASSERT_FALSE(r.timed_out);
  EXPECT_NE(r.out.find(kMarker), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("reboot: Restarting system"), std::string::npos) << r.out;
  EXPECT_EQ(r.status, 82) << r.err;
  EXPECT_EQ(r.err.rfind("rrvm: guest reset by a triple fault (the CPU shut down)\n", 0), 0u)
      << r.err;
  // The faulting instruction (Linux's int3 after invalidating its IDT) and the registers.
  EXPECT_NE(r.err.find("64-bit long mode, cs:rip 0010:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("int3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("rflags"), std::string::npos) << r.err;
}

TEST(LinuxEndTest, RebootByDefaultIsAKeyboardControllerReset) {
  const std::string kernel = stock_kernel_or_fail();
  if (kernel.empty()) GTEST_SKIP() << "Debian's kernel is not fetched (tools/fetch-linux.sh)";
  const ProcessResult r = boot_to(kernel, "reboot", "console=ttyS0");
  ASSERT_FALSE(r.timed_out);
  EXPECT_NE(r.out.find(kMarker), std::string::npos) << r.out;
  // Its keyboard driver's probe finds no controller (the data port stays unclaimed).
  EXPECT_NE(r.out.find("i8042: No controller found"), std::string::npos) << r.out;
  EXPECT_EQ(r.status, 82) << r.err;
  EXPECT_EQ(r.err, "rrvm: guest reset by the keyboard controller's reset command (0xfe written to "
                   "port 0x64)\n");
}

} // namespace
} // namespace rrvm::test
