// The byte layout around the FlatBuffers in a trace file:
//
//   preamble | frame(HEAD) header | frame(CHNK) chunk ... | frame(FOOT) footer | trailer
//
// Every frame carries its payload's length and CRC32C and a CRC32C of itself, so a reader can
// walk the chunks without a footer (a killed recording) and tell where and why a file stops
// making sense. All integers are little-endian.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace rrvm {

static_assert(std::endian::native == std::endian::little, "the trace layout is little-endian");

struct TracePreamble {
  uint16_t major = 0;
  uint16_t minor = 0;
  static constexpr size_t kSize = 16; // magic[8], major, minor, crc32c of the first 12 bytes
};

enum class FrameTag : uint32_t {
  kHeader = 0x44414548, // "HEAD": a TraceHeader FlatBuffer
  kChunk = 0x4b4e4843,  // "CHNK": a zstd frame holding an EventBatch FlatBuffer
  kFooter = 0x544f4f46, // "FOOT": a TraceFooter FlatBuffer
};

struct FrameHeader {
  FrameTag tag{};
  uint32_t event_count = 0; // chunks only
  uint64_t first_event = 0; // chunks only
  uint64_t stored_size = 0; // payload bytes that follow in the file
  uint64_t raw_size = 0;    // payload bytes after decompression
  uint32_t payload_crc = 0;
  static constexpr size_t kSize = 40; // the fields above, then a crc32c of the first 36 bytes
};

struct TraceTrailer {
  uint64_t footer_offset = 0;
  static constexpr size_t kSize = 16; // footer offset, magic, crc32c of the first 12 bytes
};

// Bounds that keep a hostile file from making the reader allocate without limit.
constexpr uint64_t kMaxHeaderBytes = uint64_t{1} << 30;    // holds the guest images
constexpr uint64_t kMaxChunkRawBytes = uint64_t{16} << 20; // above what a writer produces
constexpr uint64_t kMaxFooterBytes = uint64_t{256} << 20;
constexpr uint64_t kMaxImageBytes = uint64_t{1} << 30;

void encode_preamble(const TracePreamble& preamble, std::span<uint8_t, TracePreamble::kSize> out);
// Why the bytes are not a preamble, or nothing (and `out` is filled).
std::optional<std::string> decode_preamble(std::span<const uint8_t, TracePreamble::kSize> in,
                                           TracePreamble& out);

void encode_frame(const FrameHeader& frame, std::span<uint8_t, FrameHeader::kSize> out);
std::optional<std::string> decode_frame(std::span<const uint8_t, FrameHeader::kSize> in,
                                        FrameHeader& out);

void encode_trailer(const TraceTrailer& trailer, std::span<uint8_t, TraceTrailer::kSize> out);
std::optional<std::string> decode_trailer(std::span<const uint8_t, TraceTrailer::kSize> in,
                                          TraceTrailer& out);

} // namespace rrvm
