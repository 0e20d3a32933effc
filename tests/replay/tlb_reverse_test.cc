// Exact reverse execution over emu's software TLB, on a recording of tlb_aging_long: the guest
// clears accessed and dirty bits in PTEs without INVLPG (Linux's page aging) and goes on through
// the translations still cached. Reverse steps (which restore checkpoints and snapshots), forward
// steps after them, restores of checkpoints taken between the clear and the access, and
// watchpoints set or removed there must all see, at every position, what the recording saw: the
// same registers, the same PTEs and the same RAM. A walk the recording did not make would set
// the bits again.
#include <gtest/gtest.h>

#include <sstream>

#include "debugger/replay_controller.h"
#include "tests/support/subprocess.h"
#include "vmm/state_hash.h"

namespace rrvm::gdb {
namespace {

// A symbol's address in the guest's ELF, from nm.
uint64_t symbol(const std::string& name) {
  const test::ProcessResult r = test::run_process({"nm", test::guest_path("tlb_aging_long.elf")});
  std::istringstream lines(r.out);
  std::string address, type, symbol_name;
  while (lines >> address >> type >> symbol_name)
    if (symbol_name == name) return std::stoull(address, nullptr, 16);
  ADD_FAILURE() << "no symbol " << name << ": " << r.err;
  return 0;
}

// What a position looks like.
struct Seen {
  uint64_t count = 0;
  uint64_t registers = 0;
  uint64_t ram = 0;
  uint64_t data_pte = 0, code_pte = 0;
  bool operator==(const Seen&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Seen& s) {
  return out << std::hex << "{count " << s.count << ", registers " << s.registers << ", ram "
             << s.ram << ", data PTE " << s.data_pte << ", code PTE " << s.code_pte << "}";
}

constexpr uint64_t kDataPage = 0x600000;
constexpr uint64_t kCodePage = 0x601000;

class TlbReverseTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    trace_ = new std::string(test::unique_temp_path("tlb_aging_long.trace"));
    const test::ProcessResult r = test::run_process(
        {test::rrvm_binary(), "record", "--engine", "emu", "--mem", "8M", "--serial", "none", "-o",
         *trace_, test::guest_path("tlb_aging_long.elf")});
    // 1: the guest's PTEs kept A and D clear (no walk set them again); 35/37: a walk did.
    ASSERT_EQ(r.status, 1) << r.err;
  }
  static void TearDownTestSuite() {
    std::remove(trace_->c_str());
    delete trace_;
  }

  void SetUp() override {
    replay_ = std::make_unique<ReplaySession>(*trace_, ReplayOptions{"emu", {}});
    controller_ = std::make_unique<ReplayController>(*replay_);
    pt_ = symbol("pt");
    // Forward from the start to the aging code, then step by step to the checks: the recording's
    // positions, each as it looks the first time the replay is there.
    const Breakpoint at_aging{{symbol("aging"), WatchKind::kExecute, 1}, false};
    ASSERT_TRUE(controller_->insert(at_aging));
    ASSERT_EQ(controller_->resume([] { return false; }).kind, Stop::Kind::kBreakpoint);
    ASSERT_TRUE(controller_->remove(at_aging));
    const uint64_t checks = symbol("checks");
    recorded_.push_back(now());
    while (machine().engine().state().rip != checks) {
      ASSERT_EQ(controller_->step().kind, Stop::Kind::kStep);
      recorded_.push_back(now());
      ASSERT_LT(recorded_.size(), 40u);
    }
  }

  Machine& machine() { return replay_->machine(); }

  Seen now() {
    const GuestMemory& memory = machine().memory();
    return {*machine().engine().instruction_count(), hash_cpu_state(machine().engine().state()),
            hash_bytes({memory.host(), memory.size()}), memory.load<uint64_t>(pt_),
            memory.load<uint64_t>(pt_ + 8)};
  }

  // The index in recorded_ of the position at count `count`.
  size_t index_of(uint64_t count) const { return size_t(count - recorded_.front().count); }

  // Steps forward from where the replay stands to the checks; every position must be the
  // recording's.
  void expect_forward_as_recorded(const char* how) {
    for (size_t i = index_of(now().count); i + 1 < recorded_.size(); ++i) {
      ASSERT_EQ(now(), recorded_[i]) << how << ", step " << i;
      controller_->step();
    }
    EXPECT_EQ(now(), recorded_.back()) << how;
  }

  static std::string* trace_;
  std::unique_ptr<ReplaySession> replay_;
  std::unique_ptr<ReplayController> controller_;
  uint64_t pt_ = 0;
  std::vector<Seen> recorded_;
};

std::string* TlbReverseTest::trace_ = nullptr;

TEST_F(TlbReverseTest, ReverseStepsAndStepsAfterThemSeeTheRecordedStates) {
  // A reverse step lands on a restored snapshot: the step forward from there re-executes one
  // instruction with the TLB the restore put back.
  for (size_t i = recorded_.size() - 1; i-- > 0;) {
    ASSERT_EQ(controller_->reverse_step().kind, Stop::Kind::kStep);
    ASSERT_EQ(now(), recorded_[i]) << "reverse step to " << i;
    controller_->step();
    ASSERT_EQ(now(), recorded_[i + 1]) << "step from " << i << " after a reverse step";
    ASSERT_EQ(controller_->reverse_step().kind, Stop::Kind::kStep);
    ASSERT_EQ(now(), recorded_[i]) << "reverse step to " << i << " again";
  }
  expect_forward_as_recorded("forward after the reverse steps");
  // Each position reached from the end: a restore there, then forward again.
  for (size_t i = 0; i + 1 < recorded_.size(); ++i) {
    ASSERT_TRUE(controller_->go_to({recorded_[i].count, 0}));
    expect_forward_as_recorded(("from " + std::to_string(i)).c_str());
  }
}

TEST_F(TlbReverseTest, CheckpointsBetweenTheClearAndTheAccessRestoreTheTlb) {
  for (size_t i = 0; i + 1 < recorded_.size(); ++i) {
    ASSERT_TRUE(controller_->go_to({recorded_[i].count, 0}));
    const ReplayCheckpoint checkpoint = replay_->checkpoint();
    ASSERT_TRUE(controller_->go_to({recorded_.back().count, 0}));
    replay_->restore(checkpoint);
    for (size_t j = i + 1; j < recorded_.size(); ++j) {
      machine().stop_at(recorded_[j].count);
      ASSERT_EQ(replay_->run().kind, RunOutcome::Kind::kPositionReached);
      ASSERT_EQ(now(), recorded_[j]) << "restored at " << i << ", run to " << j;
    }
    machine().stop_at(std::nullopt);
    replay_->restore(checkpoint); // where the controller expects the replay
  }
}

// A watchpoint set between the clear and the access, on the page just aged, sees the access and
// changes nothing the guest sees; removed again, neither does its removal.
TEST_F(TlbReverseTest, WatchpointsSetOrRemovedOnAgedPagesChangeNoState) {
  const uint64_t first_clear = recorded_.front().count + 1;
  const Breakpoint data_watch{{kDataPage + 8, WatchKind::kAccess, 8}, false};
  const Breakpoint code_watch{{kCodePage + 8, WatchKind::kWrite, 8}, false};
  for (size_t i = index_of(first_clear) + 1; i + 1 < recorded_.size(); ++i) {
    ASSERT_TRUE(controller_->go_to({recorded_[i].count, 0}));
    ASSERT_TRUE(controller_->insert(data_watch));
    ASSERT_TRUE(controller_->insert(code_watch));
    expect_forward_as_recorded(("watched from " + std::to_string(i)).c_str());
    ASSERT_TRUE(controller_->go_to({recorded_[i].count, 0}));
    ASSERT_TRUE(controller_->remove(data_watch));
    ASSERT_TRUE(controller_->remove(code_watch));
    expect_forward_as_recorded(("unwatched from " + std::to_string(i)).c_str());
  }
}

// The watch hits themselves are what they were before: a continue from the aging code stops just
// after each access to the watched quadwords.
TEST_F(TlbReverseTest, WatchpointsOnAgedPagesStillHit) {
  ASSERT_TRUE(controller_->go_to({recorded_.front().count, 0}));
  ASSERT_TRUE(controller_->insert({{kDataPage + 8, WatchKind::kAccess, 8}, false}));
  ASSERT_TRUE(controller_->insert({{kCodePage + 8, WatchKind::kWrite, 8}, false}));
  Stop stop = controller_->resume([] { return false; });
  EXPECT_EQ(stop.kind, Stop::Kind::kWatchpoint);
  EXPECT_EQ(stop.address, kDataPage + 8);
  EXPECT_EQ(now(), recorded_[3]) << "after mov rax, [DATA_PAGE + 8]";
  stop = controller_->resume([] { return false; });
  EXPECT_EQ(stop.kind, Stop::Kind::kWatchpoint);
  EXPECT_EQ(stop.address, kCodePage + 8);
  EXPECT_EQ(now(), recorded_[13]) << "after mov qword [CODE_PAGE + 8], 3";
}

} // namespace
} // namespace rrvm::gdb
