#include <gtest/gtest.h>

#include <fstream>
#include <latch>
#include <thread>
#include <unistd.h>

#include "formats/trace_reader.h"
#include "formats/trace_writer.h"
#include "tests/formats/trace_test_util.h"
#include "vmm/sha256.h"

namespace rrvm {
namespace {

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "rrvm_formats_" + std::to_string(getpid()) + "_" + name;
}

std::vector<Event> read_all(TraceReader& reader) {
  std::vector<Event> events;
  Event e;
  while (reader.next(e))
    events.push_back(e);
  return events;
}

// The first "model name" of /proc/cpuinfo, read whole.
std::string first_model_name() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);)
    if (line.starts_with("model name"))
      return line.substr(line.find_first_not_of(" \t", line.find(':') + 1));
  return "unknown";
}

TEST(TraceRoundTrip, EveryEventKindAcrossChunkSizes) {
  const std::vector<Event> events = test::sample_events(1000);
  for (uint32_t batch : {1u, 7u, 13u, 64u, 1000u, 65536u}) {
    const std::string path = temp_path("kinds");
    test::write_sample_trace(path, events, batch);
    TraceReader reader(path);
    EXPECT_EQ(read_all(reader), events) << "batch " << batch;
    EXPECT_TRUE(reader.status().complete()) << reader.status().reason;
    EXPECT_EQ(reader.status().events, events.size());
    ASSERT_TRUE(reader.footer());
    EXPECT_EQ(reader.footer()->chunks.size(), (events.size() + batch - 1) / batch);
    unlink(path.c_str());
  }
}

TEST(TraceRoundTrip, TypedAppendersMatchGenericAppend) {
  const std::string path = temp_path("typed");
  {
    TraceWriter w(path, test::sample_header(), {.batch_events = 4});
    w.exit(1, 0x1000);
    w.clock(5);
    w.port_read(0x60, 1, 0xfa);
    w.mmio_read(0xfed00000, 8, 1);
    w.msr_read(0x10, 99);
    w.injection({8, InjectionKind::kAtKick, 0, 0x2000, 1, 2});
    const uint8_t input[] = {'h', 'i'};
    w.serial_input(input, 7);
    w.stats_sample({1, 2, 3, 4, 5, {0, 9}});
    w.checkpoint(9);
    w.register_hash(0x77);
    w.guest_exit(1);
    w.kick({0x2000, 77, 3, 4});
    w.verify({VerifyKind::kBoundary, 16384, 0xfeed, 99999, 0xbeef, 12});
    w.clock_tie({300000, 1800000, 6 * 65536, 1});
    EXPECT_EQ(w.event_count(), 14u);
    w.finish();
  }
  TraceReader reader(path);
  const std::vector<Event> expected = {
      ExitEvent{1, 0x1000},
      ClockEvent{5},
      PortReadEvent{0x60, 1, 0xfa},
      MmioReadEvent{0xfed00000, 8, 1},
      MsrReadEvent{0x10, 99},
      InjectionEvent{8, InjectionKind::kAtKick, 0, 0x2000, 1, 2},
      SerialInputEvent{{'h', 'i'}, 7},
      StatsSampleEvent{1, 2, 3, 4, 5, {0, 9}},
      CheckpointEvent{9},
      RegisterHashEvent{0x77},
      GuestExitEvent{1},
      KickEvent{0x2000, 77, 3, 4},
      VerifyEvent{VerifyKind::kBoundary, 16384, 0xfeed, 99999, 0xbeef, 12},
      ClockTieEvent{300000, 1800000, 6 * 65536, 1},
  };
  EXPECT_EQ(read_all(reader), expected);
  const TraceFooter& footer = *reader.footer();
  for (size_t k = 0; k < kEventKindCount; ++k)
    EXPECT_EQ(footer.kind_counts[k], 1u) << k;
  unlink(path.c_str());
}

TEST(TraceRoundTrip, HeaderAndFooter) {
  const std::string path = temp_path("header");
  test::write_sample_trace(path, test::sample_events(30), 8);
  TraceReader reader(path);
  const TraceHeader& h = reader.header();
  const TraceHeader expected = test::sample_header();
  EXPECT_EQ(h.format_major, kTraceFormatMajor);
  EXPECT_EQ(h.format_minor, kTraceFormatMinor);
  EXPECT_EQ(h.rrvm_version, RRVM_VERSION);
  EXPECT_GT(h.created_unix_ns, 0);
  EXPECT_FALSE(h.host_kernel.empty());
  EXPECT_EQ(h.host_cpu, first_model_name());
  EXPECT_EQ(h.machine.memory_bytes, expected.machine.memory_bytes);
  EXPECT_EQ(h.machine.engine, "emu");
  EXPECT_EQ(h.machine.clock_mode, "host");
  EXPECT_EQ(h.machine.rtc_base_unix_s, expected.machine.rtc_base_unix_s);
  EXPECT_EQ(h.machine.verify_mode, "full");
  EXPECT_EQ(h.machine.kick_bound_ns, expected.machine.kick_bound_ns);
  ASSERT_EQ(h.machine.cpuid.size(), 2u);
  EXPECT_EQ(h.machine.cpuid[1].function, 7u);
  EXPECT_TRUE(h.machine.cpuid[1].indexed);
  EXPECT_EQ(h.machine.cpuid[0].ebx, 0x756e6547u);
  EXPECT_EQ(h.boot.kernel_kind, KernelKind::kFlat);
  EXPECT_EQ(h.boot.flat_load_address, 0x1000u);
  EXPECT_EQ(h.boot.command_line, expected.boot.command_line);
  EXPECT_EQ(h.boot.serial.backend, "stdio");
  EXPECT_EQ(h.boot.serial.io_port, 0x3f8);
  EXPECT_EQ(h.boot.serial.irq, 4);
  ASSERT_EQ(h.images.size(), 1u);
  EXPECT_EQ(h.images[0].name, "guest.bin");
  EXPECT_EQ(h.images[0].mode_bits, 64);
  EXPECT_EQ(h.images[0].segments, expected.images[0].segments);
  EXPECT_EQ(h.images[0].sha256, expected.images[0].sha256);
  EXPECT_EQ(h.images[0].bytes(), expected.images[0].bytes());

  ASSERT_TRUE(reader.footer());
  const TraceFooter& f = *reader.footer();
  EXPECT_EQ(f.total_events, 30u);
  EXPECT_EQ(f.chunks.size(), 4u);
  EXPECT_EQ(f.summary.guest_exit_status, 3);
  ASSERT_EQ(f.summary.stats.size(), 2u);
  EXPECT_EQ(f.summary.stats[0].first, "total number of vm exits");
  EXPECT_EQ(f.summary.stats[0].second, 42u);
  uint64_t counted = 0;
  for (uint64_t c : f.kind_counts)
    counted += c;
  EXPECT_EQ(counted, 30u);
  unlink(path.c_str());
}

// Written by rrvm 0.1.0 before kicks existed: a 1.0 batch has no kicks field at all.
TEST(TraceRoundTrip, FormatOneZeroTraceIsRead) {
  TraceReader reader(RRVM_FORMATS_TEST_DATA "/format_1_0");
  EXPECT_EQ(reader.header().format_major, 1);
  EXPECT_EQ(reader.header().format_minor, 0);
  // Format 1 logged serial input without its poll.
  std::vector<Event> expected = test::sample_events(13);
  for (Event& e : expected)
    if (auto* input = std::get_if<SerialInputEvent>(&e)) input->poll.reset();
  EXPECT_EQ(read_all(reader), expected);
  EXPECT_TRUE(reader.status().complete()) << reader.status().reason;
  ASSERT_TRUE(reader.footer());
  EXPECT_EQ(reader.footer()->kind_counts[size_t(EventKind::kGuestExit)], 1u);
  EXPECT_EQ(reader.footer()->kind_counts[size_t(EventKind::kKick)], 0u);
}

TEST(TraceRoundTrip, DamagedImageIsRefused) {
  GuestImage image = test::sample_header().images[0];
  image.sha256[0] ^= 1;
  try {
    image.bytes();
    FAIL() << "a damaged image decompressed";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kBadInput);
    EXPECT_NE(std::string(e.what()).find("sha256"), std::string::npos);
  }
}

TEST(TraceRoundTrip, AReferencedImageKeepsItsPathAndHashAndReadsItsFile) {
  const std::string file = temp_path("referenced.bin");
  const std::vector<uint8_t> code = {0xf4, 0xeb, 0xfd};
  std::ofstream(file, std::ios::binary).write(reinterpret_cast<const char*>(code.data()), 3);
  TraceHeader header = test::sample_header();
  header.images = {GuestImage::referencing(file, code, 16, {{0x7c00, 0x7c00, 0, 3}})};
  const std::string path = temp_path("referenced");
  {
    TraceWriter writer(path, header);
    writer.finish({});
  }
  const GuestImage read = TraceReader(path).header().images.at(0);
  EXPECT_TRUE(read.referenced);
  EXPECT_TRUE(read.zstd.empty());
  EXPECT_EQ(read.name, file);
  EXPECT_EQ(read.original_size, 3u);
  EXPECT_EQ(read.sha256, sha256_of(code));
  EXPECT_EQ(read.segments, header.images[0].segments);
  EXPECT_EQ(read.bytes(), code);
  // An embedded image's flag reads back false, as it does from traces older than 3.1.
  EXPECT_FALSE(TraceReader(RRVM_FORMATS_TEST_DATA "/format_1_0").header().images.at(0).referenced);
  unlink(path.c_str());
  unlink(file.c_str());
}

TEST(TraceRoundTrip, SeeksToEveryEvent) {
  const std::vector<Event> events = test::sample_events(200);
  for (bool finish : {true, false}) {
    const std::string path = temp_path("seek");
    test::write_sample_trace(path, events, 16, finish);
    TraceReader reader(path);
    EXPECT_EQ(reader.footer().has_value(), finish);
    for (uint64_t i = events.size() + 1; i-- > 0;) { // backwards, the hard direction
      ASSERT_TRUE(reader.seek(i)) << i;
      EXPECT_EQ(reader.position(), i);
      Event e;
      if (i == events.size()) {
        EXPECT_FALSE(reader.next(e));
      } else {
        ASSERT_TRUE(reader.next(e)) << i;
        EXPECT_EQ(e, events[i]) << i;
      }
    }
    EXPECT_FALSE(reader.seek(events.size() + 1));
    ASSERT_TRUE(reader.seek(37));
    std::vector<Event> rest = read_all(reader);
    EXPECT_EQ(rest, std::vector<Event>(events.begin() + 37, events.end()));
    unlink(path.c_str());
  }
}

TEST(TraceRoundTrip, WriterDestroyedWithoutFinishLeavesReadableTrace) {
  const std::vector<Event> events = test::sample_events(100);
  const std::string path = temp_path("killed");
  test::write_sample_trace(path, events, 16, /*finish=*/false);
  TraceReader reader(path);
  EXPECT_FALSE(reader.footer());
  EXPECT_EQ(read_all(reader), events);
  EXPECT_FALSE(reader.status().complete());
  EXPECT_EQ(reader.status().events, events.size());
  EXPECT_NE(reader.status().reason.find("no footer"), std::string::npos) << reader.status().reason;
  unlink(path.c_str());
}

// Batches handed off while the writer's thread still builds the header land after it.
TEST(TraceRoundTrip, HeaderBuiltOnTheWriterThreadPrecedesEveryChunk) {
  const std::vector<Event> events = test::sample_events(200);
  const std::string path = temp_path("built");
  std::latch handed_off(1);
  std::thread::id builder_thread;
  {
    TraceWriter writer(path,
                       [&] {
                         builder_thread = std::this_thread::get_id();
                         handed_off.wait();
                         return test::sample_header();
                       },
                       {.batch_events = 7, .queued_batches = 2});
    for (size_t i = 0; i < events.size(); ++i) {
      writer.append(events[i]);
      if (i == 7) handed_off.count_down(); // one full batch is queued by now
    }
    writer.finish();
  }
  EXPECT_NE(builder_thread, std::this_thread::get_id());
  TraceReader reader(path);
  EXPECT_EQ(reader.header().images[0].sha256, test::sample_header().images[0].sha256);
  EXPECT_EQ(reader.header().boot.command_line, test::sample_header().boot.command_line);
  EXPECT_EQ(read_all(reader), events);
  EXPECT_TRUE(reader.status().complete()) << reader.status().reason;
  unlink(path.c_str());
}

TEST(TraceRoundTrip, HeaderThatFailsOnTheWriterThreadFailsFinishWithItsCode) {
  const std::string path = temp_path("unbuilt");
  TraceWriter writer(path, []() -> TraceHeader {
    throw Error(ExitCode::kBadInput, "guest images too large for a trace header");
  });
  writer.exit(1, 0x1000);
  try {
    writer.finish();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kBadInput);
    EXPECT_STREQ(e.what(), "guest images too large for a trace header");
  }
  unlink(path.c_str());
}

TEST(TraceRoundTrip, EmptyTrace) {
  const std::string path = temp_path("empty");
  test::write_sample_trace(path, {}, 16);
  TraceReader reader(path);
  Event e;
  EXPECT_FALSE(reader.next(e));
  EXPECT_TRUE(reader.status().complete());
  EXPECT_TRUE(reader.seek(0));
  EXPECT_FALSE(reader.seek(1));
  unlink(path.c_str());
}

TEST(TraceRoundTrip, ProducerOutrunningTheWriterThreadLosesNothing) {
  const std::string path = temp_path("volume");
  constexpr uint64_t kEvents = 2'000'000;
  {
    TraceWriter w(path, test::sample_header(), {.batch_events = 4096, .queued_batches = 1});
    for (uint64_t i = 0; i < kEvents; ++i) {
      if (i % 2)
        w.clock(i * 1000);
      else
        w.exit(uint8_t(i % 3), 0x1000 + (i % 64));
    }
    w.finish();
  }
  TraceReader reader(path);
  Event e;
  uint64_t i = 0;
  bool all_equal = true;
  for (; reader.next(e); ++i) {
    const Event expected =
        i % 2 ? Event(ClockEvent{i * 1000}) : Event(ExitEvent{uint8_t(i % 3), 0x1000 + (i % 64)});
    all_equal &= e == expected;
  }
  EXPECT_TRUE(all_equal);
  EXPECT_EQ(i, kEvents);
  EXPECT_TRUE(reader.status().complete());
  unlink(path.c_str());
}

TEST(TraceRoundTrip, LargestChunksStayWithinTheReadersLimits) {
  const std::string path = temp_path("largest");
  const std::vector<uint8_t> input(TraceWriter::kMaxSerialInputBytes, 'x');
  {
    TraceWriter w(path, test::sample_header(), {.batch_events = UINT32_MAX});
    for (int i = 0; i < 20; ++i)
      w.serial_input(input, uint64_t(i));
    for (uint64_t i = 0; i < 600'000; ++i)
      w.stats_sample({i, i, i, i, i, {}});
    w.finish();
  }
  TraceReader reader(path);
  Event e;
  uint64_t n = 0;
  while (reader.next(e))
    ++n;
  EXPECT_EQ(n, 600'020u);
  EXPECT_TRUE(reader.status().complete()) << reader.status().reason;
  unlink(path.c_str());
}

TEST(TraceRoundTrip, OversizedSerialInputIsACallerBug) {
  const std::string path = temp_path("serial");
  TraceWriter w(path, test::sample_header());
  const std::vector<uint8_t> big(TraceWriter::kMaxSerialInputBytes + 1);
  EXPECT_THROW(w.serial_input(big, 0), Error);
  unlink(path.c_str());
}

TEST(TraceRoundTrip, UnwritableFileIsAnIoError) {
  try {
    TraceWriter w("/nonexistent-dir/trace", test::sample_header());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kIo);
  }
  if (access("/dev/full", W_OK) == 0) {
    try {
      TraceWriter w("/dev/full", test::sample_header());
      FAIL();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kIo);
    }
  }
}

} // namespace
} // namespace rrvm
