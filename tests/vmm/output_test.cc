// Outputs never overwrite inputs (or each other), and a failed write is an error naming the file.
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>

#include "tests/support/subprocess.h"

namespace rrvm::test {
namespace {

ProcessResult rrvm(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {rrvm_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv);
}

class OutputTest : public ::testing::Test {
protected:
  void SetUp() override {
    kernel_ = unique_temp_path("kernel.elf");
    std::filesystem::copy_file(guest_path("hello_multiboot.elf"), kernel_,
                               std::filesystem::copy_options::overwrite_existing);
    trace_ = unique_temp_path("hello.trace");
    ProcessResult r =
        rrvm({"record", "--engine", "emu", "-o", trace_, "--serial", "none", kernel_});
    ASSERT_EQ(r.status, 1) << r.err;
  }

  // The command is refused with one line naming both roles, and no file changes.
  void expect_refused(const std::vector<std::string>& args, const std::string& message) {
    const std::string kernel = read_file(kernel_), trace = read_file(trace_);
    ProcessResult r = rrvm(args);
    EXPECT_EQ(r.status, 64) << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("refusing to overwrite it"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
    EXPECT_EQ(read_file(kernel_), kernel);
    EXPECT_EQ(read_file(trace_), trace);
  }

  std::string kernel_;
  std::string trace_;
};

TEST_F(OutputTest, OutputsThatAreInputsAreRefused) {
  expect_refused({"record", "-o", kernel_, kernel_},
                 "-o " + kernel_ + " is the same file as KERNEL");
  expect_refused({"run", "--serial", "file:" + kernel_, kernel_}, "is the same file as KERNEL");
  expect_refused({"stats", "--plot", trace_, trace_},
                 "--plot " + trace_ + " is the same file as TRACE");
  expect_refused({"replay", "--serial", "file:" + trace_, trace_}, "is the same file as TRACE");
  expect_refused({"record", "-o", trace_, "--initrd", trace_, kernel_},
                 "-o " + trace_ + " is the same file as --initrd");
  expect_refused({"run", "--serial", "file:" + trace_, "--initrd", trace_, kernel_},
                 "is the same file as --initrd");
  // The same file by another name.
  const std::string link = unique_temp_path("kernel_link.elf");
  std::filesystem::remove(link);
  std::filesystem::create_symlink(kernel_, link);
  expect_refused({"record", "-o", link, kernel_}, "is the same file as KERNEL");
}

TEST_F(OutputTest, TwoOutputsThatAreOneFileAreRefused) {
  const std::string both = unique_temp_path("both");
  std::filesystem::remove(both);
  expect_refused({"record", "-o", both, "--serial", "file:" + both, kernel_},
                 "--serial file: " + both + " is the same file as -o " + both);
  EXPECT_FALSE(std::filesystem::exists(both));
}

TEST_F(OutputTest, SerialOutputToAFullDeviceIsAnIoError) {
  for (const char* command : {"run", "record"}) {
    std::vector<std::string> args = {command, "--engine", "emu", "--serial", "file:/dev/full"};
    if (std::string(command) == "record")
      args.insert(args.end(), {"-o", unique_temp_path("full.trace")});
    args.push_back(kernel_);
    ProcessResult r = rrvm(args);
    EXPECT_EQ(r.status, 76) << r.err;
    EXPECT_NE(r.err.find("serial output to /dev/full: No space left on device"), std::string::npos)
        << r.err;
  }
  ProcessResult replay = rrvm({"replay", "--serial", "file:/dev/full", trace_});
  EXPECT_EQ(replay.status, 76) << replay.err;
  EXPECT_NE(replay.err.find("/dev/full"), std::string::npos) << replay.err;
}

TEST_F(OutputTest, StatsDumpAndHelpToAFullDeviceAreIoErrors) {
  for (const std::string& command :
       {"stats " + trace_, "stats --json " + trace_, "dump " + trace_, std::string("help")}) {
    ProcessResult r = run_process({"sh", "-c", rrvm_binary() + " " + command + " > /dev/full"});
    EXPECT_EQ(r.status, 76) << command << ": " << r.err;
    EXPECT_NE(r.err.find("standard output: No space left on device"), std::string::npos)
        << command << ": " << r.err;
  }
}

TEST_F(OutputTest, PlotIsWrittenWhole) {
  const std::string svg = unique_temp_path("plot.svg");
  std::filesystem::remove(svg);
  ProcessResult r = rrvm({"stats", "--plot", svg, trace_});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(read_file(svg).find("</svg>"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(svg + ".partial"));
  ProcessResult full = rrvm({"stats", "--plot", "/dev/full", trace_});
  EXPECT_EQ(full.status, 76) << full.err;
}

} // namespace
} // namespace rrvm::test
