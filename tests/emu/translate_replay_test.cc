// Record and replay across the translator switch: a trace recorded with `--emu-translate on`
// replays exactly with it off, and the other way round (the replay checks every exit, its count
// and, with --verify full, a hash of all registers there).
#include <gtest/gtest.h>

#include "tests/support/subprocess.h"

namespace rrvm::test {
namespace {

void expect_replays_across(const std::string& guest, const std::string& recorded_with,
                           const std::string& replayed_with) {
  SCOPED_TRACE(guest + ": recorded with translation " + recorded_with + ", replayed with " +
               replayed_with);
  const std::string trace = unique_temp_path("translate_" + guest + ".trace");
  const ProcessResult recorded =
      run_process({rrvm_binary(), "record", "--engine", "emu", "--emu-translate", recorded_with,
                   "--verify", "full", "-o", trace, guest_path(guest)},
                  60);
  ASSERT_FALSE(recorded.timed_out);
  ASSERT_NE(recorded.err.find("rrvm: recorded "), std::string::npos) << recorded.err;
  const ProcessResult replayed =
      run_process({rrvm_binary(), "replay", "--emu-translate", replayed_with, trace}, 60);
  ASSERT_FALSE(replayed.timed_out);
  EXPECT_EQ(replayed.status, recorded.status) << replayed.err;
  EXPECT_EQ(replayed.out, recorded.out);
  std::remove(trace.c_str());
}

TEST(EmuTranslateReplay, TracesReplayWithTheTranslatorSwitchedEitherWay) {
  // Timer interrupts placed by instruction count into busy code, and a memory race.
  for (const char* guest : {"busy_pit_long.elf", "demo_race.elf"}) {
    expect_replays_across(guest, "on", "off");
    expect_replays_across(guest, "off", "on");
  }
}

TEST(EmuTranslateReplay, BadSwitchValueIsAUsageError) {
  const ProcessResult r = run_process({rrvm_binary(), "run", "--engine", "emu", "--emu-translate",
                                       "maybe", guest_path("compute_long.elf")});
  EXPECT_EQ(r.status, 64);
  EXPECT_NE(r.err.find("bad --emu-translate 'maybe': expected on or off"), std::string::npos)
      << r.err;
}

} // namespace
} // namespace rrvm::test
