// Checkpoints carry the x87/SSE state: restoring one in the middle of the C vector guest brings
// its XMM registers, MXCSR and x87 words back, and the run goes on to the host's output.
#include <gtest/gtest.h>

#include <algorithm>

#include "replay/replay_session.h"
#include "tests/support/subprocess.h"

namespace rrvm::test {
namespace {

bool xmm_in_use(const FpuState& f) {
  return std::any_of(f.xmm.begin(), f.xmm.end(), [](const auto& x) {
    return std::any_of(x.begin(), x.end(), [](uint8_t b) { return b != 0; });
  });
}

TEST(FpuCheckpointTest, RestoreBringsTheXmmAndX87StateBack) {
  const std::string trace = ::testing::TempDir() + "fpu_checkpoint.trace";
  ProcessResult r = run_process({rrvm_binary(), "record", "-o", trace, "--engine", "emu",
                                 "--serial", "none", guest_path("vector_c.elf")});
  ASSERT_EQ(r.status, 1) << r.err;
  const ProcessResult host = run_process({guest_path("vector_c_host")});
  ASSERT_EQ(host.status, 0) << host.err;
  std::string serial;
  ReplaySession session(trace,
                        ReplayOptions{"", [&](uint8_t byte) { serial.push_back(char(byte)); }});
  Machine& machine = session.machine();

  machine.stop_at(20000); // inside the float kernels
  ASSERT_EQ(session.run().kind, RunOutcome::Kind::kPositionReached);
  const ReplayCheckpoint checkpoint = session.checkpoint();
  const FpuState saved = machine.engine().state().fpu;
  ASSERT_TRUE(xmm_in_use(saved));
  EXPECT_EQ(checkpoint.machine.cpu.fpu.xmm, saved.xmm);

  machine.stop_at(60000);
  ASSERT_EQ(session.run().kind, RunOutcome::Kind::kPositionReached);
  ASSERT_NE(machine.engine().state().fpu.xmm, saved.xmm);

  session.restore(checkpoint);
  const FpuState restored = machine.engine().state().fpu;
  EXPECT_EQ(restored.xmm, saved.xmm);
  EXPECT_EQ(restored.mxcsr, saved.mxcsr);
  EXPECT_EQ(restored.fcw, saved.fcw);
  EXPECT_EQ(restored.fsw, saved.fsw);
  EXPECT_EQ(restored.ftw, saved.ftw);
  EXPECT_EQ(restored.st, saved.st);

  const std::string before_restore = serial;
  serial.clear();
  machine.stop_at(std::nullopt);
  RunOutcome end = session.run();
  EXPECT_EQ(end.kind, RunOutcome::Kind::kGuestExit);
  // The output from the checkpoint on is the host's output after what was printed by then.
  const size_t printed_at_checkpoint = host.out.size() - serial.size();
  EXPECT_EQ(host.out.substr(printed_at_checkpoint), serial);
  EXPECT_EQ(host.out.substr(0, printed_at_checkpoint),
            before_restore.substr(0, printed_at_checkpoint));
}

} // namespace
} // namespace rrvm::test
