// Trace headers a replay refuses before running anything.
#include <gtest/gtest.h>

#include "formats/trace_writer.h"
#include "replay/replay_session.h"
#include "tests/formats/trace_test_util.h"

namespace rrvm::test {
namespace {

TEST(ReplaySessionHeader, ClockModeIcountIsRefusedClearly) {
  const std::string path = ::testing::TempDir() + "icount_clock.trace";
  TraceHeader header = sample_header();
  header.machine.clock_mode = "icount"; // declared by the schema, never implemented
  {
    TraceWriter writer(path, header);
    writer.finish();
  }
  try {
    ReplaySession session(path, {});
    FAIL() << "replayed a trace in clock mode icount";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kBadInput);
    EXPECT_STREQ(e.what(),
                 "trace clock mode 'icount' is not supported: rrvm replays only clock mode 'host'");
  }
}

} // namespace
} // namespace rrvm::test
