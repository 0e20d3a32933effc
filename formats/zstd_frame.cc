#include "formats/zstd_frame.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "vmm/error.h"

namespace rrvm {
namespace {

// RFC 8878's frame: the magic number, a header that says "single segment" (no window
// descriptor) and holds the content size in 1 or 2 bytes, then one block.
constexpr uint8_t kMagic[4] = {0x28, 0xb5, 0x2f, 0xfd};
constexpr uint8_t kSingleSegment = 0x20;
constexpr uint8_t kTwoByteContentSize = 0x40; // Frame_Content_Size_flag 1: the size less 256
constexpr size_t kTwoByteContentSizeBias = 256;
// Block_Header: bit 0 Last_Block, bits 1-2 Block_Type (0: raw), bits 3-23 Block_Size.
constexpr uint32_t kLastBlock = 1;
constexpr size_t kBlockHeaderBytes = 3;
constexpr size_t kRawFrameOverhead = sizeof kMagic + 1 + 2 + kBlockHeaderBytes;

static_assert(kRawFrameBelowBytes <= kTwoByteContentSizeBias + 0xffff);

size_t write_raw_frame(std::span<const uint8_t> payload, std::span<uint8_t> out) {
  uint8_t* p = std::copy(std::begin(kMagic), std::end(kMagic), out.data());
  const size_t size = payload.size();
  if (size < kTwoByteContentSizeBias) {
    *p++ = kSingleSegment;
    *p++ = uint8_t(size);
  } else {
    *p++ = kSingleSegment | kTwoByteContentSize;
    *p++ = uint8_t(size - kTwoByteContentSizeBias);
    *p++ = uint8_t((size - kTwoByteContentSizeBias) >> 8);
  }
  const uint32_t block = uint32_t(size) << 3 | kLastBlock;
  *p++ = uint8_t(block);
  *p++ = uint8_t(block >> 8);
  *p++ = uint8_t(block >> 16);
  if (size > 0) std::memcpy(p, payload.data(), size);
  return size_t(p - out.data()) + size;
}

} // namespace

size_t ZstdFrameWriter::bound(size_t payload_bytes) {
  return std::max(ZSTD_compressBound(payload_bytes), payload_bytes + kRawFrameOverhead);
}

size_t ZstdFrameWriter::write(std::span<const uint8_t> payload, std::span<uint8_t> out) {
  if (out.size() < bound(payload.size()))
    throw Error(ExitCode::kInternal, "zstd frame buffer too small");
  if (payload.size() < kRawFrameBelowBytes) return write_raw_frame(payload, out);
  if (!context_) context_.reset(ZSTD_createCCtx());
  const size_t n = ZSTD_compressCCtx(context_.get(), out.data(), out.size(), payload.data(),
                                     payload.size(), level_);
  if (ZSTD_isError(n))
    throw Error(ExitCode::kInternal, std::string("zstd: ") + ZSTD_getErrorName(n));
  return n;
}

} // namespace rrvm
