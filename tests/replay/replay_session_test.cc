// Checkpoints of a replaying machine: restoring one and running on reproduces the rest of the
// recording exactly, from any instruction count (the basis of reverse execution), in both clock
// modes (in icount mode the restored clock also fixes the idle time skipped so far).
#include <gtest/gtest.h>

#include "replay/replay_session.h"
#include "tests/support/subprocess.h"

namespace rrvm::test {
namespace {

struct ReplayEnd {
  RunOutcome::Kind kind;
  int status;
  std::string serial;
};

class ReplaySessionTest : public ::testing::TestWithParam<const char*> {
protected:
  void SetUp() override {
    trace_ = ::testing::TempDir() + "session_pit_long_" + GetParam() + ".trace";
    ProcessResult r =
        run_process({rrvm_binary(), "record", "-o", trace_, "--engine", "emu", "--clock",
                     GetParam(), "--mem", "2M", "--serial", "none", guest_path("pit_long.elf")});
    ASSERT_EQ(r.status, 1) << r.err;
    session_ = std::make_unique<ReplaySession>(
        trace_, ReplayOptions{"", [this](uint8_t byte) { serial_.push_back(char(byte)); }});
  }

  ReplayEnd run_to_end() {
    serial_.clear();
    session_->machine().stop_at(std::nullopt);
    RunOutcome outcome = session_->run();
    return {outcome.kind, outcome.status, serial_};
  }

  std::string trace_;
  std::string serial_;
  std::unique_ptr<ReplaySession> session_;
};

TEST_P(ReplaySessionTest, EveryCheckpointReplaysTheSameFuture) {
  std::vector<ReplayCheckpoint> checkpoints;
  Machine& machine = session_->machine();
  // Stop at instruction counts that fall between exits, inside interrupt handlers and halts.
  for (uint64_t count = 0;; count += 7) {
    machine.stop_at(count);
    RunOutcome outcome = session_->run();
    if (outcome.kind != RunOutcome::Kind::kPositionReached) break;
    ASSERT_EQ(machine.engine().instruction_count(), count);
    checkpoints.push_back(session_->checkpoint());
  }
  ASSERT_GT(checkpoints.size(), 5u);
  for (auto it = checkpoints.rbegin(); it != checkpoints.rend(); ++it) {
    session_->restore(*it);
    ASSERT_EQ(machine.engine().instruction_count(), it->machine.instruction_count);
    ReplayEnd run = run_to_end();
    EXPECT_EQ(run.kind, RunOutcome::Kind::kGuestExit);
    EXPECT_EQ(run.status, 1);
  }
  session_->restore(checkpoints.front());
  EXPECT_EQ(run_to_end().serial, "PIT in long mode: 20 ticks\n");
}

INSTANTIATE_TEST_SUITE_P(ClockModes, ReplaySessionTest, ::testing::Values("host", "icount"));

} // namespace
} // namespace rrvm::test
