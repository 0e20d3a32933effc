#include "formats/trace_container.h"

#include <cstring>

#include "formats/crc32c.h"

namespace rrvm {
namespace {

constexpr char kPreambleMagic[8] = {'R', 'R', 'V', 'M', 'T', 'R', 'C', '\n'};
constexpr uint32_t kTrailerMagic = 0x444e4552; // "REND"

template <typename T> void put(uint8_t* at, T value) {
  std::memcpy(at, &value, sizeof(T));
}

template <typename T> T get(const uint8_t* at) {
  T value;
  std::memcpy(&value, at, sizeof(T));
  return value;
}

bool crc_matches(std::span<const uint8_t> bytes) {
  const size_t body = bytes.size() - 4;
  return checksum_matches(bytes.first(body), get<uint32_t>(bytes.data() + body));
}

void seal(std::span<uint8_t> bytes) {
  const size_t body = bytes.size() - 4;
  put<uint32_t>(bytes.data() + body, crc32c(bytes.first(body)));
}

} // namespace

void encode_preamble(const TracePreamble& preamble, std::span<uint8_t, TracePreamble::kSize> out) {
  std::memcpy(out.data(), kPreambleMagic, sizeof kPreambleMagic);
  put<uint16_t>(out.data() + 8, preamble.major);
  put<uint16_t>(out.data() + 10, preamble.minor);
  seal(out);
}

std::optional<std::string> decode_preamble(std::span<const uint8_t, TracePreamble::kSize> in,
                                           TracePreamble& out) {
  if (std::memcmp(in.data(), kPreambleMagic, sizeof kPreambleMagic) != 0)
    return "not an rrvm trace (bad magic)";
  if (!crc_matches(in)) return "file preamble checksum mismatch";
  out.major = get<uint16_t>(in.data() + 8);
  out.minor = get<uint16_t>(in.data() + 10);
  return std::nullopt;
}

void encode_frame(const FrameHeader& frame, std::span<uint8_t, FrameHeader::kSize> out) {
  put<uint32_t>(out.data(), uint32_t(frame.tag));
  put<uint32_t>(out.data() + 4, frame.event_count);
  put<uint64_t>(out.data() + 8, frame.first_event);
  put<uint64_t>(out.data() + 16, frame.stored_size);
  put<uint64_t>(out.data() + 24, frame.raw_size);
  put<uint32_t>(out.data() + 32, frame.payload_crc);
  seal(out);
}

std::optional<std::string> decode_frame(std::span<const uint8_t, FrameHeader::kSize> in,
                                        FrameHeader& out) {
  if (!crc_matches(in)) return "frame header checksum mismatch";
  const uint32_t tag = get<uint32_t>(in.data());
  if (tag != uint32_t(FrameTag::kHeader) && tag != uint32_t(FrameTag::kChunk) &&
      tag != uint32_t(FrameTag::kFooter))
    return "unknown frame tag";
  out.tag = FrameTag(tag);
  out.event_count = get<uint32_t>(in.data() + 4);
  out.first_event = get<uint64_t>(in.data() + 8);
  out.stored_size = get<uint64_t>(in.data() + 16);
  out.raw_size = get<uint64_t>(in.data() + 24);
  out.payload_crc = get<uint32_t>(in.data() + 32);
  return std::nullopt;
}

void encode_trailer(const TraceTrailer& trailer, std::span<uint8_t, TraceTrailer::kSize> out) {
  put<uint64_t>(out.data(), trailer.footer_offset);
  put<uint32_t>(out.data() + 8, kTrailerMagic);
  seal(out);
}

std::optional<std::string> decode_trailer(std::span<const uint8_t, TraceTrailer::kSize> in,
                                          TraceTrailer& out) {
  if (get<uint32_t>(in.data() + 8) != kTrailerMagic) return "no trailer";
  if (!crc_matches(in)) return "trailer checksum mismatch";
  out.footer_offset = get<uint64_t>(in.data());
  return std::nullopt;
}

} // namespace rrvm
