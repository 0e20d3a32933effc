// Parity with QEMU: the multiboot hello guest prints the same serial bytes and exits with the same
// status under `qemu-system-i386 -kernel` and under `rrvm run`.
#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/support/subprocess.h"

namespace rrvm::test {
namespace {

TEST(QemuParityTest, MultibootHelloPrintsTheSameBytes) {
  if (!kvm_usable_or_fail()) GTEST_SKIP() << "/dev/kvm is not usable on this host";
  if (access("/usr/bin/qemu-system-i386", X_OK) != 0)
    GTEST_SKIP() << "qemu-system-i386 is not installed (tools/install-deps.sh installs it)";
  const std::string kernel = guest_path("hello_multiboot.elf");
  const std::string append = "console=ttyS0 parity";
  ProcessResult qemu =
      run_process({"qemu-system-i386", "-nodefaults", "-display", "none", "-serial", "stdio",
                   "-monitor", "none", "-no-reboot", "-device",
                   "isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel", kernel, "-append", append});
  ProcessResult rrvm =
      run_process({rrvm_binary(), "run", "--engine", "kvm", "--append", append, kernel});
  ASSERT_FALSE(qemu.timed_out);
  ASSERT_FALSE(rrvm.timed_out);
  EXPECT_FALSE(qemu.out.empty()) << qemu.err;
  EXPECT_EQ(rrvm.out, qemu.out) << rrvm.err;
  EXPECT_EQ(rrvm.status, qemu.status) << rrvm.err;
}

} // namespace
} // namespace rrvm::test
