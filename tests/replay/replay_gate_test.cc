// The replay gate on an in-memory trace: answers come from the events, what the machine did is
// checked against them, and the first difference names the event index and both sides.
#include <gtest/gtest.h>

#include "replay/replay_gate.h"
#include "vmm/error.h"

namespace rrvm::test {
namespace {

// The message of the Error(code) that `body` throws ("" when it throws none).
template <typename F> std::string error_of(F&& body, ExitCode code) {
  try {
    body();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

ExitEvent exit_at(ExitReason reason, uint64_t rip) {
  return {static_cast<uint8_t>(reason), rip};
}

TEST(ReplayGate, ClockSamplesComeFromTheTraceAndIdleWaitsFastForward) {
  EventList events({ClockEvent{100}, StatsSampleEvent{1, 2, 3, 4, 5, {}}, ClockEvent{250}});
  ReplayGate gate(events, VerifyMode::kExits);
  EXPECT_EQ(gate.sample_clock(), 100u);
  gate.wait_idle(1'000'000); // returns at once: the next sample is the wake-up
  EXPECT_EQ(gate.sample_clock(), 250u);
  EXPECT_EQ(gate.position(), 3u); // the statistics sample was passed over
  EXPECT_EQ(gate.host_deadline(5), 0u);
}

TEST(ReplayGate, InputBytesArriveWhereTheRecordingTookThem) {
  // Format 1 logged input without its poll: its place among the other events says when.
  EventList events({SerialInputEvent{{'h', 'i'}, std::nullopt}, ClockEvent{7},
                    SerialInputEvent{{'!'}, std::nullopt}});
  ReplayGate gate(events, VerifyMode::kExits);
  EXPECT_TRUE(gate.input_possible());
  uint8_t buffer[8];
  ASSERT_EQ(gate.take_input(buffer), 2u);
  EXPECT_EQ(buffer[0], 'h');
  EXPECT_EQ(buffer[1], 'i');
  EXPECT_EQ(gate.take_input(buffer), 0u); // the clock sample comes first
  EXPECT_EQ(gate.sample_clock(), 7u);
  ASSERT_EQ(gate.take_input(buffer), 1u);
  EXPECT_FALSE(gate.input_possible()); // nothing more: a halt with no timer is a hang
}

TEST(ReplayGate, MoreInputThanTheMachineTakesIsADivergence) {
  EventList events({SerialInputEvent{{1, 2, 3}, std::nullopt}});
  ReplayGate gate(events, VerifyMode::kExits);
  uint8_t buffer[2];
  const std::string message = error_of([&] { gate.take_input(buffer); }, ExitCode::kDivergence);
  EXPECT_EQ(message, "replay diverged at event 0: the recording has 3 bytes of serial input, the "
                     "replay took at most 2 bytes");
}

TEST(ReplayGate, ExitsAndReadsAreVerified) {
  EventList events({exit_at(ExitReason::kIo, 0x1000), PortReadEvent{0x60, 1, 0x1c},
                    exit_at(ExitReason::kMmio, 0x1002), MmioReadEvent{0xfed00000, 4, 7},
                    exit_at(ExitReason::kMsrRead, 0x1004), MsrReadEvent{0x1a0, 0x1801},
                    GuestExitEvent{1}});
  ReplayGate gate(events, VerifyMode::kExits);
  gate.on_exit(ExitReason::kIo, 0x1000, std::nullopt);
  gate.on_port_read(0x60, 1, 0x1c);
  gate.on_exit(ExitReason::kMmio, 0x1002, std::nullopt);
  gate.on_mmio_read(0xfed00000, 4, 7);
  gate.on_exit(ExitReason::kMsrRead, 0x1004, std::nullopt);
  gate.on_msr_read(0x1a0, 0x1801);
  gate.on_guest_exit(1);
  EXPECT_EQ(gate.position(), 7u);
}

TEST(ReplayGate, ADifferentExitIsReportedWithItsIndexAndBothSides) {
  EventList events({ClockEvent{1}, exit_at(ExitReason::kIo, 0x1000)});
  ReplayGate gate(events, VerifyMode::kExits);
  gate.sample_clock();
  const std::string message =
      error_of([&] { gate.on_exit(ExitReason::kIo, 0x1004, std::nullopt); }, ExitCode::kDivergence);
  EXPECT_EQ(message, "replay diverged at event 1: the recording has exit io at rip 0x1000, the "
                     "replay exit io at rip 0x1004");
}

TEST(ReplayGate, AnEventOfAnotherKindIsReported) {
  EventList events({PortReadEvent{0x60, 1, 0x1c}});
  ReplayGate gate(events, VerifyMode::kExits);
  const std::string message = error_of([&] { gate.sample_clock(); }, ExitCode::kDivergence);
  EXPECT_EQ(message, "replay diverged at event 0: the recording has port read 0x60/1 = 0x1c, the "
                     "replay asked for the time");
}

TEST(ReplayGate, ADifferentValueOrStatusIsReported) {
  EventList events({MsrReadEvent{0x10, 5}, GuestExitEvent{1}});
  ReplayGate gate(events, VerifyMode::kExits);
  EXPECT_EQ(error_of([&] { gate.on_msr_read(0x10, 6); }, ExitCode::kDivergence),
            "replay diverged at event 0: the recording has rdmsr 0x10 = 0x5, the replay rdmsr "
            "0x10 = 0x6");
  EXPECT_EQ(error_of([&] { gate.on_guest_exit(3); }, ExitCode::kDivergence),
            "replay diverged at event 1: the recording has guest exit with status 1, the replay "
            "guest exit with status 3");
}

TEST(ReplayGate, RunningPastTheEndDiverges) {
  EventList events({});
  ReplayGate gate(events, VerifyMode::kExits);
  EXPECT_EQ(error_of([&] { gate.sample_clock(); }, ExitCode::kDivergence),
            "replay diverged at event 0: the recording has no more events, the replay asked for "
            "the time");
}

TEST(ReplayGate, ATraceCutShortEndsTheReplayAsBadInput) {
  EventList events({ClockEvent{1}}, "no footer (recording did not finish)");
  ReplayGate gate(events, VerifyMode::kExits);
  gate.sample_clock();
  EXPECT_EQ(error_of([&] { gate.sample_clock(); }, ExitCode::kBadInput),
            "trace ends early at event 1 (no footer (recording did not finish)); replayed up to "
            "there");
}

TEST(ReplayGate, InjectionsMatchByExitIndexOrInstructionCount) {
  InjectionEvent at_exit{0x20, InjectionKind::kAtExit, 12, 0, 0, 0};
  InjectionEvent at_icount{0x20, InjectionKind::kAtIcount, 300000, 0, 0, 0};
  EventList events({at_exit, at_icount, at_icount});
  ReplayGate gate(events, VerifyMode::kExits);
  gate.on_injection(0x20, 12, std::nullopt);
  gate.on_injection(0x20, 99, 300000);
  EXPECT_EQ(error_of([&] { gate.on_injection(0x20, 99, 300001); }, ExitCode::kDivergence),
            "replay diverged at event 2: the recording has interrupt vector 0x20 injected at "
            "instruction 300000, the replay interrupt vector 0x20 injected at instruction 300001");
}

TEST(ReplayGate, KicksAreAnnouncedThenVerified) {
  EventList events({KickEvent{0x2000, 0, 0xaa, 0xbb}, exit_at(ExitReason::kKicked, 0x2000)});
  ReplayGate gate(events, VerifyMode::kExits);
  EXPECT_TRUE(gate.tracks_kicks());
  const std::optional<KickPoint> kick = gate.next_kick();
  ASSERT_TRUE(kick);
  EXPECT_EQ(*kick, (KickPoint{0x2000, 0xaa, 0xbb}));
  EXPECT_EQ(gate.position(), 0u); // announcing consumes nothing
  gate.on_kick(*kick);
  EXPECT_FALSE(gate.next_kick()); // the next event is the kick's exit
  gate.on_exit(ExitReason::kKicked, 0x2000, std::nullopt);
}

TEST(ReplayGate, AKickWithOtherStateDiverges) {
  EventList events({KickEvent{0x2000, 0, 0xaa, 0xbb}});
  ReplayGate gate(events, VerifyMode::kExits);
  EXPECT_EQ(error_of(
                [&] {
                  gate.on_kick({0x2000, 0xaa, 0xbc});
                },
                ExitCode::kDivergence),
            "replay diverged at event 0: the recording has a kick at rip 0x2000 with other state, "
            "the replay a kick at rip 0x2000");
}

TEST(ReplayGate, RegisterHashesAreCheckedUnderFullVerification) {
  EventList events({ExitEvent{uint8_t(ExitReason::kIo), 0x1000}, RegisterHashEvent{0x1234}});
  ReplayGate gate(events, VerifyMode::kFull);
  EXPECT_TRUE(gate.on_exit(ExitReason::kIo, 0x1000, std::nullopt));
  EXPECT_EQ(error_of([&] { gate.on_register_hash(0x1235); }, ExitCode::kDivergence),
            "replay diverged at event 1: the recording has registers hashing to 0x1234, the "
            "replay registers hashing to 0x1235");
}

TEST(ReplayGate, SeekReturnsToACheckpointsPosition) {
  EventList events({ClockEvent{1}, ClockEvent{2}, ClockEvent{3}});
  ReplayGate gate(events, VerifyMode::kExits);
  gate.sample_clock();
  const ReplayGate::Cursor checkpoint = gate.cursor();
  gate.sample_clock();
  gate.seek(checkpoint);
  EXPECT_EQ(gate.position(), 1u);
  EXPECT_EQ(gate.sample_clock(), 2u);
  ReplayGate::Cursor beyond = checkpoint;
  beyond.event = 9;
  EXPECT_EQ(error_of([&] { gate.seek(beyond); }, ExitCode::kBadInput)
                .rfind("cannot return to trace "
                       "event 9",
                       0),
            0u);
}

TEST(ReplayGate, StopAtEventRequestsAStopOnceConsumed) {
  EventList events({ClockEvent{1}, ClockEvent{2}});
  ReplayGate gate(events, VerifyMode::kExits);
  gate.stop_at_event(2);
  gate.sample_clock();
  EXPECT_FALSE(gate.stop_requested());
  gate.sample_clock();
  EXPECT_TRUE(gate.stop_requested());
}

} // namespace
} // namespace rrvm::test
