// `rrvm debug TRACE -- GDB_ARGS` with the real gdb, on emu recordings of the test guests: gdb
// starts attached with the guest's symbols from the trace, its status is rrvm's, the temporary
// symbol file is gone afterwards, ^C interrupts the replay instead of ending rrvm, and a bad
// trace never starts gdb.
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <regex>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "tests/support/subprocess.h"

namespace rrvm::test {
namespace {

namespace fs = std::filesystem;

class DebugCommandTest : public ::testing::Test {
protected:
  void SetUp() override {
    char dir[] = "/tmp/rrvm-debug-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    // rrvm debug's temporary files go here, so the test sees whether they were removed.
    tmp_ = dir_ + "/tmp";
    fs::create_directory(tmp_);
    setenv("TMPDIR", tmp_.c_str(), 1);
    unsetenv("RRVM_GDB");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void record(const std::string& guest, std::vector<std::string> options = {},
              const std::string& engine = "emu") {
    trace_ = dir_ + "/trace";
    std::vector<std::string> argv = {rrvm_binary(), "record", "--engine", engine, "-o", trace_};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.push_back(guest_path(guest));
    ProcessResult r = run_process(argv, 60);
    ASSERT_FALSE(r.timed_out);
    ASSERT_NE(r.err.find("recorded"), std::string::npos) << r.err;
  }

  ProcessResult debug(const std::vector<std::string>& gdb_args,
                      const std::vector<std::string>& options = {}) {
    std::vector<std::string> argv = {rrvm_binary(), "debug", trace_};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.push_back("--");
    argv.insert(argv.end(), gdb_args.begin(), gdb_args.end());
    ProcessResult r = run_process(argv, 60);
    EXPECT_FALSE(r.timed_out);
    return r;
  }

  bool temporary_files_left() const { return !fs::is_empty(tmp_); }

  std::string dir_, tmp_, trace_;
};

TEST_F(DebugCommandTest, GdbStartsAttachedWithTheGuestsSymbols) {
  record("pit_long.elf");
  ProcessResult r = debug({"-batch", "-nx", "-ex", "break timer_handler", "-ex", "continue", "-ex",
                           "reverse-stepi", "-ex", "info symbol $pc"});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  // The breakpoint was set by name and hit; the reverse step left the handler for the code the
  // interrupt came in, which gdb names by the trace's own symbols.
  EXPECT_NE(r.out.find("Breakpoint 1, "), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("timer_handler"), std::string::npos) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(_start\.wait( \+ \d+)? in section \.text)")))
      << r.out << r.err;
  EXPECT_FALSE(temporary_files_left());
}

TEST_F(DebugCommandTest, AReferencedKernelMovedAwayGivesSymbolsFromTheImageDir) {
  const std::string kernel = dir_ + "/pit_long.elf";
  fs::copy_file(guest_path("pit_long.elf"), kernel);
  trace_ = dir_ + "/trace";
  ProcessResult recorded = run_process(
      {rrvm_binary(), "record", "--engine", "emu", "--images", "reference", "-o", trace_, kernel});
  ASSERT_EQ(recorded.status, 1) << recorded.err;
  const std::string moved = dir_ + "/moved";
  fs::create_directory(moved);
  fs::rename(kernel, moved + "/pit_long.elf");
  // Both rrvm (for the symbols) and its stub (for the replay) look there.
  ProcessResult r = debug({"-batch", "-nx", "-ex", "break timer_handler", "-ex", "continue"},
                          {"--image-dir", moved});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("Breakpoint 1, "), std::string::npos) << r.out << r.err;
}

TEST_F(DebugCommandTest, RrvmExitsWithGdbsStatus) {
  record("pit_long.elf");
  ProcessResult r = debug({"-batch", "-nx", "-ex", "quit 7"});
  EXPECT_EQ(r.status, 7) << r.out << r.err;
  EXPECT_FALSE(temporary_files_left());
}

TEST_F(DebugCommandTest, ATraceWithoutSymbolsStartsGdbWithANote) {
  record("pit_real.bin", {"--flat", "0x7c00"});
  ProcessResult r = debug({"-batch", "-nx", "-ex", "stepi", "-ex", "printf \"PC %x\\n\", $pc"});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("has no symbols; give gdb some with `symbol-file FILE`"), std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find("PC 7c0"), std::string::npos) << r.out << r.err; // one step from 0x7c00
  EXPECT_FALSE(temporary_files_left());
}

TEST_F(DebugCommandTest, ABadTraceIsRefusedBeforeGdbStarts) {
  trace_ = dir_ + "/trace";
  std::ofstream(trace_) << "not a trace";
  // A "gdb" that leaves a mark if it is ever started.
  const std::string fake_gdb = dir_ + "/fake-gdb";
  const std::string mark = dir_ + "/gdb-started";
  std::ofstream(fake_gdb) << "#!/bin/sh\ntouch " << mark << "\n";
  fs::permissions(fake_gdb, fs::perms::owner_all);
  ProcessResult r = debug({"-batch"}, {"--gdb-program", fake_gdb});
  EXPECT_EQ(r.status, 66) << r.err;
  EXPECT_EQ(r.err.rfind("rrvm: ", 0), 0u) << r.err;
  EXPECT_FALSE(fs::exists(mark));
  EXPECT_FALSE(temporary_files_left());
}

TEST_F(DebugCommandTest, AMissingGdbIsNamed) {
  record("pit_long.elf");
  ProcessResult r = debug({"-batch"}, {"--gdb-program", dir_ + "/no-such-gdb"});
  EXPECT_EQ(r.status, 68) << r.err;
  EXPECT_NE(r.err.find("--gdb-program"), std::string::npos) << r.err;
  setenv("RRVM_GDB", "no-such-gdb-anywhere", 1);
  r = debug({"-batch"});
  EXPECT_EQ(r.status, 68) << r.err;
  EXPECT_NE(r.err.find("'no-such-gdb-anywhere' is not on PATH"), std::string::npos) << r.err;
}

// The kick seek and gdb share kvm's debug registers: a kvm replay of a recording whose timer
// interrupts all came at host-timer kicks stops at every one of them. (Before the arbiter, the
// kick seek's breakpoint replaced gdb's, and the replay ran through to its end.)
TEST_F(DebugCommandTest, KvmBreakpointsHoldWhileKicksAreSought) {
  if (!kvm_usable_or_fail()) GTEST_SKIP() << "no usable /dev/kvm";
  record("busy_pit_long.elf", {"--kick-bound", "0"}, "kvm");
  ProcessResult dump = run_process({rrvm_binary(), "dump", "--count", "0", trace_});
  if (dump.out.find(" kick;") == std::string::npos && dump.out.find(" kick\n") == std::string::npos)
    GTEST_SKIP() << "this recording has no kicks: " << dump.out;
  std::vector<std::string> args = {"-batch", "-nx", "-ex", "break timer_handler"};
  for (int i = 0; i < 4; ++i)
    args.insert(args.end(), {"-ex", "continue", "-ex", "printf \"TICKS %d\\n\", *(int*)&ticks"});
  ProcessResult r = debug(args);
  if (r.out.find("diverged") != std::string::npos && !host_has_hardware_virtualization())
    GTEST_SKIP() << "PVM placed an interrupt imprecisely (README): " << r.out;
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  std::vector<std::string> ticks;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("TICKS ", 0) == 0) ticks.push_back(line.substr(6));
  EXPECT_EQ(ticks, (std::vector<std::string>{"0", "1", "2", "3"})) << r.out << r.err;
}

// The terminal sends ^C to its whole foreground process group: rrvm, the stub and gdb. gdb
// interrupts the replay through the protocol; rrvm and the stub carry on.
TEST_F(DebugCommandTest, InterruptStopsTheReplayNotRrvm) {
  record("compute_long.elf", {"--append", "600000000"}); // seconds of xorshift, no exits
  const std::string out_path = dir_ + "/out";
  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0); // a process group of its own, as a shell's foreground job
    freopen("/dev/null", "r", stdin);
    freopen(out_path.c_str(), "w", stdout);
    freopen((dir_ + "/err").c_str(), "w", stderr);
    execl(rrvm_binary().c_str(), "rrvm", "debug", trace_.c_str(), "--", "-batch", "-nx", "-ex",
          "continue", "-ex", "printf \"STOPPED %d\\n\", $pc != 0", nullptr);
    _exit(127);
  }
  setpgid(pid, pid);
  // Once gdb is attached (it shows where the replay stands) and has continued it, which then
  // runs for seconds, ^C as a terminal sends it.
  for (int i = 0; i < 600 && read_file(out_path).find("_start ()") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  kill(-pid, SIGINT);
  int status = 0;
  bool ended = false;
  for (int i = 0; i < 1200 && !(ended = waitpid(pid, &status, WNOHANG) == pid); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (!ended) {
    kill(-pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  const std::string out = read_file(out_path);
  ASSERT_TRUE(ended && WIFEXITED(status)) << out << read_file(dir_ + "/err");
  EXPECT_EQ(WEXITSTATUS(status), 0) << out << read_file(dir_ + "/err");
  EXPECT_NE(out.find("received signal SIGINT"), std::string::npos) << out;
  EXPECT_NE(out.find("STOPPED 1"), std::string::npos) << out;
  EXPECT_FALSE(temporary_files_left());
}

} // namespace
} // namespace rrvm::test
