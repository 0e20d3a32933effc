// Restores proportional to change, on a real replay with 64 MiB of guest memory: a restore copies
// only the pages written since the last checkpoint or restore and those where the two
// checkpoints differ, and leaves memory and registers exactly as a full restore does; re-executing
// forward from a restored checkpoint reaches the next checkpoint's state byte for byte.
#include <gtest/gtest.h>

#include <cstring>
#include <unistd.h>

#include "replay/replay_session.h"
#include "tests/support/subprocess.h"
#include "vmm/state_hash.h"

namespace rrvm::test {
namespace {

constexpr uint64_t kMemory = 64ull << 20;
constexpr size_t kPages = kMemory / kPageSize;

class CheckpointRestoreTest : public ::testing::Test {
protected:
  void SetUp() override {
    // Each test records its own: ctest runs them side by side.
    const std::string trace = unique_temp_path("checkpoint_restore_demo_race.trace");
    ProcessResult r = run_process({rrvm_binary(), "record", "-o", trace, "--engine", "emu", "--mem",
                                   "64M", "--serial", "none", guest_path("demo_race.elf")});
    // The guest changes memory all the time; it passes or finds its lost update (status 35).
    ASSERT_TRUE(r.status == 1 || r.status == 35) << r.err;
    ReplaySession whole(trace, {});
    ASSERT_EQ(whole.run().kind, RunOutcome::Kind::kGuestExit);
    instructions_ = *whole.machine().engine().instruction_count();
    session_ = std::make_unique<ReplaySession>(
        trace, ReplayOptions{"", [this](uint8_t byte) { serial_.push_back(char(byte)); }});
    unlink(trace.c_str()); // the sessions have read what they need
  }

  Machine& machine() { return session_->machine(); }

  // Checkpoints `count` times evenly over the replay, the first at its start, then runs to the end.
  std::vector<ReplayCheckpoint> checkpoints(uint64_t count) {
    const uint64_t step = instructions_ / count;
    std::vector<ReplayCheckpoint> checkpoints{session_->checkpoint()};
    for (uint64_t count = step;; count += step) {
      machine().stop_at(count);
      if (session_->run().kind != RunOutcome::Kind::kPositionReached) break;
      checkpoints.push_back(session_->checkpoint());
    }
    machine().stop_at(std::nullopt);
    return checkpoints;
  }

  std::vector<uint8_t> memory_bytes() {
    return {machine().memory().host(), machine().memory().host() + kMemory};
  }

  // The checkpoint's memory and registers are what the machine holds now.
  void expect_at(const ReplayCheckpoint& checkpoint) {
    EXPECT_FALSE(checkpoint.machine.memory->first_difference(machine().memory()));
    const CpuState now = machine().engine().state();
    EXPECT_EQ(now.rip, checkpoint.machine.cpu.rip);
    EXPECT_EQ(now.gpr, checkpoint.machine.cpu.gpr);
    EXPECT_EQ(hash_cpu_state(now), hash_cpu_state(checkpoint.machine.cpu));
    EXPECT_EQ(machine().engine().instruction_count(), checkpoint.machine.instruction_count);
  }

  uint64_t instructions_ = 0; // in the whole replay
  std::string serial_;
  std::unique_ptr<ReplaySession> session_;
};

TEST_F(CheckpointRestoreTest, RestoreCopiesOnlyChangedPagesAndMatchesAFullRestore) {
  const std::vector<ReplayCheckpoint> checkpoints = this->checkpoints(8);

  // Back across several intervals, from the end of the replay.
  const ReplayCheckpoint& target = checkpoints[checkpoints.size() / 2];
  const size_t copied = session_->restore(target);
  EXPECT_GT(copied, 0u);
  EXPECT_LT(copied, 16u) << "the guest writes a few pages (its counters and stack)";
  expect_at(target);
  const std::vector<uint8_t> proportional = memory_bytes();
  const uint64_t registers = hash_cpu_state(machine().engine().state());

  // The debugger writes to three pages: restoring the same checkpoint copies those three.
  Machine& m = machine();
  for (uint64_t page : {7u, 4000u, 16000u})
    m.memory().store<uint32_t>(page * kPageSize + 12, 0xdeadbeef);
  EXPECT_EQ(session_->restore(target), 3u);
  EXPECT_TRUE(memory_bytes() == proportional);

  // A full restore (every page marked written) copies all of memory, to the same bytes.
  m.memory().mark_all_written();
  EXPECT_EQ(session_->restore(target), kPages);
  EXPECT_TRUE(memory_bytes() == proportional);
  EXPECT_EQ(hash_cpu_state(machine().engine().state()), registers);
}

TEST_F(CheckpointRestoreTest, ReExecutionFromARestoreReachesTheNextCheckpointExactly) {
  const std::vector<ReplayCheckpoint> checkpoints = this->checkpoints(10);
  const std::string recorded_serial = serial_;
  // Newest first, then forward again two intervals at a time: every restore and re-execution
  // must reach the recorded states.
  for (size_t i = checkpoints.size() - 1; i-- > 0;) {
    session_->restore(checkpoints[i]);
    expect_at(checkpoints[i]);
    machine().stop_at(checkpoints[i + 1].machine.instruction_count);
    ASSERT_EQ(session_->run().kind, RunOutcome::Kind::kPositionReached);
    machine().stop_at(std::nullopt);
    expect_at(checkpoints[i + 1]);
  }
  for (size_t i = 0; i + 2 < checkpoints.size(); i += 2) {
    session_->restore(checkpoints[i + 2]);
    expect_at(checkpoints[i + 2]);
  }
  session_->restore(checkpoints.front());
  serial_.clear();
  RunOutcome end = session_->run();
  EXPECT_EQ(end.kind, RunOutcome::Kind::kGuestExit);
  EXPECT_EQ(serial_, recorded_serial);
}

} // namespace
} // namespace rrvm::test
