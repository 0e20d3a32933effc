// The replay gate on a trace file, where exits that come in a row are compared in the trace's
// columns (ReplayGate's exit runs) instead of each decoded: the same answers, positions and
// divergence messages as event by event, across chunk ends, inputs, stops and seeks.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include "formats/trace_reader.h"
#include "replay/replay_gate.h"
#include "tests/formats/trace_test_util.h"
#include "vmm/error.h"

namespace rrvm {
namespace {

constexpr uint8_t kIo = static_cast<uint8_t>(ExitReason::kIo);

uint64_t rip_of(size_t i) {
  return 0x7c00 + 4 * i;
}

// `count` port exits, in chunks of `batch` events, with a serial input taken at the poll after
// exit `input_after` (the machine polls once after each exit).
std::string write_trace(const std::string& name, size_t count, size_t input_after, uint32_t batch) {
  std::vector<Event> events;
  for (size_t i = 0; i < count; ++i) {
    events.push_back(ExitEvent{kIo, rip_of(i)});
    if (i == input_after) events.push_back(SerialInputEvent{{'x'}, uint64_t(i)});
  }
  const std::string path =
      ::testing::TempDir() + "rrvm_exit_run_" + std::to_string(getpid()) + "_" + name;
  test::write_sample_trace(path, events, batch);
  return path;
}

// A replay of the trace write_trace(...) wrote, which it deletes at the end.
struct Replay {
  explicit Replay(std::string trace) : path(std::move(trace)), reader(path), source(reader) {}
  ~Replay() { unlink(path.c_str()); }
  std::string path;
  TraceReader reader;
  TraceEventSource source;
  ReplayGate gate{source, VerifyMode::kExits};

  // The machine's exit `i` and the input poll after it; returns the input bytes taken.
  size_t exit(size_t i) {
    EXPECT_FALSE(gate.on_exit(ExitReason::kIo, rip_of(i), MaybeCount(i)));
    uint8_t buffer[4];
    return gate.take_input(buffer);
  }
  // Exits `from` up to `to`, with no input.
  void exits(size_t from, size_t to) {
    for (size_t i = from; i < to; ++i)
      EXPECT_EQ(exit(i), 0u) << "exit " << i;
  }
};

TEST(ExitRun, ExitsInARowAcrossChunksMatchAndInputArrivesAtItsPoll) {
  Replay replay(write_trace("match", 100, 60, 16));
  for (size_t i = 0; i < 100; ++i) {
    EXPECT_EQ(replay.exit(i), i == 60 ? 1u : 0u) << "exit " << i;
    EXPECT_EQ(replay.gate.position(), i + 1 + (i >= 60 ? 1 : 0));
  }
  EXPECT_EQ(replay.gate.position(), 101u);
  replay.gate.on_run_end();
}

TEST(ExitRun, ADifferentExitInsideARunNamesItsEventAndBothSides) {
  Replay replay(write_trace("diverge", 40, 1000, 64));
  replay.exits(0, 25);
  try {
    replay.gate.on_exit(ExitReason::kIo, 0x9999, MaybeCount(25));
    ADD_FAILURE() << "no divergence";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kDivergence);
    EXPECT_EQ(std::string(e.what()),
              "replay diverged at event 25: the recording has exit io at rip 0x7c64, the replay "
              "exit io at rip 0x9999");
  }
}

TEST(ExitRun, ASeekBackIntoARunReplaysTheSameExits) {
  Replay replay(write_trace("seek", 50, 1000, 64));
  replay.exits(0, 10);
  const ReplayGate::Cursor at_10 = replay.gate.cursor();
  EXPECT_EQ(at_10.event, 10u);
  replay.exits(10, 30);
  replay.gate.seek(at_10);
  EXPECT_EQ(replay.gate.position(), 10u);
  EXPECT_EQ(replay.gate.next_exit_reason(), ExitReason::kIo); // looked at outside the run
  replay.exits(10, 50);
  EXPECT_EQ(replay.gate.position(), 50u);
  EXPECT_FALSE(replay.gate.next_exit_reason()); // the trace ends here
}

// As a kvm replay's kick tracker does before every exit (next_kick): each look leaves the run
// and the exit after it starts the next one.
TEST(ExitRun, LookingAheadBeforeEveryExitKeepsTheOrder) {
  Replay replay(write_trace("look", 300, 1000, 256));
  for (size_t i = 0; i < 300; ++i) {
    EXPECT_EQ(replay.gate.next_exit_reason(), ExitReason::kIo) << "before exit " << i;
    EXPECT_EQ(replay.exit(i), 0u);
  }
  EXPECT_EQ(replay.gate.position(), 300u);
  EXPECT_FALSE(replay.gate.next_exit_reason());
}

TEST(ExitRun, AStopAtAnEventInsideARunComesAtThatExit) {
  Replay replay(write_trace("stop", 30, 1000, 64));
  replay.gate.stop_at_event(12);
  size_t i = 0;
  for (; !replay.gate.stop_requested(); ++i)
    replay.exit(i);
  EXPECT_EQ(i, 12u);
  EXPECT_EQ(replay.gate.position(), 12u);
}

} // namespace
} // namespace rrvm
