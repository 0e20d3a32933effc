// The trace's zstd frames: raw below kRawFrameBelowBytes, compressed above, and every one read
// back by libzstd and by the zstd command-line tool, the real decoder users have.
#include <cstdio>
#include <fstream>
#include <gtest/gtest.h>
#include <string>
#include <unistd.h>
#include <vector>

#include "formats/trace_header.h"
#include "formats/zstd_frame.h"
#include "vmm/error.h"

namespace rrvm {
namespace {

std::vector<uint8_t> payload_of(size_t size) {
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; ++i)
    bytes[i] = uint8_t(i % 7 == 0 ? i : i / 64);
  return bytes;
}

std::vector<uint8_t> frame_of(const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> frame(ZstdFrameWriter::bound(payload.size()));
  frame.resize(ZstdFrameWriter(19).write(payload, frame));
  return frame;
}

// What `zstd -d` makes of `frame`.
std::vector<uint8_t> zstd_tool_decompress(const std::vector<uint8_t>& frame) {
  // One file per process: ctest runs the tests of this file side by side.
  const std::string path =
      ::testing::TempDir() + "rrvm_zstd_frame_test_" + std::to_string(getpid()) + ".zst";
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(frame.data()), std::streamsize(frame.size()));
  FILE* pipe = popen(("zstd -q -d -c " + path).c_str(), "r");
  std::vector<uint8_t> out;
  if (!pipe) return out;
  for (int c; (c = fgetc(pipe)) != EOF;)
    out.push_back(uint8_t(c));
  EXPECT_EQ(pclose(pipe), 0) << "zstd -d failed";
  std::remove(path.c_str());
  return out;
}

TEST(ZstdFrameTest, SmallPayloadsAreStoredRawAndReadByLibzstdAndTheZstdTool) {
  for (size_t size : {0, 1, 24, 255, 256, 257, 1000, int(kRawFrameBelowBytes) - 1}) {
    const std::vector<uint8_t> payload = payload_of(size);
    const std::vector<uint8_t> frame = frame_of(payload);
    EXPECT_LE(frame.size(), size + 10) << size << " bytes";
    ASSERT_EQ(ZSTD_getFrameContentSize(frame.data(), frame.size()), size);
    std::vector<uint8_t> out(size);
    EXPECT_EQ(ZSTD_decompress(out.data(), out.size(), frame.data(), frame.size()), size);
    EXPECT_EQ(out, payload) << size << " bytes";
    EXPECT_EQ(zstd_tool_decompress(frame), payload) << size << " bytes";
  }
}

TEST(ZstdFrameTest, LargerPayloadsAreCompressed) {
  for (size_t size : {kRawFrameBelowBytes, size_t(100'000)}) {
    const std::vector<uint8_t> payload = payload_of(size);
    const std::vector<uint8_t> frame = frame_of(payload);
    EXPECT_LT(frame.size(), size / 2) << size << " bytes";
    EXPECT_EQ(zstd_tool_decompress(frame), payload) << size << " bytes";
  }
}

TEST(ZstdFrameTest, RefusesABufferTooSmall) {
  const std::vector<uint8_t> payload = payload_of(24);
  std::vector<uint8_t> frame(24);
  EXPECT_THROW(ZstdFrameWriter(3).write(payload, frame), Error);
}

TEST(ZstdFrameTest, ATinyGuestImageRoundTripsThroughItsRawFrame) {
  const std::vector<uint8_t> code = payload_of(24);
  const GuestImage image = GuestImage::from_bytes("loop.bin", code, 16, {});
  EXPECT_LE(image.zstd.size(), code.size() + 10);
  EXPECT_EQ(image.bytes(""), code);
}

} // namespace
} // namespace rrvm
