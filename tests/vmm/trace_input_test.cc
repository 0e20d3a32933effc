// A trace is input like a kernel: damaged, forged or unreadable ones get one line on stderr
// naming the file and the problem, with the bad-input status 66; so do numbers and options.
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/trace_container.h"
#include "formats/trace_reader.h"
#include "formats/trace_writer.h"
#include "tests/formats/trace_test_util.h"
#include "tests/support/subprocess.h"

namespace rrvm::test {
namespace {

ProcessResult rrvm(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {rrvm_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv);
}

void expect_error(const ProcessResult& r, int status, const std::string& message) {
  EXPECT_EQ(r.status, status) << r.err;
  EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
}

std::string write_trace(const std::string& name, const TraceHeader& header) {
  const std::string path = unique_temp_path(name);
  TraceWriter writer(path, header);
  writer.exit(0, 0x1000);
  writer.finish();
  return path;
}

TEST(TraceInputTest, ForgedHeadersAreTraceErrors) {
  TraceHeader engine = sample_header();
  engine.machine.engine = "xyz";
  expect_error(rrvm({"replay", write_trace("engine.trace", engine)}), 66,
               "engine.trace: trace header: engine 'xyz' is not kvm or emu");
  TraceHeader cmdline = sample_header();
  cmdline.boot.command_line = std::string(5000, 'a');
  expect_error(rrvm({"replay", write_trace("cmdline.trace", cmdline)}), 66,
               "trace header: command line of 5000 bytes is longer than 3071");
  TraceHeader memory = sample_header();
  memory.machine.memory_bytes = 12345;
  expect_error(rrvm({"replay", write_trace("memory.trace", memory)}), 66,
               "trace header: memory size 12345 is not a multiple of 4 KiB");
}

TEST(TraceInputTest, FifoIsNotATrace) {
  const std::string fifo = unique_temp_path("fifo");
  unlink(fifo.c_str());
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  for (const char* command : {"replay", "dump", "stats"})
    expect_error(rrvm({command, fifo}), 66, fifo + ": not a regular file (a pipe, FIFO or device)");
  unlink(fifo.c_str());
}

class DamagedTraceTest : public ::testing::Test {
protected:
  void SetUp() override {
    path_ = unique_temp_path("damaged.trace");
    write_sample_trace(path_, sample_events(40), 10, /*finish=*/true);
    bytes_ = read_bytes(path_);
  }
  void write(const std::vector<uint8_t>& bytes) const {
    std::ofstream(path_, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  }

  std::string path_;
  std::vector<uint8_t> bytes_;
};

TEST_F(DamagedTraceTest, DumpSaysWhyOnStderr) {
  ProcessResult past = rrvm({"dump", "--from", "1000", path_});
  expect_error(past, 64, path_ + ": --from 1000 is past the end of the trace (40 events)");
  write(std::vector<uint8_t>(bytes_.begin(), bytes_.begin() + ptrdiff_t(bytes_.size() / 2)));
  ProcessResult cut = rrvm({"dump", path_});
  expect_error(cut, 66, path_ + ": trace truncated at event ");
  EXPECT_NE(cut.out.find("footer: none"), std::string::npos) << cut.out;
}

TEST_F(DamagedTraceTest, StatsTellsADamagedFooterFromLostEvents) {
  // The footer's checksum: every event is still there.
  std::vector<uint8_t> footer = bytes_;
  footer[footer.size() - TraceTrailer::kSize - 1] ^= 0xff;
  write(footer);
  ProcessResult r = rrvm({"stats", path_});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("every event is there but the footer is damaged"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("did not finish"), std::string::npos) << r.err;
  ProcessResult dump = rrvm({"dump", path_});
  expect_error(dump, 0, path_ + ": every event is there but the footer is damaged");
  EXPECT_NE(dump.out.find("\n39 "), std::string::npos) << dump.out;

  // A chunk's payload: the events from there on are lost.
  write(bytes_);
  const uint64_t second_chunk = TraceReader(path_).footer()->chunks.at(1).offset;
  std::vector<uint8_t> chunk = bytes_;
  chunk[second_chunk + FrameHeader::kSize + 2] ^= 0xff;
  write(chunk);
  ProcessResult lost = rrvm({"stats", path_});
  EXPECT_EQ(lost.status, 66) << lost.err;
  EXPECT_NE(lost.err.find("events lost: chunk 1"), std::string::npos) << lost.err;
}

TEST(NumberTest, DecimalWithUnitsAndNoSigns) {
  const std::string trace = unique_temp_path("mem.trace");
  ProcessResult r = rrvm({"record", "--engine", "emu", "--mem", "010M", "--serial", "none", "-o",
                          trace, guest_path("hello_multiboot.elf")});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(rrvm({"dump", "--count", "0", trace}).out.find("memory 10485760 bytes"),
            std::string::npos);
  const std::string kernel = guest_path("hello_multiboot.elf");
  expect_error(rrvm({"run", "--mem", "-1", kernel}), 64, "bad --mem '-1'");
  expect_error(rrvm({"record", "-o", trace, "--until-fail", "-1", kernel}), 64,
               "bad --until-fail '-1': expected a whole number");
  expect_error(rrvm({"dump", "--count", "-1", trace}), 64, "bad --count '-1'");
  expect_error(rrvm({"run", "--kick-bound", "-1ms", kernel}), 64, "bad --kick-bound '-1ms'");
  expect_error(rrvm({"dump", "--from", "1K", trace}), 64, "bad --from '1K'");
  expect_error(rrvm({"replay", "--engine", "bogus", trace}), 64,
               "bad --engine 'bogus': expected kvm or emu");
}

TEST(HelpTest, EveryCommandIsListedAndHasItsOwnHelp) {
  ProcessResult help = rrvm({"help"});
  EXPECT_EQ(help.status, 0);
  for (const char* command : {"run", "record", "replay", "dump", "stats", "help", "version"}) {
    EXPECT_NE(help.out.find(std::string("\n  ") + command + " "), std::string::npos) << command;
  }
  const std::vector<std::pair<std::string, std::string>> options = {{"run", "--mem SIZE"},
                                                                    {"record", "--until-fail"},
                                                                    {"replay", "--engine KIND"},
                                                                    {"dump", "--from N"},
                                                                    {"stats", "--plot FILE.svg"}};
  for (const auto& [command, option] : options) {
    ProcessResult r = rrvm({command, "--help"});
    EXPECT_EQ(r.status, 0) << command << r.err;
    EXPECT_TRUE(r.err.empty()) << r.err;
    EXPECT_NE(r.out.find(option), std::string::npos) << command << ":\n" << r.out;
  }
}

} // namespace
} // namespace rrvm::test
