#include <gtest/gtest.h>

#include <sstream>
#include <unistd.h>

#include "formats/trace_dump.h"
#include "formats/trace_writer.h"
#include "tests/formats/trace_test_util.h"

namespace rrvm {
namespace {

class TraceDump : public ::testing::Test {
protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "rrvm_dump_" + std::to_string(getpid()) + ".trace";
  }
  void TearDown() override { unlink(path_.c_str()); }

  // What the dump printed, then what it said was wrong.
  std::string dump(uint64_t from, uint64_t count, int expected_status = 0) {
    std::ostringstream out, problems;
    EXPECT_EQ(dump_trace(path_, from, count, out, problems), expected_status);
    EXPECT_EQ(problems.str().empty(), expected_status == 0) << problems.str();
    return out.str() + problems.str();
  }

  std::string path_;
};

TEST_F(TraceDump, HeaderEventsAndDisassembly) {
  {
    TraceWriter w(path_, test::sample_header(), {.batch_events = 3});
    w.exit(0, 0x1000); // in al, dx
    w.port_read(0x3f8, 1, 0x41);
    w.exit(0, 0x1001); // out 0x80, al
    w.exit(2, 0x1003); // hlt
    w.exit(2, 0x9000); // outside the image
    w.injection({0x20, InjectionKind::kAtExit, 4, 0, 0, 0});
    const uint8_t input[] = {'o', 'k', '\n'};
    w.serial_input(input, 9);
    w.kick({0x1003, 42, 0xabc, 0xdef}); // hlt
    w.guest_exit(1);
    w.verify({VerifyKind::kEnd, 5, 0x1234, 77, 0, 10});
    w.finish({{{"total number of vm exits", 4}}, 1});
  }
  const std::string text = dump(0, UINT64_MAX);
  EXPECT_NE(text.find("format " + std::to_string(kTraceFormatMajor) + "." +
                      std::to_string(kTraceFormatMinor)),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("engine emu"), std::string::npos) << text;
  EXPECT_NE(text.find("image 0: guest.bin, 8 bytes"), std::string::npos) << text;
  EXPECT_NE(text.find("footer: 10 events in 4 chunks"), std::string::npos) << text;
  EXPECT_NE(text.find("stat total number of vm exits"), std::string::npos) << text;
  EXPECT_NE(text.find("0 exit io rip=0x1000  in al, dx\n"), std::string::npos) << text;
  EXPECT_NE(text.find("1 port-read port=0x3f8 size=1 value=0x41\n"), std::string::npos) << text;
  EXPECT_NE(text.find("2 exit io rip=0x1001  out 0x80, al\n"), std::string::npos) << text;
  EXPECT_NE(text.find("3 exit hlt rip=0x1003  hlt\n"), std::string::npos) << text;
  EXPECT_NE(text.find("4 exit hlt rip=0x9000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("5 injection vector=0x20 at-exit exit=4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("6 serial-input 3 bytes \"ok\\x0a\" at poll 9\n"), std::string::npos) << text;
  EXPECT_NE(text.find(", 1 kick, 1 verify;"), std::string::npos) << text;
  EXPECT_NE(text.find("7 kick rip=0x1003 icount=42 state=0000000000000abc "
                      "dirty=0000000000000def  hlt\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("8 guest-exit status=1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("9 verify end reports=5 hash=0000000000001234 icount=77 polls=10\n"),
            std::string::npos)
      << text;

  const std::string window = dump(2, 2);
  EXPECT_NE(window.find("\n2 exit"), std::string::npos) << window;
  EXPECT_NE(window.find("\n3 exit"), std::string::npos) << window;
  EXPECT_EQ(window.find("\n1 "), std::string::npos) << window;
  EXPECT_EQ(window.find("\n4 "), std::string::npos) << window;

  EXPECT_NE(dump(11, 1, int(ExitCode::kUsage)).find("is past the end of the trace (10 events)"),
            std::string::npos);
  EXPECT_EQ(dump(10, 1).find("\n10 "), std::string::npos);
}

TEST_F(TraceDump, TruncatedTraceSaysWhere) {
  test::write_sample_trace(path_, test::sample_events(20), 4, /*finish=*/false);
  EXPECT_NE(dump(0, 5).find("footer: none; 20 readable events"), std::string::npos);
  const std::string text = dump(0, UINT64_MAX, int(ExitCode::kBadInput));
  EXPECT_NE(text.find("19 "), std::string::npos);
  EXPECT_NE(text.find("trace truncated at event 20: no footer"), std::string::npos) << text;
}

TEST_F(TraceDump, MissingTraceThrows) {
  std::ostringstream out;
  EXPECT_THROW(dump_trace("/nonexistent/trace", 0, 1, out, out), Error);
}

} // namespace
} // namespace rrvm
