// The gdb stub driven by the real gdb (`gdb -batch -nx -x script`) and by raw packets, on emu
// recordings of the test guests.
#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <optional>
#include <poll.h>
#include <regex>
#include <sstream>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/support/gdb_server_process.h"
#include "tests/support/subprocess.h"

namespace rrvm::test {
namespace {

// A recording of `guest` on emu, made once per test in its own directory.
class GdbStubTest : public ::testing::Test {
protected:
  void SetUp() override {
    char dir[] = "/tmp/rrvm-gdb-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Records on `engine`, by default the fixture's. On kvm without kicks unless `options` set
  // a kick bound: the test guests exit often, but a loaded host could delay one past the default
  // bound, and a trace with kicks replays on kvm only, forward only.
  void record(const std::string& guest, std::vector<std::string> options = {},
              const std::string& engine = "") {
    elf_ = guest_path(guest);
    trace_ = dir_ + "/trace";
    const std::string on = engine.empty() ? engine_ : engine;
    std::vector<std::string> argv = {rrvm_binary(), "record", "--engine", on, "-o", trace_};
    const bool kick_free =
        on == "kvm" && std::find(options.begin(), options.end(), "--kick-bound") == options.end();
    if (kick_free) options.insert(options.end(), {"--kick-bound", "10s"});
    argv.insert(argv.end(), options.begin(), options.end());
    argv.push_back(elf_);
    ProcessResult r = run_process(argv, 30);
    ASSERT_FALSE(r.timed_out);
    ASSERT_NE(r.err.find("recorded"), std::string::npos) << r.err;
    if (!kick_free) return;
    // Going backwards on kvm hands over to emu, which some kvm recordings diverge on (seen with
    // demo_race: an interrupt-window exit emu takes where kvm did not), a replay matter outside
    // the debugger. The test then skips (the caller returns when IsSkipped()).
    ProcessResult emu =
        run_process({rrvm_binary(), "replay", "--engine", "emu", "--serial", "none", trace_}, 30);
    if (emu.err.find("diverged") != std::string::npos)
      GTEST_SKIP() << "this kvm recording does not replay on emu: " << emu.err;
  }

  // Starts `rrvm replay --gdb` on a port the kernel picks and reads it from stderr.
  void start_server(const std::vector<std::string>& options = {}) {
    std::vector<std::string> argv = {"replay", trace_, "--gdb", "127.0.0.1:0"};
    argv.insert(argv.end(), options.begin(), options.end());
    start_rrvm(argv);
  }

  // Starts rrvm with `args` (which serve gdb on 127.0.0.1:0) and reads the port from stderr.
  void start_rrvm(const std::vector<std::string>& args) {
    server_err_ = dir_ + "/server.err";
    server_out_ = dir_ + "/server.out";
    server_.emplace(args, server_err_, server_out_);
    port_ = server_->port(5'000);
    ASSERT_NE(port_, 0) << "the server did not start: " << server_->err();
  }

  // The server's exit status once it ends (waits up to 20 s).
  int server_status() { return server_->wait_status(); }

  // Runs gdb on the guest's ELF with `commands` after connecting; returns its stdout+stderr.
  std::string gdb(const std::string& commands) {
    const std::string script = dir_ + "/script.gdb";
    std::ofstream(script) << "set pagination off\nset confirm off\ntarget remote 127.0.0.1:"
                          << port_ << "\n"
                          << commands;
    ProcessResult r = run_process({"gdb", "-batch", "-nx", "-x", script, elf_}, 50);
    EXPECT_FALSE(r.timed_out);
    return r.out + r.err;
  }

  int connect_raw() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port_));
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    timeval timeout{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    return fd;
  }

  std::string engine_ = "emu";
  std::string dir_, elf_, trace_, server_err_, server_out_;
  std::optional<GdbServerProcess> server_;
  int port_ = 0;
};

// The scenarios run on emu and on kvm, where the replay hands over to emu to go backwards
// (the test guests' kvm recordings have no kicks: they exit often).
class GdbScenario : public GdbStubTest, public ::testing::WithParamInterface<std::string> {
protected:
  void SetUp() override {
    GdbStubTest::SetUp();
    engine_ = GetParam();
    if (engine_ == "kvm" && !kvm_usable_or_fail()) GTEST_SKIP() << "no usable /dev/kvm";
  }
};

INSTANTIATE_TEST_SUITE_P(Engines, GdbScenario, ::testing::Values("emu", "kvm"),
                         [](const auto& info) { return info.param; });

TEST_P(GdbScenario, ReverseContinueTakesTheTickCounterBack) {
  record("pit_long.elf");
  if (IsSkipped()) return;
  start_server();
  std::string out = gdb("break timer_handler\n"
                        "continue\nprintf \"TICKS %d\\n\", *(int*)&ticks\n"
                        "continue\nprintf \"TICKS %d\\n\", *(int*)&ticks\n"
                        "continue\nprintf \"TICKS %d\\n\", *(int*)&ticks\n"
                        "continue\nprintf \"TICKS %d\\n\", *(int*)&ticks\n"
                        "continue\nprintf \"TICKS %d\\n\", *(int*)&ticks\n"
                        "reverse-continue\nprintf \"TICKS %d\\n\", *(int*)&ticks\n"
                        "reverse-continue\nprintf \"TICKS %d\\n\", *(int*)&ticks\n"
                        "printf \"PC %d\\n\", $pc == &timer_handler\n"
                        "kill\n");
  EXPECT_EQ(tagged_values(out, "TICKS"),
            (std::vector<std::string>{"0", "1", "2", "3", "4", "3", "2"}))
      << out;
  EXPECT_EQ(tagged_values(out, "PC"), std::vector<std::string>{"1"}) << out;
  EXPECT_EQ(server_status(), 0);
}

TEST_P(GdbScenario, ReverseStepiReturnsToEveryEarlierState) {
  record("pit_long.elf");
  if (IsSkipped()) return;
  start_server();
  // On kvm a stepi over HLT runs on until the instruction after it, through the timer handler
  // (ReplayController::step), which emu then steps back through one by one: kvm steps the boot
  // code only, up to the main loop's HLT.
  const std::string more =
      engine_ == "kvm" ? "$i < 200 && $pc != (long)&'_start.wait'" : "$i < 200";
  // `info registers` shows every general, segment and control register of the description.
  std::string out = gdb("set $i = 0\n"
                        "while " +
                        more +
                        "\n  echo STATE\\n\n  info registers\n  stepi\n"
                        "  set $i = $i + 1\nend\n"
                        "echo STATE\\n\ninfo registers\n"
                        "set $j = 0\n"
                        "while $j < $i\n  reverse-stepi\n  echo BACK\\n\n  info registers\n"
                        "  set $j = $j + 1\nend\n"
                        "kill\n");
  // Register blocks after each marker.
  auto blocks = [&](const std::string& marker) {
    std::vector<std::string> result;
    std::istringstream in(out);
    std::string line;
    bool inside = false;
    const std::regex reg("^[a-z0-9_]+ +0x[0-9a-f]+.*");
    // kvm's states are compared with emu's going back: arithmetic flags that instructions leave
    // undefined (AF after a shift) may differ between the hardware and emu.
    const bool flags_comparable = engine_ != "kvm";
    while (std::getline(in, line)) {
      if (line == "STATE" || line == "BACK") {
        inside = line == marker;
        if (inside) result.emplace_back();
        continue;
      }
      if (inside && std::regex_match(line, reg) &&
          (flags_comparable || line.rfind("eflags", 0) != 0))
        result.back() += line + "\n";
    }
    return result;
  };
  std::vector<std::string> forward = blocks("STATE"), backward = blocks("BACK");
  const size_t steps = forward.size() - 1;
  ASSERT_GE(steps, 50u) << out;
  ASSERT_EQ(backward.size(), steps) << out;
  EXPECT_NE(forward[0], forward[steps]);
  EXPECT_NE(forward[0].find("cr0"), std::string::npos);
  EXPECT_NE(forward[0].find("fs_base"), std::string::npos);
  for (size_t i = 0; i < steps; ++i)
    ASSERT_EQ(backward[i], forward[steps - 1 - i]) << "reverse-stepi " << i + 1;
  EXPECT_EQ(server_status(), 0);
}

TEST_F(GdbStubTest, ReverseContinueWithAWatchpointFindsTheLastWrite) {
  record("pit_long.elf");
  start_server();
  std::string out = gdb("break timer_handler\ncontinue\ncontinue\ncontinue\ndelete\n"
                        "printf \"TICKS %d\\n\", *(int*)&ticks\n"
                        "watch *(int*)&ticks\n"
                        "reverse-continue\n"
                        "printf \"TICKS %d\\n\", *(int*)&ticks\n"
                        "printf \"PC %d\\n\", $pc == (long)&timer_handler + 1\n"
                        "reverse-continue\n"
                        "printf \"TICKS %d\\n\", *(int*)&ticks\n"
                        "kill\n");
  EXPECT_EQ(tagged_values(out, "TICKS"), (std::vector<std::string>{"2", "1", "0"})) << out;
  EXPECT_EQ(tagged_values(out, "PC"), std::vector<std::string>{"1"}) << out;
  EXPECT_NE(out.find("Old value = 2"), std::string::npos) << out;
}

TEST_F(GdbStubTest, ContinueToTheEndReportsTheExitStatus) {
  record("pit_multiboot.elf");
  start_server();
  std::string out = gdb("continue\n");
  EXPECT_NE(out.find("exited with code 01"), std::string::npos) << out;
  EXPECT_EQ(server_status(), 1);
  EXPECT_EQ(read_file(server_out_), "PIT in 32-bit protected mode: 20 ticks\n");
}

// gdb 13 reads the x87 and SSE registers through the standard i386 core/sse features: `p $xmm0`,
// `info registers xmm0`, `p $mxcsr` and `info float` show what sse_long.asm loaded.
TEST_F(GdbStubTest, X87AndSseRegistersReachGdb) {
  record("sse_long.elf");
  start_server();
  std::string out = gdb("break loaded\ncontinue\np/x $xmm0.uint128\np/x $xmm15.v2_int64\n"
                        "p $xmm0.v2_double[1]\np $mxcsr\ninfo registers xmm0\ninfo float\nkill\n");
  EXPECT_NE(out.find("= 0x3ff00000000000000123456789abcdef"), std::string::npos) << out;
  EXPECT_NE(out.find("= {0x2468acf13579bde, 0x7fe0000000000000}"), std::string::npos) << out;
  EXPECT_NE(out.find("= 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("= [ PE IM DM ZM OM UM PM ]"), std::string::npos) << out;
  EXPECT_NE(out.find("v4_float = {0x89abcdef"), std::string::npos) << out;
  EXPECT_NE(out.find("=>R0: Empty"), std::string::npos) << out;
  EXPECT_NE(out.find("Control Word:        0x037f"), std::string::npos) << out;
  EXPECT_NE(out.find("Tag Word:            0xffff"), std::string::npos) << out;
}

// Scenario (3) on the demo's failing trace. Where does the lost update come from? At the check
// (`lost`) total = iterations + ticks - 1. The culprit is the racy store `mov [rel total], rbx`
// in the iteration where a tick arrived during the `out`: the handler raised total to T+1 and the
// store then wrote rbx = T+1 over it, the same value. A write watchpoint cannot stop there (gdb
// reports a `watch` only when the value changes), and the last write to total before the check
// is an ordinary increment (main loop or handler; the handler's, the lost one, when the lost
// tick was the 20th). So the test asserts what is true: (a) a breakpoint on the racy store,
// conditioned on it writing the value total already holds, reverse-continues from the failure to
// the store that lost the update; (b) from there, watch + reverse-continue lands on the
// handler's increment it overwrote, with rbx still holding the value the main loop read before
// the tick; (c) back at the failure, watch + reverse-continue lands on the last increment, old
// and new values one apart.
TEST_P(GdbScenario, DemoRaceReverseContinueFindsTheLostUpdate) {
  record("demo_race.elf", {"--until-fail", "60"});
  if (IsSkipped()) return;
  start_server();
  std::string out =
      gdb("break lost\ncontinue\ndelete\n"
          "printf \"CHECK %d %d\\n\", *(long*)&total, *(long*)&iterations + *(int*)&ticks\n"
          "set $store = (long)&'main_loop.next' - 7\n"
          "break *$store if $rbx == *(long*)&total\n"
          "reverse-continue\ndelete\n"
          "printf \"STORE %d %d %d\\n\", $pc == $store, $rbx, *(long*)&total\n"
          "x/i $pc\n"
          "watch *(long*)&total\nreverse-continue\n"
          "printf \"HANDLER %d %d %d\\n\", $pc == (long)&timer_handler + 1, $rbx, *(long*)&total\n"
          "delete\nbreak lost\ncontinue\ndelete\n"
          "watch *(long*)&total\nreverse-continue\n"
          "printf \"LAST %d\\n\", *(long*)&total\n"
          "x/i $pc\n"
          "kill\n");
  const std::vector<std::string> check = tagged_values(out, "CHECK");
  ASSERT_EQ(check.size(), 1u) << out;
  long total = 0, expected = 0;
  ASSERT_EQ(std::sscanf(check[0].c_str(), "%ld %ld", &total, &expected), 2);
  EXPECT_LT(total, expected) << "the trace did not lose an update";
  // (a) The racy store, about to write the value total already holds.
  const std::vector<std::string> store = tagged_values(out, "STORE");
  ASSERT_EQ(store.size(), 1u) << out;
  long at_store = 0, rbx = 0, value = 0;
  ASSERT_EQ(std::sscanf(store[0].c_str(), "%ld %ld %ld", &at_store, &rbx, &value), 3);
  EXPECT_EQ(at_store, 1) << out;
  EXPECT_EQ(rbx, value);
  EXPECT_LE(value, total);
  EXPECT_TRUE(std::regex_search(
      out, std::regex("=> 0x[0-9a-f]+ <main_loop.racy\\+12>:\\s+mov\\s+%rbx,0x[0-9a-f]+\\(%rip\\)"
                      "\\s+# 0x[0-9a-f]+ <total>")))
      << out;
  // (b) The handler's increment from rbx to rbx + 1, which the store then overwrote.
  EXPECT_NE(out.find("Old value = " + std::to_string(value) +
                     "\nNew value = " + std::to_string(value - 1)),
            std::string::npos)
      << out;
  // The interrupt came after the read, before or after `inc rbx` (a timer deadline falls on any
  // instruction): rbx holds the value read or the value about to be stored.
  const std::vector<std::string> handler = tagged_values(out, "HANDLER");
  const std::string before_inc = "1 " + std::to_string(value - 1) + " " + std::to_string(value - 1);
  const std::string after_inc = "1 " + std::to_string(value) + " " + std::to_string(value - 1);
  ASSERT_EQ(handler.size(), 1u) << out;
  EXPECT_TRUE(handler[0] == before_inc || handler[0] == after_inc) << out;
  // (c) The last increment before the check: total one less before it, an `inc` of total.
  EXPECT_EQ(tagged_values(out, "LAST"), std::vector<std::string>{std::to_string(total - 1)}) << out;
  EXPECT_NE(out.find("Old value = " + std::to_string(total) +
                     "\nNew value = " + std::to_string(total - 1)),
            std::string::npos)
      << out;
  EXPECT_TRUE(std::regex_search(out, std::regex("=> 0x[0-9a-f]+ <(main_loop|timer_handler)\\+"
                                                "[0-9]+>:\\s+incq\\s+0x[0-9a-f]+\\(%rip\\)\\s+# "
                                                "0x[0-9a-f]+ <total>")))
      << out;
  EXPECT_EQ(server_status(), 0);
}

// Scenario (4): gdb stopping, stepping and going backwards changes nothing the replay produces.
TEST_P(GdbScenario, ReplayWithGdbMatchesReplayWithout) {
  // Every exit a trace event, so `monitor goto 40` lands inside the trace.
  record("pit_long.elf", {"--verify", "exits"});
  if (IsSkipped()) return;
  ProcessResult plain = run_process({rrvm_binary(), "replay", "--stats", trace_}, 30);
  ASSERT_EQ(plain.status, 1) << plain.err;
  start_server({"--stats"});
  std::string out = gdb("break timer_handler\ncontinue\ncontinue\ncontinue\n"
                        "stepi\nstepi\nreverse-stepi\nreverse-continue\n"
                        "monitor goto 40\nmaint flush register-cache\n"
                        "delete\ncontinue\n");
  EXPECT_NE(out.find("exited with code 01"), std::string::npos) << out;
  EXPECT_EQ(server_status(), 1) << read_file(server_err_);
  EXPECT_EQ(read_file(server_out_), plain.out);
  // Both print the comparison table of replayed against recorded statistics last.
  auto table = [](const std::string& err) { return err.substr(err.find("vcpu0 stats")); };
  EXPECT_EQ(table(read_file(server_err_)), table(plain.err));
}

TEST_F(GdbStubTest, MonitorGotoMovesToATraceEvent) {
  record("pit_long.elf", {"--verify", "exits"}); // trace events to go to
  start_server();
  std::string out = gdb("break timer_handler\ncontinue\ncontinue\ncontinue\n"
                        "monitor when\nset $rip_at_3 = $pc\n"
                        "monitor goto 10\nmaint flush register-cache\nmonitor when\n"
                        "printf \"TICKS %d\\n\", *(int*)&ticks\n"
                        "monitor goto 1000000\nmonitor goto icount 5\nmonitor when\n"
                        "kill\n");
  const std::regex when("instruction ([0-9]+)(?:\\+[0-9]+)?, trace event ([0-9]+) of ([0-9]+)");
  std::vector<std::pair<uint64_t, uint64_t>> positions;
  for (std::sregex_iterator it(out.begin(), out.end(), when), end; it != end; ++it)
    positions.emplace_back(std::stoull((*it)[1]), std::stoull((*it)[2]));
  // when; goto's "now at"; when; goto icount's "now at"; when.
  ASSERT_EQ(positions.size(), 5u) << out;
  EXPECT_GE(positions[1].second, 10u);
  EXPECT_EQ(positions[1], positions[2]);
  EXPECT_LT(positions[1].first, positions[0].first);
  EXPECT_EQ(positions[4].first, 5u);
  EXPECT_NE(out.find("maintenance flush register-cache"), std::string::npos) << out;
  EXPECT_NE(out.find("cannot go to trace event 1000000"), std::string::npos) << out;
  EXPECT_EQ(tagged_values(out, "TICKS"), std::vector<std::string>{"0"}) << out;
}

// The scenario: a breakpoint on the interrupt handler stops at the delivery (count N, one
// delivery after it); stepi and reverse-stepi come back there, one more reverse-stepi goes to
// before the delivery, and stepi delivers again.
TEST_F(GdbStubTest, StepiAndReverseStepiAtAnInterruptsDeliveryAreInverses) {
  record("pit_long.elf");
  start_server();
  std::string out = gdb("break timer_handler\ncontinue\ncontinue\nmonitor when\n"
                        "stepi\nreverse-stepi\nmonitor when\n"
                        "printf \"PC %d\\n\", $pc == &timer_handler\n"
                        "reverse-stepi\nmonitor when\nprintf \"PC %d\\n\", $pc == &timer_handler\n"
                        "stepi\nmonitor when\nprintf \"PC %d\\n\", $pc == &timer_handler\n"
                        "kill\n");
  const std::regex when("instruction ([0-9+]+), trace event");
  std::vector<std::string> positions;
  for (std::sregex_iterator it(out.begin(), out.end(), when), end; it != end; ++it)
    positions.push_back((*it)[1]);
  ASSERT_EQ(positions.size(), 4u) << out;
  ASSERT_TRUE(positions[0].ends_with("+1")) << out;
  const std::string count = positions[0].substr(0, positions[0].size() - 2);
  EXPECT_EQ(positions, (std::vector<std::string>{count + "+1", count + "+1", count, count + "+1"}))
      << out;
  EXPECT_EQ(tagged_values(out, "PC"), (std::vector<std::string>{"1", "0", "1"})) << out;
}

// `rrvm run --gdb`: forward debugging of a live run; going backwards is refused with a reason.
TEST_F(GdbStubTest, LiveRunIsDebuggedForwardOnly) {
  elf_ = guest_path("pit_long.elf");
  start_rrvm({"run", "--engine", "emu", "--gdb", "127.0.0.1:0", elf_});
  std::string out = gdb("break timer_handler\ncontinue\ncontinue\n"
                        "printf \"TICKS %d\\n\", *(int*)&ticks\n"
                        "stepi\nprintf \"PC %d\\n\", $pc == (long)&timer_handler + 1\n"
                        "reverse-stepi\nmonitor when\ndetach\n");
  EXPECT_EQ(tagged_values(out, "TICKS"), std::vector<std::string>{"1"}) << out;
  EXPECT_EQ(tagged_values(out, "PC"), std::vector<std::string>{"1"}) << out;
  EXPECT_NE(out.find("a live run cannot go backwards"), std::string::npos) << out;
  EXPECT_NE(out.find("live run"), std::string::npos) << out;
  EXPECT_EQ(server_status(), 1); // detached: the run went on to the guest's exit
  EXPECT_EQ(read_file(server_out_), "PIT in long mode: 20 ticks\n");
}

// `rrvm record --gdb`: breakpoints and steps leave the trace as it would be without gdb (it
// replays to the end with equal statistics); gdb's writes are refused.
TEST_F(GdbStubTest, LiveRecordingUnderGdbReplays) {
  elf_ = guest_path("pit_long.elf");
  trace_ = dir_ + "/trace";
  start_rrvm({"record", "--engine", "emu", "-o", trace_, "--gdb", "127.0.0.1:0", elf_});
  // gdb ends a script at an error, and detaches as it exits: the recording then runs on.
  std::string out = gdb("break timer_handler\ncontinue\ncontinue\ncontinue\nstepi\nstepi\n"
                        "printf \"TICKS %d\\n\", *(int*)&ticks\n"
                        "delete\nset var *(int*)&ticks = 7\n");
  EXPECT_EQ(tagged_values(out, "TICKS"), std::vector<std::string>{"3"})
      << out; // stepped over the inc
  EXPECT_NE(out.find("Cannot access memory"), std::string::npos) << out;
  EXPECT_EQ(server_status(), 1);
  EXPECT_NE(read_file(server_err_).find("refused gdb's write"), std::string::npos);
  ProcessResult replay = run_process({rrvm_binary(), "replay", "--stats", trace_}, 30);
  EXPECT_EQ(replay.status, 1) << replay.err;
  EXPECT_EQ(replay.out, "PIT in long mode: 20 ticks\n");
}

// The scenarios on kvm (long-mode guests: what PVM runs). Forward: breakpoints in the debug
// registers, single steps, registers and memory. Backwards: the kvm replay of a recording without
// kicks hands over to emu in the same state, where (1), (2) and watchpoints then work.
TEST_F(GdbStubTest, KvmReplayDebugsForwardAndHandsOverToEmuForReverse) {
  if (!kvm_usable_or_fail()) GTEST_SKIP() << "no usable /dev/kvm";
  record("pit_long.elf", {}, "kvm");
  if (IsSkipped()) return;
  start_server();
  std::string out = gdb("break timer_handler\ncontinue\ncontinue\ncontinue\n"
                        "printf \"TICKS %d\\n\", *(int*)&ticks\n"
                        "x/2i $pc\nstepi\n"
                        "echo STATE\\n\ninfo registers rip rax rsp eflags\n"
                        "stepi\nstepi\nreverse-stepi\nreverse-stepi\n"
                        "echo STATE\\n\ninfo registers rip rax rsp eflags\n"
                        "delete\nwatch *(int*)&ticks\nreverse-continue\n"
                        "printf \"TICKS %d\\n\", *(int*)&ticks\n"
                        "delete\nbreak timer_handler\nreverse-continue\n"
                        "printf \"TICKS %d %d\\n\", *(int*)&ticks, $pc == &timer_handler\n"
                        "delete\ncontinue\n");
  EXPECT_EQ(tagged_values(out, "TICKS"), (std::vector<std::string>{"2", "1", "1 1"})) << out;
  EXPECT_NE(out.find("<timer_handler>:\tpush   %rax"), std::string::npos) << out;
  EXPECT_NE(out.find("continues on emu"), std::string::npos) << out;
  // Two steps forward on kvm and two back on emu: the same registers.
  const std::regex state("STATE\n(rip[^\n]*\nrax[^\n]*\nrsp[^\n]*\neflags[^\n]*\n)");
  std::vector<std::string> states;
  for (std::sregex_iterator it(out.begin(), out.end(), state), end; it != end; ++it)
    states.push_back((*it)[1]);
  ASSERT_EQ(states.size(), 2u) << out;
  EXPECT_EQ(states[0], states[1]);
  EXPECT_NE(out.find("Old value = 2\nNew value = 1"), std::string::npos) << out;
  EXPECT_NE(out.find("exited with code 01"), std::string::npos) << out;
  EXPECT_EQ(server_status(), 1);
  EXPECT_EQ(read_file(server_out_), "PIT in long mode: 20 ticks\n");
}

TEST_F(GdbStubTest, KvmRecordingWithKicksRefusesReverse) {
  if (!kvm_usable_or_fail()) GTEST_SKIP() << "no usable /dev/kvm";
  record("busy_pit_long.elf", {"--kick-bound", "0"}, "kvm");
  start_server();
  std::string out = gdb("stepi\nreverse-stepi\nkill\n");
  EXPECT_NE(out.find("interrupted by host-timer kicks"), std::string::npos) << out;
  EXPECT_EQ(server_status(), 0);
}

// Sends raw bytes and returns what comes back within a short while.
std::string talk(int fd, const std::string& bytes) {
  send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  std::string reply;
  timeval timeout{0, 300000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  char buffer[65536];
  for (ssize_t n; (n = recv(fd, buffer, sizeof buffer, 0)) > 0;) {
    reply.append(buffer, static_cast<size_t>(n));
    if (reply.size() >= 3 && reply[reply.size() - 3] == '#') break;
    if (reply == "-") break;
  }
  return reply;
}

std::string packet(const std::string& payload) {
  unsigned sum = 0;
  for (unsigned char c : payload)
    sum += c;
  char tail[4];
  snprintf(tail, sizeof tail, "#%02x", sum & 0xff);
  return "$" + payload + tail;
}

TEST_F(GdbStubTest, MalformedPacketsGetProtocolAnswers) {
  record("pit_long.elf");
  start_server();
  const int fd = connect_raw();
  EXPECT_EQ(talk(fd, "$g#00"), "-");                         // bad checksum
  EXPECT_EQ(talk(fd, "$g#zz"), "-");                         // checksum not hex
  EXPECT_EQ(talk(fd, packet("mzz,4")), "+" + packet("E01")); // bad hex
  EXPECT_EQ(talk(fd, packet("M1000,2:1")), "+" + packet("E01"));
  EXPECT_EQ(talk(fd, packet("vFrobnicate")), "+" + packet(""));              // unknown
  EXPECT_EQ(talk(fd, packet("Z9,1000,1")), "+" + packet(""));                // unknown type
  EXPECT_EQ(talk(fd, packet(std::string(40000, 'q'))), "+" + packet("E01")); // overlong
  EXPECT_EQ(talk(fd, "garbage" + packet("?")), "+" + packet("T05thread:1;"));
  const std::string supported = talk(fd, packet("qSupported:swbreak+"));
  for (const char* feature : {"qXfer:features:read+", "swbreak+", "hwbreak+", "ReverseStep+",
                              "ReverseContinue+", "vContSupported+", "PacketSize="})
    EXPECT_NE(supported.find(feature), std::string::npos) << supported;
  EXPECT_EQ(talk(fd, packet("m0,0")), "+" + packet(""));
  EXPECT_EQ(talk(fd, packet("bs")), "+" + packet("T05thread:1;replaylog:begin;"));
  EXPECT_EQ(talk(fd, packet("QStartNoAckMode")), "+" + packet("OK"));
  EXPECT_EQ(talk(fd, packet("s")), packet("T05thread:1;"));
  EXPECT_EQ(talk(fd, packet("k")), "");
  close(fd);
  EXPECT_EQ(server_status(), 0);
}

TEST_F(GdbStubTest, ASecondClientIsRefused) {
  record("pit_long.elf");
  start_server();
  const int first = connect_raw();
  EXPECT_EQ(talk(first, packet("?")), "+" + packet("T05thread:1;"));
  const int second = connect_raw();
  char byte;
  EXPECT_EQ(recv(second, &byte, 1, 0), 0); // closed at once
  close(second);
  EXPECT_EQ(talk(first, packet("qC")), "+" + packet("QC1"));
  EXPECT_EQ(talk(first, packet("D")), "+" + packet("OK"));
  close(first);
  EXPECT_EQ(server_status(), 1); // detached: the replay ran on to the guest's exit
  EXPECT_NE(read_file(server_err_).find("refused a second gdb"), std::string::npos);
}

// A divergence under gdb: gdb's console says so when it happens, stderr once when rrvm ends.
TEST_F(GdbStubTest, ADivergenceIsReportedOnce) {
  record("pit_long.elf");
  start_server();
  std::string out = gdb("set var *(int*)&ticks = 20\ncontinue\nkill\n");
  EXPECT_NE(out.find("replay diverged"), std::string::npos) << out;
  EXPECT_EQ(server_status(), 3) << read_file(server_err_); // ExitCode::kDivergence
  const std::string err = read_file(server_err_);
  size_t count = 0;
  for (size_t at = err.find("replay diverged"); at != std::string::npos;
       at = err.find("replay diverged", at + 1))
    ++count;
  EXPECT_EQ(count, 1u) << err;
}

// Clients knocking all at once while gdb is attached: each is turned away within moments (none
// left retrying its SYN against a full accept queue), and the log has one line for the first
// and a count for the rest.
TEST_F(GdbStubTest, RefusedConnectionsAreQuickAndLoggedOnce) {
  record("pit_long.elf");
  start_server();
  const int first = connect_raw();
  EXPECT_EQ(talk(first, packet("?")), "+" + packet("T05thread:1;"));
  constexpr int kClients = 400;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port_));
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  std::vector<pollfd> clients;
  for (int i = 0; i < kClients; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ASSERT_GE(fd, 0);
    connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa); // EINPROGRESS
    clients.push_back({fd, POLLIN, 0});
  }
  // Each is closed by the server: readable with end-of-file (or reset).
  int closed = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (closed < kClients && std::chrono::steady_clock::now() < deadline) {
    if (poll(clients.data(), clients.size(), 100) <= 0) continue;
    for (pollfd& c : clients) {
      if (c.fd < 0 || !c.revents) continue;
      char byte;
      const ssize_t n = recv(c.fd, &byte, 1, 0);
      if (n > 0 || (n < 0 && errno == EAGAIN)) continue;
      close(c.fd);
      c.fd = -1;
      ++closed;
    }
  }
  for (pollfd& c : clients)
    if (c.fd >= 0) close(c.fd);
  EXPECT_EQ(closed, kClients);
  EXPECT_EQ(talk(first, packet("k")), "+");
  close(first);
  EXPECT_EQ(server_status(), 0);
  const std::string err = read_file(server_err_);
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 3) << err; // waiting, first, count
  EXPECT_NE(err.find("refused a second gdb connection"), std::string::npos) << err;
  EXPECT_NE(err.find("refused " + std::to_string(kClients - 1) + " more gdb connections"),
            std::string::npos)
      << err;
}

// gdb going away in the middle of a packet is a detach: said on stderr, and the replay runs on
// to the guest's end (status and serial output as without gdb).
TEST_F(GdbStubTest, ADisconnectMidPacketIsADetach) {
  record("pit_long.elf");
  start_server();
  const int fd = connect_raw();
  EXPECT_EQ(talk(fd, packet("s")), "+" + packet("T05thread:1;"));
  send(fd, "$m1000,", 7, MSG_NOSIGNAL);
  close(fd);
  EXPECT_EQ(server_status(), 1);
  EXPECT_NE(read_file(server_err_)
                .find("gdb disconnected without detaching (in the middle of a "
                      "packet); running on to the end as after a detach"),
            std::string::npos)
      << read_file(server_err_);
  EXPECT_EQ(read_file(server_out_), "PIT in long mode: 20 ticks\n");
}

// Register writes the CPU could never hold are refused with E16 and one line on stderr, and the
// replay goes on; a legitimate write of the same register works.
TEST_F(GdbStubTest, ImpossibleRegisterWritesAreRefused) {
  record("pit_long.elf");
  start_server();
  const int fd = connect_raw();
  const std::string flags = talk(fd, packet("p11"));
  ASSERT_EQ(flags.size(), 1 + 1 + 8 + 3) << flags;                          // '+', $, 4 bytes, #cs
  EXPECT_EQ(talk(fd, packet("P11=02020200")), "+" + packet("E16"));         // IF and VM
  EXPECT_EQ(talk(fd, packet("P11=0a020000")), "+" + packet("E16"));         // reserved bit 3
  EXPECT_EQ(talk(fd, packet("P10=0000000000800000")), "+" + packet("E16")); // rip 0x800000000000
  EXPECT_EQ(talk(fd, packet("P12=f8ff0000")), "+" + packet("E16"));         // cs beyond the GDT
  EXPECT_EQ(talk(fd, packet("p11")), flags);
  EXPECT_EQ(talk(fd, packet("s")), "+" + packet("T05thread:1;"));
  const std::string stepped = talk(fd, packet("p11"));
  EXPECT_EQ(talk(fd, packet("P11=" + stepped.substr(2, 8))), "+" + packet("OK"));
  EXPECT_EQ(talk(fd, packet("D")), "+" + packet("OK"));
  close(fd);
  EXPECT_EQ(server_status(), 1);
  const std::string err = read_file(server_err_);
  EXPECT_NE(err.find("rrvm: refused gdb's register write: eflags: gdb cannot switch "
                     "virtual-8086 mode (the VM flag) on or off\n"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("eflags: reserved bits 0x8\n"), std::string::npos) << err;
  EXPECT_NE(err.find("rip: non-canonical address 0x800000000000\n"), std::string::npos) << err;
  EXPECT_NE(err.find("cs: selector 0xfff8 lies beyond"), std::string::npos) << err;
}

} // namespace
} // namespace rrvm::test
