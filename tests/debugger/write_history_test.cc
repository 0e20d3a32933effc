// The write-history scanner on emu recordings of the test guests: the demo race's lost update
// (the handler's increment, then the main loop's store of the value it read before the tick), a
// range nothing writes, and how ranges become watchpoints and values become text.
#include <algorithm>
#include <filesystem>
#include <gtest/gtest.h>
#include <sstream>

#include "debugger/replay_controller.h"
#include "debugger/write_history.h"
#include "tests/support/subprocess.h"
#include "vmm/page_walker.h"

namespace rrvm::gdb {
namespace {

class WriteHistoryTest : public ::testing::Test {
protected:
  void SetUp() override {
    char dir[] = "/tmp/rrvm-write-history-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Records `guest` on emu with `options`; the guest must end with `status`.
  std::string record(const std::string& guest, const std::vector<std::string>& options,
                     int status) {
    const std::string trace = dir_ + "/" + guest + ".trace";
    std::vector<std::string> argv = {test::rrvm_binary(), "record", "--engine", "emu", "-o", trace};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.push_back(test::guest_path(guest));
    const test::ProcessResult r = test::run_process(argv, 60);
    EXPECT_EQ(r.status, status) << r.err;
    return trace;
  }

  // A symbol's address in a test guest's ELF, from nm.
  static uint64_t symbol(const std::string& guest, const std::string& name) {
    const test::ProcessResult r = test::run_process({"nm", test::guest_path(guest)});
    std::istringstream lines(r.out);
    std::string address, type, symbol_name;
    while (lines >> address >> type >> symbol_name)
      if (symbol_name == name) return std::stoull(address, nullptr, 16);
    ADD_FAILURE() << "no symbol " << name << " in " << guest << ": " << r.err;
    return 0;
  }

  static uint64_t value(const RangeBytes& bytes) {
    uint64_t v = 0;
    for (size_t i = bytes.size(); i-- > 0;) {
      EXPECT_TRUE(bytes[i].has_value());
      v = v << 8 | bytes[i].value_or(0);
    }
    return v;
  }

  static uint64_t read_u64(Machine& machine, uint64_t address) {
    uint8_t bytes[8] = {};
    EXPECT_EQ(read_linear(machine.memory(), machine.engine().state(), address, bytes), 8u);
    uint64_t v = 0;
    for (size_t i = 8; i-- > 0;)
      v = v << 8 | bytes[i];
    return v;
  }

  std::string dir_;
};

TEST_F(WriteHistoryTest, DemoRaceShowsTheHandlerWriteTheLostStoreOverwrote) {
  const std::string trace = record("demo_race.elf", {"--until-fail", "60"}, 35);
  const uint64_t total = symbol("demo_race.elf", "total");
  const uint64_t handler_inc = symbol("demo_race.elf", "timer_handler") + 1; // after push rax
  const uint64_t racy_store = symbol("demo_race.elf", "main_loop.racy") + 12;
  const uint64_t loop = symbol("demo_race.elf", "main_loop");

  ReplaySession session(trace, ReplayOptions{"emu", {}});
  std::vector<std::string> progress;
  const std::optional<WriteHistory> history = scan_write_history(
      session, {total, 8},
      {[&](std::string_view line) { progress.emplace_back(line); }, [] { return false; }});
  ASSERT_TRUE(history);
  EXPECT_EQ(history->end, "the guest exited with status 35");
  EXPECT_EQ(history->end_position, *session.machine().engine().instruction_count());
  const std::vector<RangeWrite>& writes = history->writes;
  ASSERT_FALSE(writes.empty());

  // Every write is one of the three increments, in order, each starting from what the one before
  // it left; the lost updates are the stores that wrote the value total already held.
  EXPECT_EQ(value(writes[0].before), 0u);
  std::vector<size_t> lost;
  for (size_t i = 0; i < writes.size(); ++i) {
    const RangeWrite& w = writes[i];
    if (i > 0) {
      EXPECT_LT(writes[i - 1].position, w.position) << i;
      EXPECT_EQ(w.before, writes[i - 1].after) << i;
    }
    const bool main_inc = w.rip >= loop && w.rip < racy_store - 12;
    EXPECT_TRUE(main_inc || w.rip == racy_store || w.rip == handler_inc) << std::hex << w.rip;
    if (value(w.after) == value(w.before)) {
      lost.push_back(i);
    } else {
      EXPECT_EQ(value(w.after), value(w.before) + 1) << i;
    }
  }
  // The guest's own count of lost ticks: iterations + ticks - total, at its end.
  Machine& end = session.machine();
  const uint64_t iterations = read_u64(end, symbol("demo_race.elf", "iterations"));
  const uint64_t ticks = read_u64(end, symbol("demo_race.elf", "ticks")) & 0xffffffff;
  const uint64_t final_total = read_u64(end, total);
  EXPECT_EQ(value(writes.back().after), final_total);
  ASSERT_GT(iterations + ticks, final_total);
  EXPECT_EQ(lost.size(), iterations + ticks - final_total);
  // Each lost update: the handler's increment, then the racy store writing that same value back.
  for (const size_t i : lost) {
    ASSERT_GT(i, 0u);
    EXPECT_EQ(writes[i].rip, racy_store);
    EXPECT_EQ(writes[i - 1].rip, handler_inc);
    EXPECT_EQ(value(writes[i - 1].after), value(writes[i].after));
  }

  // The positions are exact: just before each of the two racing writes the replay stands at the
  // writer with the old value; at the position, the new value is there.
  ReplaySession replay(trace, ReplayOptions{"emu", {}});
  ReplayController controller(replay);
  for (const RangeWrite* w : {&writes[lost[0] - 1], &writes[lost[0]]}) {
    ASSERT_TRUE(controller.go_to({w->position - 1, 0}));
    EXPECT_EQ(replay.machine().engine().state().rip, w->rip);
    EXPECT_EQ(read_u64(replay.machine(), total), value(w->before));
    ASSERT_TRUE(controller.go_to({w->position, 0}));
    EXPECT_EQ(read_u64(replay.machine(), total), value(w->after));
  }
}

TEST_F(WriteHistoryTest, CodeNobodyWritesHasNoHistory) {
  const std::string trace = record("pit_long.elf", {}, 1);
  ReplaySession session(trace, ReplayOptions{"emu", {}});
  const std::optional<WriteHistory> history =
      scan_write_history(session, {symbol("pit_long.elf", "_start"), 64});
  ASSERT_TRUE(history);
  EXPECT_TRUE(history->writes.empty());
  EXPECT_EQ(history->end, "the guest exited with status 1");
  EXPECT_GT(history->end_position, 0u);
}

TEST_F(WriteHistoryTest, AnInterruptedScanHasNoHistory) {
  // Millions of instructions: the scan polls for ^C between slices of a million.
  const std::string trace = record("compute_long.elf", {"--append", "3000000"}, 1);
  ReplaySession session(trace, ReplayOptions{"emu", {}});
  bool asked = false;
  EXPECT_FALSE(scan_write_history(session, {symbol("compute_long.elf", "_start"), 8},
                                  {{}, [&] { return asked = true; }}));
  EXPECT_TRUE(asked);
}

TEST(WriteWatchpoints, CoverTheRangeWithAlignedPieces) {
  auto pieces = [](uint64_t address, uint64_t length) {
    std::vector<std::pair<uint64_t, unsigned>> out;
    for (const HwBreakpoint& p : write_watchpoints({address, length})) {
      EXPECT_EQ(p.kind, WatchKind::kWrite);
      out.emplace_back(p.address, p.length);
    }
    return out;
  };
  using Pieces = std::vector<std::pair<uint64_t, unsigned>>;
  EXPECT_EQ(pieces(0x1000, 8), (Pieces{{0x1000, 8}}));
  EXPECT_EQ(pieces(0x1003, 13), (Pieces{{0x1003, 1}, {0x1004, 4}, {0x1008, 8}}));
  EXPECT_EQ(pieces(0x1001, 6), (Pieces{{0x1001, 1}, {0x1002, 2}, {0x1004, 2}, {0x1006, 1}}));
  // The longest range fits emu's 64 watchpoints at any alignment.
  for (uint64_t start = 0x2000; start < 0x2008; ++start) {
    const Pieces p = pieces(start, kMaxWatchedRange);
    EXPECT_LE(p.size(), 64u);
    uint64_t next = start;
    for (const auto& [address, length] : p) {
      EXPECT_EQ(address, next);
      EXPECT_EQ(address % length, 0u);
      next += length;
    }
    EXPECT_EQ(next, start + kMaxWatchedRange);
  }
}

TEST(WriteHistoryText, ValuesAsNumbersOrBytes) {
  EXPECT_EQ(describe_bytes({0x2a, 0, 0, 0, 0, 0, 0, 0}), "0x2a");
  EXPECT_EQ(describe_bytes({0x34, 0x12}), "0x1234");
  EXPECT_EQ(describe_bytes({0x01, 0x02, 0x03}), "01 02 03");
  EXPECT_EQ(describe_bytes({0x01, std::nullopt, 0x03, 0x04}), "01 ?? 03 04");
  const RangeWrite same{120, 0x1000c8, {5, 0}, {5, 0}};
  EXPECT_EQ(describe_write(same), "           120  0x1000c8            0x5 -> 0x5  (same value)");
  const RangeWrite changed{7, 0x10, {1}, {2}};
  EXPECT_EQ(describe_write(changed), "             7  0x10                0x1 -> 0x2");
}

// A counter incremented 5000 times, twice written back unchanged: the table lists those two with
// the writes before them, the 40 around the replay's position and 10 at each end.
TEST(WriteHistoryText, ALongTableShowsWhatAReaderCanUse) {
  std::vector<RangeWrite> writes;
  for (uint8_t i = 0; writes.size() < 5000; ++i) {
    const bool lost = writes.size() == 1000 || writes.size() == 4000;
    writes.push_back({writes.size() * 10 + 10, 0x1000, {i}, {uint8_t(lost ? i : i + 1)}});
  }
  const std::vector<bool> shown = writes_to_show(writes, 25'000); // after write 2499
  EXPECT_EQ(std::count(shown.begin(), shown.end(), true), 10 + 10 + 40 + 4);
  for (size_t i : {size_t(0), size_t(9), size_t(999), size_t(1000), size_t(2480), size_t(2519),
                   size_t(3999), size_t(4000), size_t(4990), size_t(4999)})
    EXPECT_TRUE(shown[i]) << i;
  for (size_t i : {size_t(10), size_t(998), size_t(1001), size_t(2479), size_t(2520), size_t(4989)})
    EXPECT_FALSE(shown[i]) << i;
  writes.resize(kAllWritesShown);
  const std::vector<bool> all = writes_to_show(writes, std::nullopt);
  EXPECT_EQ(std::count(all.begin(), all.end(), true), long(kAllWritesShown));
}

} // namespace
} // namespace rrvm::gdb
