// `monitor history` and `monitor last-write` through the real gdb (`gdb -batch -nx -x script`)
// against `rrvm replay --gdb`, on an emu recording of the demo race that lost an update.
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <optional>
#include <regex>
#include <sstream>
#include <unistd.h>

#include "debugger/write_history.h"
#include "tests/support/gdb_server_process.h"
#include "tests/support/subprocess.h"

namespace rrvm::test {
namespace {

std::string hex(uint64_t value) {
  std::ostringstream text;
  text << "0x" << std::hex << value;
  return text.str();
}

struct TableLine {
  uint64_t position, rip;
  std::string before, after;
};

class HistoryGdbTest : public ::testing::Test {
protected:
  void SetUp() override {
    char dir[] = "/tmp/rrvm-history-gdb-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    elf_ = guest_path("demo_race.elf");
    trace_ = dir_ + "/trace";
    // With --clock icount the timer's ticks land at the same instructions in every run, and the
    // first run loses its tick; with the host clock a loaded host's sanitizer build once went 60
    // runs without losing one.
    const ProcessResult r = run_process({rrvm_binary(), "record", "--engine", "emu", "--clock",
                                         "icount", "--until-fail", "60", "-o", trace_, elf_},
                                        60);
    ASSERT_EQ(r.status, 35) << r.err;
    start_server();
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  // `rrvm replay --gdb` on a port the kernel picks, read from its stderr.
  void start_server() {
    server_.emplace(std::vector<std::string>{"replay", trace_, "--gdb", "127.0.0.1:0"},
                    dir_ + "/server.err");
    port_ = server_->port();
    ASSERT_NE(port_, 0) << "the server did not start: " << server_->err();
  }

  // gdb on the demo's ELF running `commands` once connected; its stdout and stderr.
  std::string gdb(const std::string& commands) {
    const std::string script = dir_ + "/script.gdb";
    std::ofstream(script) << "set pagination off\nset confirm off\ntarget remote 127.0.0.1:"
                          << port_ << "\n"
                          << commands;
    // Each scan of the demo's 20 M instructions replays them with a watchpoint: ~20 s in a
    // sanitizer build, and twice that with another such test beside it.
    const ProcessResult r = run_process({"gdb", "-batch", "-nx", "-x", script, elf_}, 150);
    EXPECT_FALSE(r.timed_out);
    return r.out + r.err;
  }

  // The history table's lines (instruction, rip, old -> new) in `output`.
  static std::vector<TableLine> table(const std::string& output) {
    std::vector<TableLine> lines;
    const std::regex row("^ +([0-9]+)  0x([0-9a-f]+) +(0x[0-9a-f]+) -> (0x[0-9a-f]+).*");
    std::istringstream in(output);
    for (std::string line; std::getline(in, line);) {
      std::smatch m;
      if (std::regex_match(line, m, row))
        lines.push_back({std::stoull(m[1]), std::stoull(m[2], nullptr, 16), m[3], m[4]});
    }
    return lines;
  }

  std::string dir_, elf_, trace_;
  std::optional<GdbServerProcess> server_;
  int port_ = 0;
};

// One command lists both racing writes: the handler's increment and, right after it, the racy
// store writing the same value back (a watchpoint never stops there: the value does not change).
TEST_F(HistoryGdbTest, HistoryListsTheRacingWrites) {
  const std::string out =
      gdb("printf \"HANDLER 0x%lx\\n\", (long)&timer_handler + 1\n"
          "printf \"STORE 0x%lx\\n\", (long)&'main_loop.racy' + 12\n"
          "eval \"monitor history 0x%lx 8\", (long)&total\n"
          "eval \"monitor history 0x%lx\", (long)&total\n" // the default length; cached
          "eval \"monitor history 0x%lx 4\", (long)&ok_message\n"
          "kill\n");
  const std::vector<std::string> handler = tagged_values(out, "HANDLER"),
                                 store = tagged_values(out, "STORE");
  ASSERT_EQ(handler.size(), 1u) << out;
  ASSERT_EQ(store.size(), 1u) << out;
  EXPECT_TRUE(std::regex_search(
      out, std::regex("writes to 0x[0-9a-f]+ \\(8 bytes\\) over the whole trace, [0-9]+ "
                      "instructions \\(the guest exited with status 35; scanned in [0-9.]+ s\\)")))
      << out;
  EXPECT_NE(out.find("scanned earlier)"), std::string::npos) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex("no writes to 0x[0-9a-f]+ \\(4 bytes\\) over the "
                                                "whole trace")))
      << out;

  const std::vector<TableLine> rows = table(out);
  ASSERT_FALSE(rows.empty()) << out;
  ASSERT_EQ(rows.size() % 2, 0u) << "the same table twice";
  const std::vector<TableLine> first(rows.begin(), rows.begin() + long(rows.size() / 2));
  const std::regex count(
      "\n([0-9]+) writes, ([0-9]+) of them leaving the value as it was(; [0-9]+ shown [^\n]*)?\n");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, count)) << out;
  // How long the race takes to lose an update is up to host timing: a long table is cut.
  if (std::stoull(m[1]) > gdb::kAllWritesShown) {
    EXPECT_LT(first.size(), std::stoull(m[1]));
    EXPECT_NE(out.find(" not shown ...\n"), std::string::npos) << out;
  } else {
    EXPECT_EQ(std::stoull(m[1]), first.size());
  }
  size_t lost = 0;
  for (size_t i = 1; i < first.size(); ++i) {
    if (first[i].before != first[i].after) continue;
    ++lost;
    EXPECT_EQ(hex(first[i].rip), store[0]);
    EXPECT_EQ(hex(first[i - 1].rip), handler[0]);
    EXPECT_EQ(first[i - 1].after, first[i].after);
    EXPECT_LT(first[i - 1].position, first[i].position);
  }
  EXPECT_GE(lost, 1u) << out;
  EXPECT_EQ(std::stoull(m[2]), lost);
}

// From the failure check, last-write moves to just after the last write to total: total holds
// its new value there, and one reverse-stepi shows the writing instruction with the old value.
TEST_F(HistoryGdbTest, LastWriteMovesToTheWriter) {
  const std::string out = gdb("eval \"monitor last-write 0x%lx 8\", (long)&total\n"
                              "break lost\ncontinue\n"
                              "eval \"monitor history 0x%lx 8\", (long)&total\n"
                              "eval \"monitor last-write 0x%lx 8\", (long)&total\n"
                              "maintenance flush register-cache\n"
                              "printf \"AFTER 0x%lx 0x%lx\\n\", $pc, *(long*)&total\n"
                              "reverse-stepi\n"
                              "printf \"WRITER 0x%lx 0x%lx\\n\", $pc, *(long*)&total\n"
                              "x/i $pc\n"
                              "monitor when\n"
                              "kill\n");
  EXPECT_TRUE(std::regex_search(out, std::regex("no write to 0x[0-9a-f]+ \\(8 bytes\\) before "
                                                "instruction 0\n")))
      << out;
  // The history as seen from `lost`: every write is before now; the last one is where
  // last-write goes.
  EXPECT_NE(out.find("  -- now: instruction "), std::string::npos) << out;
  const std::vector<TableLine> rows = table(out);
  ASSERT_GE(rows.size(), 2u) << out;
  const TableLine& last = rows[rows.size() - 2]; // the table's last line, then last-write's
  const TableLine& moved = rows.back();
  EXPECT_EQ(moved.position, last.position);
  EXPECT_EQ(moved.rip, last.rip);
  EXPECT_NE(out.find("now just after it, at instruction " + std::to_string(last.position)),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("gdb still shows the old registers"), std::string::npos) << out;

  const std::vector<std::string> after = tagged_values(out, "AFTER"),
                                 writer = tagged_values(out, "WRITER");
  ASSERT_EQ(after.size(), 1u) << out;
  ASSERT_EQ(writer.size(), 1u) << out;
  const std::string rip = hex(last.rip);
  EXPECT_NE(after[0].rfind(rip + " ", 0), 0u) << "still at the writer: " << out;
  EXPECT_EQ(after[0].substr(after[0].find(' ') + 1), last.after) << out;
  EXPECT_EQ(writer[0], rip + " " + last.before) << out;
  EXPECT_TRUE(
      std::regex_search(out, std::regex("=> " + rip + " <[^>]+>:\\s+(incq|mov)\\s+.*<total>")))
      << out;
  EXPECT_NE(out.find("instruction " + std::to_string(last.position - 1) + ", trace event"),
            std::string::npos)
      << out;
}

TEST_F(HistoryGdbTest, BadArgumentsGetOneLineErrors) {
  const std::string out = gdb("monitor history\nmonitor history zz\nmonitor history 0x1000 0\n"
                              "monitor history 0x1000 257\nmonitor last-write 0x1000 8 9\n"
                              "monitor history 0xffffffffffffffff 2\nkill\n");
  // One line each, one after the other (gdb prints monitor output on its own stream).
  const std::string expected =
      "usage: monitor history ADDR [LEN]: ADDR a linear address (0x for hex), LEN 1 to 256 bytes "
      "(default 8)\n"
      "monitor history: bad address 'zz': a number, 0x for hex\n"
      "monitor history: LEN is 1 to 256 bytes, not 0 (watch a longer range in pieces)\n"
      "monitor history: LEN is 1 to 256 bytes, not 257 (watch a longer range in pieces)\n"
      "monitor last-write: unexpected '9' after LEN\n"
      "monitor history: 0xffffffffffffffff + 2 bytes runs past the end of the address space\n";
  EXPECT_NE(out.find(expected), std::string::npos) << out;
}

} // namespace
} // namespace rrvm::test
