#include "vmm/boot/payload_decompressor.h"

#include <cstring>
#include <lz4.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "vmm/error.h"

namespace rrvm {

namespace {

// Larger than any kernel's vmlinux; refuses sizes that would only exhaust host memory.
constexpr uint64_t kMaxUncompressedBytes = 1ull << 30;
// The LZ4 legacy frame, which the kernel's `lz4 -l` writes: blocks of at most 8 MiB.
constexpr uint32_t kLz4LegacyMagic = 0x184c2102;
constexpr size_t kLz4LegacyBlockMax = 8u << 20;

bool starts_with(std::span<const uint8_t> data, std::initializer_list<uint8_t> magic) {
  return data.size() >= magic.size() && std::equal(magic.begin(), magic.end(), data.begin());
}

uint32_t le32(const uint8_t* p) {
  uint32_t value;
  std::memcpy(&value, p, sizeof value);
  return value;
}

// Decompresses all of `in` into `out`, which has the expected size; returns the bytes produced.
size_t inflate_gzip(std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  z_stream stream{};
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) throw Error(ExitCode::kInternal, "zlib init");
  stream.next_in = const_cast<Bytef*>(in.data());
  stream.avail_in = static_cast<uInt>(in.size());
  stream.next_out = out.data();
  stream.avail_out = static_cast<uInt>(out.size());
  const int status = inflate(&stream, Z_FINISH);
  const size_t produced = out.size() - stream.avail_out;
  inflateEnd(&stream);
  return status == Z_STREAM_END ? produced : SIZE_MAX;
}

size_t decode_lzma(std::span<const uint8_t> in, std::vector<uint8_t>& out, bool xz) {
  lzma_stream stream = LZMA_STREAM_INIT;
  const lzma_ret init =
      xz ? lzma_stream_decoder(&stream, UINT64_MAX, 0) : lzma_alone_decoder(&stream, UINT64_MAX);
  if (init != LZMA_OK) throw Error(ExitCode::kInternal, "liblzma init");
  stream.next_in = in.data();
  stream.avail_in = in.size();
  stream.next_out = out.data();
  stream.avail_out = out.size();
  const lzma_ret status = lzma_code(&stream, LZMA_FINISH);
  const size_t produced = out.size() - stream.avail_out;
  lzma_end(&stream);
  return status == LZMA_STREAM_END ? produced : SIZE_MAX;
}

size_t decode_zstd(std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  const size_t produced = ZSTD_decompress(out.data(), out.size(), in.data(), in.size());
  return ZSTD_isError(produced) ? SIZE_MAX : produced;
}

size_t decode_lz4_legacy(std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  size_t at = 4, produced = 0; // past the magic
  while (at + 4 <= in.size()) {
    const uint32_t block = le32(in.data() + at);
    at += 4;
    if (block == kLz4LegacyMagic) continue; // a concatenated frame
    if (block > in.size() - at) return SIZE_MAX;
    const size_t room = std::min(kLz4LegacyBlockMax, out.size() - produced);
    const int n = LZ4_decompress_safe(reinterpret_cast<const char*>(in.data() + at),
                                      reinterpret_cast<char*>(out.data() + produced),
                                      static_cast<int>(block), static_cast<int>(room));
    if (n < 0) return SIZE_MAX;
    produced += static_cast<size_t>(n);
    at += block;
  }
  return at == in.size() ? produced : SIZE_MAX;
}

} // namespace

const char* payload_format_name(PayloadFormat format) {
  switch (format) {
  case PayloadFormat::kGzip:
    return "gzip";
  case PayloadFormat::kXz:
    return "xz";
  case PayloadFormat::kLzma:
    return "lzma";
  case PayloadFormat::kZstd:
    return "zstd";
  case PayloadFormat::kLz4:
    return "lz4";
  case PayloadFormat::kBzip2:
    return "bzip2";
  case PayloadFormat::kLzo:
    return "lzo";
  case PayloadFormat::kUnknown:
    break;
  }
  return "unknown";
}

PayloadFormat payload_format(std::span<const uint8_t> payload) {
  if (starts_with(payload, {0x1f, 0x8b})) return PayloadFormat::kGzip;
  if (starts_with(payload, {0xfd, '7', 'z', 'X', 'Z', 0x00})) return PayloadFormat::kXz;
  if (starts_with(payload, {0x5d, 0x00, 0x00})) return PayloadFormat::kLzma;
  if (starts_with(payload, {0x28, 0xb5, 0x2f, 0xfd})) return PayloadFormat::kZstd;
  if (starts_with(payload, {0x02, 0x21, 0x4c, 0x18})) return PayloadFormat::kLz4;
  if (starts_with(payload, {'B', 'Z', 'h'})) return PayloadFormat::kBzip2;
  if (starts_with(payload, {0x89, 'L', 'Z', 'O'})) return PayloadFormat::kLzo;
  return PayloadFormat::kUnknown;
}

std::optional<std::vector<uint8_t>> decompress_payload(std::span<const uint8_t> payload,
                                                       const std::string& path) {
  const PayloadFormat format = payload_format(payload);
  const char* name = payload_format_name(format);
  if (format == PayloadFormat::kBzip2 || format == PayloadFormat::kLzo ||
      format == PayloadFormat::kUnknown)
    return std::nullopt;
  if (payload.size() < 8)
    throw Error(ExitCode::kBadInput, path + ": compressed kernel is truncated");
  const uint32_t size = le32(payload.data() + payload.size() - 4);
  if (size == 0 || size > kMaxUncompressedBytes)
    throw Error(ExitCode::kBadInput, path + ": compressed kernel claims " + std::to_string(size) +
                                         " bytes uncompressed");
  // gzip's own trailer ends in the size; the other formats have it appended after their stream.
  const std::span<const uint8_t> stream =
      format == PayloadFormat::kGzip ? payload : payload.first(payload.size() - 4);
  std::vector<uint8_t> out(size);
  size_t produced;
  switch (format) {
  case PayloadFormat::kGzip:
    produced = inflate_gzip(stream, out);
    break;
  case PayloadFormat::kXz:
  case PayloadFormat::kLzma:
    produced = decode_lzma(stream, out, format == PayloadFormat::kXz);
    break;
  case PayloadFormat::kZstd:
    produced = decode_zstd(stream, out);
    break;
  default: // kLz4
    produced = decode_lz4_legacy(stream, out);
    break;
  }
  if (produced != size)
    throw Error(ExitCode::kBadInput, path + ": the " + std::string(name) +
                                         "-compressed kernel does not decompress to the " +
                                         std::to_string(size) + " bytes its size field says");
  return out;
}

} // namespace rrvm
