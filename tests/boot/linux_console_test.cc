// Debian's stock kernel with an interactive busybox shell on COM1, driven through a
// pseudo-terminal as a user would: what is typed reaches the shell (Ctrl-C included) and goes
// into the recording, whose replay, with no terminal and no input, prints the same bytes.
// Ctrl-A x ends a run on the terminal and gives the terminal back as it was.
#include <gtest/gtest.h>
#include <termios.h>

#include "tests/boot/stock_kernel.h"
#include "tests/support/pty_process.h"
#include "tests/support/subprocess.h"

namespace rrvm::test {
namespace {

constexpr const char* kMarker = "rrvm console test: shell starting";
constexpr const char* kPrompt = "/ # ";        // busybox ash's default for root in /
constexpr int kBootSeconds = 240;              // about 11 s to the prompt on an idle 2-core machine
constexpr int kShellSeconds = 30;              // for a command to answer at the prompt
constexpr int kTypedExitStatus = (7 << 1) | 1; // the shell writes 7 to isa-debug-exit
constexpr int kUserEndedStatus = 0; // Ctrl-A x ends a run as the user's choice, not a failure

std::string shell_initramfs() {
  const std::string initrd = unique_temp_path("shell_initramfs.cpio.gz");
  const ProcessResult made = run_process({"python3", RRVM_SOURCE_DIR "/tools/make-initramfs.py",
                                          "--shell", RRVM_LINUX_CACHE "/busybox", initrd, kMarker});
  EXPECT_EQ(made.status, 0) << made.err;
  return initrd;
}

std::vector<std::string> machine(const std::string& initrd, const std::string& kernel) {
  return {"--engine", "emu",  "--mem",    "256M",
          "--initrd", initrd, "--append", "console=ttyS0 nokaslr",
          kernel};
}

TEST(LinuxConsoleTest, TypedSessionReplaysIdenticallyWithoutAKeyboard) {
  const std::string kernel = stock_kernel_or_fail();
  if (kernel.empty()) GTEST_SKIP() << "Debian's kernel is not fetched (tools/fetch-linux.sh)";
  const std::string initrd = shell_initramfs();
  const std::string trace = unique_temp_path("console.trace");
  const std::string record_err = unique_temp_path("record.err");
  std::vector<std::string> record = {rrvm_binary(), "record", "-o", trace};
  for (const std::string& arg : machine(initrd, kernel))
    record.push_back(arg);

  PtyProcess session(record, record_err);
  ASSERT_TRUE(session.ok());
  const size_t marker = session.wait_for(kMarker, 0, kBootSeconds);
  ASSERT_NE(marker, std::string::npos) << session.output();
  size_t prompt = session.wait_for(kPrompt, marker, kShellSeconds);
  ASSERT_NE(prompt, std::string::npos) << session.output();

  // Ctrl-C reaches the shell's foreground job through the guest's terminal: the sleep ends long
  // before its 60 s, and the prompt comes back.
  session.type("sleep 60\r");
  ASSERT_NE(session.wait_for("sleep 60", prompt, kShellSeconds), std::string::npos)
      << session.output();
  // A Ctrl-C typed before the shell has started sleep does not reach sleep, and under load the
  // guest may take seconds to start it: typed again, as a user would.
  size_t answer = std::string::npos;
  for (int attempt = 0; attempt < 3 && answer == std::string::npos; ++attempt) {
    sleep(1);
    session.type("\x03");
    answer = session.wait_for(kPrompt, prompt + 1, kShellSeconds / 3);
  }
  prompt = answer;
  ASSERT_NE(prompt, std::string::npos) << "Ctrl-C did not end sleep:\n" << session.output();

  // The echoed command line shows the expression; only the shell's answer shows 42.
  session.type("echo typed-$((6*7))\r");
  ASSERT_NE(session.wait_for("typed-42", prompt, kShellSeconds), std::string::npos)
      << session.output();
  // The typed command ends the machine through isa-debug-exit with a status of its own.
  session.type("printf '\\7' | dd of=/dev/port bs=1 seek=244 count=1 conv=notrunc\r");
  const int recorded_status = session.wait_exit(kShellSeconds);
  ASSERT_EQ(recorded_status, kTypedExitStatus) << session.output();
  EXPECT_NE(read_file(record_err).find("rrvm: recorded "), std::string::npos)
      << read_file(record_err);

  const ProcessResult replayed = run_process({rrvm_binary(), "replay", trace}, kBootSeconds);
  ASSERT_FALSE(replayed.timed_out);
  EXPECT_EQ(replayed.status, recorded_status) << replayed.err;
  EXPECT_EQ(replayed.out, session.output());
  EXPECT_NE(replayed.out.find("typed-42"), std::string::npos) << replayed.out;
}

TEST(LinuxConsoleTest, CtrlAXEndsARunAndRestoresTheTerminal) {
  const std::string kernel = stock_kernel_or_fail();
  if (kernel.empty()) GTEST_SKIP() << "Debian's kernel is not fetched (tools/fetch-linux.sh)";
  std::vector<std::string> run = {rrvm_binary(), "run"};
  for (const std::string& arg : machine(shell_initramfs(), kernel))
    run.push_back(arg);
  const std::string run_err = unique_temp_path("run.err");

  PtyProcess session(run, run_err);
  ASSERT_TRUE(session.ok());
  ASSERT_NE(session.wait_for("Linux version", 0, kBootSeconds), std::string::npos)
      << session.output();
  const termios before = session.terminal_mode();
  EXPECT_EQ(before.c_lflag & (ICANON | ECHO), 0u) << "rrvm puts its terminal in raw mode";
  session.type("\x01x");
  EXPECT_EQ(session.wait_exit(kShellSeconds), kUserEndedStatus) << read_file(run_err);
  EXPECT_NE(read_file(run_err).find("stopped by the user"), std::string::npos)
      << read_file(run_err);
  const termios after = session.terminal_mode();
  EXPECT_EQ(after.c_lflag & (ICANON | ECHO), ICANON | ECHO) << "the terminal is cooked again";
}

} // namespace
} // namespace rrvm::test
