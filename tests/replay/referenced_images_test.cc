// `rrvm record --images reference`: the trace names the guest's files by absolute path and sha256
// instead of holding them, and a replay reads them from there, refusing a file that changed.
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <string>
#include <utility>
#include <vector>

#include "formats/trace_reader.h"
#include "replay/divergence_hint.h"
#include "tests/support/subprocess.h"
#include "vmm/sha256.h"

namespace rrvm::test {
namespace {

namespace fs = std::filesystem;

class ReferencedImageTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = unique_temp_path("images");
    fs::create_directories(dir_);
    kernel_ = dir_ + "/kernel.elf";
    fs::copy_file(guest_path("mixed_multiboot_small.elf"), kernel_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  ProcessResult record(const std::string& trace, const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {rrvm_binary(), "record", "-o", trace, "--engine", "emu"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(kernel_);
    return run_process(argv);
  }
  ProcessResult replay(const std::string& trace) {
    return run_process({rrvm_binary(), "replay", trace});
  }

  std::string dir_;
  std::string kernel_;
};

TEST_F(ReferencedImageTest, TheTraceNamesTheFileAndItsReplayReadsItThere) {
  const std::string referenced = dir_ + "/referenced.trace";
  const std::string embedded = dir_ + "/embedded.trace";
  // With --clock icount both recordings log the same events, so their traces differ only in the
  // header: a host-clock recording's ties and samples vary with the host's speed, and a short
  // chunk is stored raw (formats/zstd_frame.h), which passes such a variation on byte for byte.
  const ProcessResult recorded = record(referenced, {"--clock", "icount", "--images", "reference"});
  ASSERT_EQ(recorded.status, 1) << recorded.err;
  ASSERT_EQ(record(embedded, {"--clock", "icount"}).status, 1);

  TraceReader reader(referenced);
  ASSERT_EQ(reader.header().images.size(), 1u);
  const GuestImage& image = reader.header().images[0];
  EXPECT_TRUE(image.referenced);
  EXPECT_TRUE(image.zstd.empty());
  EXPECT_EQ(image.name, kernel_);
  EXPECT_EQ(image.original_size, fs::file_size(kernel_));
  // Referenced images came with format 3.1: an older reader must not take the trace for its own.
  EXPECT_GE(std::pair(reader.header().format_major, reader.header().format_minor),
            std::pair(uint16_t(3), uint16_t(1)));
  // The embedded trace holds the compressed kernel besides (give or take FlatBuffers' padding
  // and a field); the referenced one does not.
  TraceReader embedded_reader(embedded);
  EXPECT_FALSE(embedded_reader.header().images[0].referenced);
  EXPECT_NEAR(double(fs::file_size(referenced) + embedded_reader.header().images[0].zstd.size()),
              double(fs::file_size(embedded)), 32);

  const ProcessResult replayed = replay(referenced);
  EXPECT_EQ(replayed.status, 1) << replayed.err;
  EXPECT_EQ(replayed.out, recorded.out);
  EXPECT_FALSE(replayed.out.empty());
}

TEST_F(ReferencedImageTest, ARelativePathIsRecordedAbsolute) {
  const std::string trace = dir_ + "/relative.trace";
  const ProcessResult recorded =
      run_process({"/bin/sh", "-c",
                   "cd '" + dir_ + "' && exec '" + rrvm_binary() +
                       "' record -o relative.trace --engine emu --images reference kernel.elf"});
  ASSERT_EQ(recorded.status, 1) << recorded.err;
  EXPECT_EQ(TraceReader(trace).header().images[0].name, kernel_);
  EXPECT_EQ(replay(trace).status, 1); // from this process's own working directory
}

TEST_F(ReferencedImageTest, AChangedMissingOrResizedFileIsRefusedWithTheRecordedHash) {
  const std::string trace = dir_ + "/changed.trace";
  ASSERT_EQ(record(trace, {"--images", "reference"}).status, 1);
  const std::string recorded_hash =
      "sha256 " + sha256_hex(TraceReader(trace).header().images[0].sha256);
  auto expect_refused = [&](const std::string& why) {
    const ProcessResult replayed = replay(trace);
    EXPECT_EQ(replayed.status, 66) << replayed.err;
    EXPECT_EQ(replayed.err.rfind("rrvm: guest image ", 0), 0u) << replayed.err;
    EXPECT_NE(replayed.err.find(kernel_), std::string::npos) << replayed.err;
    EXPECT_NE(replayed.err.find(why), std::string::npos) << replayed.err;
    EXPECT_NE(replayed.err.find(recorded_hash), std::string::npos) << replayed.err;
    EXPECT_EQ(replayed.err.find('\n'), replayed.err.size() - 1) << replayed.err;
  };

  {
    // One byte of the symbol table: the guest would still run, the file is not the one recorded.
    const auto size = fs::file_size(kernel_);
    std::fstream file(kernel_, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(std::streamoff(size - 1));
    file.put('\x5a');
  }
  expect_refused("has changed since the recording");
  fs::resize_file(kernel_, fs::file_size(kernel_) + 1);
  expect_refused("has changed since the recording");
  fs::remove(kernel_);
  expect_refused("No such file or directory");
}

TEST_F(ReferencedImageTest, AMovedFileIsFoundInTheImageDirAndStillChecked) {
  const std::string trace = dir_ + "/moved.trace";
  const ProcessResult recorded = record(trace, {"--images", "reference"});
  ASSERT_EQ(recorded.status, 1) << recorded.err;
  const std::string elsewhere = dir_ + "/elsewhere";
  fs::create_directories(elsewhere);
  fs::rename(kernel_, elsewhere + "/kernel.elf");

  EXPECT_EQ(replay(trace).status, 66); // not at its recorded path any more
  ProcessResult replayed = run_process({rrvm_binary(), "replay", "--image-dir", elsewhere, trace});
  EXPECT_EQ(replayed.status, 1) << replayed.err;
  EXPECT_EQ(replayed.out, recorded.out);

  // The file found there is checked as the recorded one is.
  fs::resize_file(elsewhere + "/kernel.elf", fs::file_size(elsewhere + "/kernel.elf") - 1);
  replayed = run_process({rrvm_binary(), "replay", "--image-dir", elsewhere, trace});
  EXPECT_EQ(replayed.status, 66) << replayed.err;
  EXPECT_NE(replayed.err.find(elsewhere + "/kernel.elf has changed since the recording"),
            std::string::npos)
      << replayed.err;
}

TEST_F(ReferencedImageTest, AKvmDivergenceHintReadsAMovedKernelFromTheImageDir) {
  fs::copy_file(guest_path("rdtsc_long.elf"), kernel_, fs::copy_options::overwrite_existing);
  const std::string trace = dir_ + "/rdtsc.trace";
  ASSERT_EQ(record(trace, {"--images", "reference"}).status, 1);
  const std::string elsewhere = dir_ + "/elsewhere";
  fs::create_directories(elsewhere);
  fs::rename(kernel_, elsewhere + "/kernel.elf");

  TraceReader reader(trace);
  EXPECT_EQ(divergence_hint(reader.header(), "kvm", dir_), std::nullopt);
  const auto hint = divergence_hint(reader.header(), "kvm", elsewhere);
  ASSERT_TRUE(hint.has_value());
  EXPECT_NE(hint->find("the guest's code has RDTSC at 0x"), std::string::npos) << *hint;
}

TEST_F(ReferencedImageTest, TheDumpSaysTheImageIsNotInTheTrace) {
  const std::string trace = dir_ + "/dumped.trace";
  ASSERT_EQ(record(trace, {"--images", "reference"}).status, 1);
  const ProcessResult dumped = run_process({rrvm_binary(), "dump", "--count", "0", trace});
  EXPECT_EQ(dumped.status, 0) << dumped.err;
  EXPECT_NE(dumped.out.find("image 0: " + kernel_ + ", " + std::to_string(fs::file_size(kernel_)) +
                            " bytes (referenced, not in the trace)"),
            std::string::npos)
      << dumped.out;
}

TEST_F(ReferencedImageTest, AnImageDirThatIsNoDirectoryIsAUsageError) {
  const ProcessResult replayed =
      run_process({rrvm_binary(), "replay", "--image-dir", dir_ + "/none", dir_ + "/any.trace"});
  EXPECT_EQ(replayed.status, 64);
  EXPECT_EQ(replayed.err, "rrvm: --image-dir " + dir_ + "/none: not a directory\n");
}

TEST_F(ReferencedImageTest, AnUnknownStorageIsAUsageError) {
  const ProcessResult recorded = record(dir_ + "/bogus.trace", {"--images", "bogus"});
  EXPECT_EQ(recorded.status, 64);
  EXPECT_EQ(recorded.err, "rrvm: bad --images 'bogus': expected embed or reference\n");
}

} // namespace
} // namespace rrvm::test
