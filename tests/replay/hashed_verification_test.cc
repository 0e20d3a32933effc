// --verify hashes end to end at the gates: a RecordGate logs only answers and verification events
// for a synthetic run of reports, a ReplayGate replays the same run from the trace file, and a
// report changed in the replay is found and pinned to the window that holds it.
#include <gtest/gtest.h>
#include <regex>
#include <unistd.h>

#include "formats/trace_reader.h"
#include "record/record_gate.h"
#include "replay/replay_gate.h"
#include "vmm/error.h"

namespace rrvm::test {
namespace {

constexpr uint64_t kExits = 20'000; // two reports each: the exit and a port read

std::string trace_file(const std::string& name) {
  return ::testing::TempDir() + "hashed_" + name + ".trace";
}

// Drives `gate` as the machine would through `exits` exits, each followed by a port read, an
// input poll and, every 100 exits, an injection: the exits and port reads folded where the gate
// lets the machine (report_exit, report_read). The report numbered `changed` (1-based; 0:
// none) has another value (rip, value read, vector).
void run_reports(Gate& gate, uint64_t exits, uint64_t changed = 0) {
  FoldedReports* folded = gate.folded_reports();
  EXPECT_NE(folded, nullptr);
  uint64_t reports = 0;
  auto value = [&](uint64_t v) { return ++reports == changed ? v + 1 : v; };
  for (uint64_t i = 0; i < exits; ++i) {
    if (report_exit(gate, folded, ExitReason::kIo, value(0x1000 + i % 7), i * 10))
      gate.on_register_hash(0xabc0000 + i);
    report_read<&ReportDigest::port_read, &Gate::on_port_read>(gate, folded, uint16_t(0x3fd),
                                                               uint8_t(1), uint32_t(value(0x60)));
    if (i % 100 == 99) gate.on_injection(uint8_t(value(0x20)), i, i * 10 + 1);
    uint8_t input[16];
    poll_input(gate, folded, input);
  }
}

// `batch_events`: a chunk per so many events, for a trace cut after one.
void record(const std::string& path, uint64_t exits, bool stopped = false,
            uint32_t batch_events = 2) {
  LiveGate host(/*read_stdin=*/false);
  RecordGate gate(host);
  TraceHeader header;
  header.machine.verify_mode = verify_mode_name(VerifyMode::kHashes);
  TraceWriter writer(path, header, {.batch_events = batch_events});
  gate.start(writer, VerifyMode::kHashes);
  run_reports(gate, exits);
  if (!stopped) gate.on_guest_exit(1);
  gate.finish(stopped);
  writer.finish();
}

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

TEST(HashedVerification, TheTraceHoldsOnlyChecksAndReplaysExactly) {
  const std::string path = trace_file("exact");
  record(path, kExits);
  TraceReader reader(path);
  ASSERT_TRUE(reader.footer());
  const auto& counts = reader.footer()->kind_counts;
  EXPECT_EQ(counts[size_t(EventKind::kExit)], 0u);
  EXPECT_EQ(counts[size_t(EventKind::kPortRead)], 0u);
  EXPECT_EQ(counts[size_t(EventKind::kInjection)], 0u);
  // 40,201 reports: two boundaries, the guest exit and the end.
  EXPECT_EQ(counts[size_t(EventKind::kVerify)], 3u);
  EXPECT_EQ(reader.footer()->total_events, 4u);

  TraceEventSource events(reader);
  ReplayGate gate(events, VerifyMode::kHashes);
  run_reports(gate, kExits);
  gate.on_guest_exit(1);
  EXPECT_EQ(gate.position(), 4u);
  unlink(path.c_str());
}

TEST(HashedVerification, AChangedReportIsPinnedToTheWindowThatHoldsIt) {
  const std::string path = trace_file("changed");
  record(path, kExits);
  // Port reads (2, 20,000, 33,000) and an exit (33,001: report 37 of the 201 of 100 exits).
  for (uint64_t changed : {uint64_t(2), uint64_t(20'000), uint64_t(33'000), uint64_t(33'001)}) {
    TraceReader reader(path);
    TraceEventSource events(reader);
    ReplayGate gate(events, VerifyMode::kHashes);
    const std::string message = error_of(
        [&] {
          run_reports(gate, kExits, changed);
          gate.on_guest_exit(1);
        },
        ExitCode::kDivergence);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(message, m,
                                  std::regex("lies after report ([0-9]+) \\(instruction [0-9]+\\), "
                                             "where the replay last matched, and by report "
                                             "([0-9]+) \\(instruction")))
        << message;
    const uint64_t after = std::stoull(m[1]), by = std::stoull(m[2]);
    EXPECT_LT(after, changed) << message;
    EXPECT_GE(by, changed) << message;
    EXPECT_LE(by - after, kVerifyReports + 3) << message; // one window (and the exit closing it)
    EXPECT_EQ(message.rfind("replay diverged at event ", 0), 0u) << message;
    EXPECT_NE(message.find("the replay's first report after the match was "), std::string::npos)
        << message;
  }
  unlink(path.c_str());
}

TEST(HashedVerification, AStoppedRecordingEndsTheReplayWhereItStopped) {
  const std::string path = trace_file("stopped");
  record(path, 500, /*stopped=*/true);
  TraceReader reader(path);
  TraceEventSource events(reader);
  ReplayGate gate(events, VerifyMode::kHashes);
  EXPECT_NE(
      error_of([&] { run_reports(gate, kExits); }, ExitCode::kStopped).find("where it was stopped"),
      std::string::npos);
  unlink(path.c_str());
}

// A stop request the machine sees right after an exit (Machine::run) comes after the exit's
// report and before its input poll: the replay ends there too, neither a poll early nor late.
TEST(HashedVerification, AStopBetweenAnExitAndItsPollEndsTheReplayThere) {
  const std::string path = trace_file("stopped_after_exit");
  {
    LiveGate host(/*read_stdin=*/false);
    RecordGate gate(host);
    TraceHeader header;
    header.machine.verify_mode = verify_mode_name(VerifyMode::kHashes);
    TraceWriter writer(path, header, {});
    gate.start(writer, VerifyMode::kHashes);
    run_reports(gate, 500);
    gate.on_exit(ExitReason::kIo, 0x1000 + 500 % 7, 5000);
    gate.finish(/*stopped=*/true);
    writer.finish();
  }
  TraceReader reader(path);
  TraceEventSource events(reader);
  ReplayGate gate(events, VerifyMode::kHashes);
  FoldedReports* folded = gate.folded_reports();
  uint64_t exits = 0;
  EXPECT_NE(error_of(
                [&] {
                  for (; exits < kExits; ++exits) {
                    report_exit(gate, folded, ExitReason::kIo, 0x1000 + exits % 7, exits * 10);
                    report_read<&ReportDigest::port_read, &Gate::on_port_read>(
                        gate, folded, uint16_t(0x3fd), uint8_t(1), uint32_t(0x60));
                    if (exits % 100 == 99) gate.on_injection(0x20, exits, exits * 10 + 1);
                    uint8_t input[16];
                    poll_input(gate, folded, input);
                  }
                },
                ExitCode::kStopped)
                .find("where it was stopped"),
            std::string::npos);
  EXPECT_EQ(exits, 500u); // in the 501st exit's report
  unlink(path.c_str());
}

TEST(HashedVerification, AKilledRecordingReplaysWhatItHoldsThenSaysWhereItEnds) {
  const std::string path = trace_file("killed");
  record(path, kExits, /*stopped=*/false, /*batch_events=*/1);
  // What a recorder killed after its first chunk leaves: the first boundary check, no footer.
  {
    TraceReader whole(path);
    ASSERT_TRUE(whole.footer());
    ASSERT_GE(whole.footer()->chunks.size(), 2u);
    ASSERT_EQ(truncate(path.c_str(), off_t(whole.footer()->chunks[1].offset)), 0);
  }
  TraceReader reader(path);
  TraceEventSource events(reader);
  ReplayGate gate(events, VerifyMode::kHashes);
  const std::string message = error_of([&] { run_reports(gate, kExits); }, ExitCode::kBadInput);
  EXPECT_EQ(message.rfind("trace ends early at event 1 (", 0), 0u) << message;
  EXPECT_NE(message.find("replayed up to there"), std::string::npos) << message;
  unlink(path.c_str());
}

TEST(HashedVerification, InputArrivesAtItsPoll) {
  EventList events({SerialInputEvent{{'h', 'i'}, 2}, VerifyEvent{VerifyKind::kEnd, 0, 0, 0, 0, 5}});
  ReplayGate gate(events, VerifyMode::kHashes);
  uint8_t input[8];
  // As the machine polls: answered by the gate only from the poll it asks for.
  auto poll = [&] { return poll_input(gate, gate.folded_reports(), input); };
  EXPECT_EQ(poll(), 0u);
  EXPECT_EQ(poll(), 0u);
  ASSERT_EQ(poll(), 2u);
  EXPECT_EQ(input[0], 'h');
  EXPECT_EQ(poll(), 0u);
  EXPECT_FALSE(gate.input_possible()); // the end comes next: nothing else arrived
}

TEST(HashedVerification, InputAfterATieArrivesAtItsPollToo) {
  // The replay plans the next input's poll whenever the looked-at event changes: here after an
  // input is taken and after a tie is answered.
  EventList events({SerialInputEvent{{'a'}, 1}, ClockTieEvent{0, 5, 65536, 0},
                    SerialInputEvent{{'b'}, 4}, VerifyEvent{VerifyKind::kEnd, 0, 0, 0, 0, 6}});
  ReplayGate gate(events, VerifyMode::kHashes);
  uint8_t input[8];
  // As the machine polls: answered by the gate only from the poll it asks for.
  auto poll = [&] { return poll_input(gate, gate.folded_reports(), input); };
  EXPECT_EQ(poll(), 0u);
  ASSERT_EQ(poll(), 1u);
  EXPECT_EQ(input[0], 'a');
  EXPECT_EQ(poll(), 0u);
  ASSERT_TRUE(gate.clock_tie(ClockTiePoint::kQuantum, 0, 0, 65536));
  EXPECT_EQ(poll(), 0u);
  ASSERT_EQ(poll(), 1u);
  EXPECT_EQ(input[0], 'b');
  EXPECT_EQ(poll(), 0u);
  EXPECT_FALSE(gate.input_possible());
}

} // namespace
} // namespace rrvm::test
