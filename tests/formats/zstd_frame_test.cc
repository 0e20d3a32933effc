// The trace's zstd frames: raw below kRawFrameBelowBytes, compressed above, and every one read
// back by libzstd and by the zstd command-line tool, the real decoder users have.
#include <cstdio>
#include <fstream>
#include <gtest/gtest.h>
#include <string>
#include <vector>

#include "formats/trace_header.h"
#include "formats/zstd_frame.h"
#include "tests/support/subprocess.h"
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
  const std::string path = test::unique_temp_path("frame.zst");
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(frame.data()), std::streamsize(frame.size()));
  const test::ProcessResult decompressed = test::run_process({"zstd", "-q", "-d", "-c", path});
  std::remove(path.c_str());
  EXPECT_EQ(decompressed.status, 0) << "zstd -d failed: " << decompressed.err;
  return {decompressed.out.begin(), decompressed.out.end()};
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
