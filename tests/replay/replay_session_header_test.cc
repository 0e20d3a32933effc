// Trace headers a replay refuses before running anything.
#include <gtest/gtest.h>

#include "formats/trace_writer.h"
#include "replay/replay_session.h"
#include "tests/formats/trace_test_util.h"

namespace rrvm::test {
namespace {

TEST(ReplaySessionHeader, AnUnknownClockModeIsRefusedClearly) {
  const std::string path = ::testing::TempDir() + "shift_clock.trace";
  TraceHeader header = sample_header();
  header.machine.clock_mode = "shift";
  {
    TraceWriter writer(path, header);
    writer.finish();
  }
  try {
    ReplaySession session(path, {});
    FAIL() << "replayed a trace in clock mode shift";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kBadInput);
    EXPECT_STREQ(e.what(),
                 "trace clock mode 'shift' is not supported: rrvm replays clock modes 'host', "
                 "'icount' and 'adaptive'");
  }
}

} // namespace
} // namespace rrvm::test
