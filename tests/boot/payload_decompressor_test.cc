// Every compressor the kernel's build can use for a bzImage payload: the ones rrvm reads
// decompress to the original bytes; the others are left to the kernel.
#include <cstring>
#include <gtest/gtest.h>
#include <lz4.h>
#include <lzma.h>
#include <zstd.h>

#include "tests/boot/gzip.h"
#include "vmm/boot/payload_decompressor.h"
#include "vmm/error.h"

namespace rrvm {
namespace {

// Compressible, but not trivially: a vmlinux-sized pattern is not needed.
std::vector<uint8_t> sample(size_t size) {
  std::vector<uint8_t> bytes(size);
  uint32_t x = 12345;
  for (size_t i = 0; i < size; ++i) {
    x = x * 1103515245 + 12345;
    bytes[i] = static_cast<uint8_t>((x >> 16) % 7 + (i / 4096) % 3);
  }
  return bytes;
}

// As the kernel's build does: the uncompressed size appended, little-endian.
std::vector<uint8_t> with_size(std::vector<uint8_t> stream, size_t size) {
  const uint32_t le = static_cast<uint32_t>(size);
  stream.insert(stream.end(), reinterpret_cast<const uint8_t*>(&le),
                reinterpret_cast<const uint8_t*>(&le) + 4);
  return stream;
}

std::vector<uint8_t> xz(const std::vector<uint8_t>& in) {
  std::vector<uint8_t> out(in.size() + 4096);
  size_t n = 0;
  EXPECT_EQ(lzma_easy_buffer_encode(1, LZMA_CHECK_CRC32, nullptr, in.data(), in.size(), out.data(),
                                    &n, out.size()),
            LZMA_OK);
  out.resize(n);
  return with_size(out, in.size());
}

std::vector<uint8_t> lzma_alone(const std::vector<uint8_t>& in) {
  lzma_options_lzma options;
  lzma_lzma_preset(&options, 1);
  lzma_stream s = LZMA_STREAM_INIT;
  EXPECT_EQ(lzma_alone_encoder(&s, &options), LZMA_OK);
  std::vector<uint8_t> out(in.size() + 4096);
  s.next_in = in.data();
  s.avail_in = in.size();
  s.next_out = out.data();
  s.avail_out = out.size();
  EXPECT_EQ(lzma_code(&s, LZMA_FINISH), LZMA_STREAM_END);
  out.resize(s.total_out);
  lzma_end(&s);
  return with_size(out, in.size());
}

std::vector<uint8_t> zstd(const std::vector<uint8_t>& in) {
  std::vector<uint8_t> out(ZSTD_compressBound(in.size()));
  out.resize(ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3));
  return with_size(out, in.size());
}

// The legacy frame `lz4 -l` writes: a magic, then blocks of at most 8 MiB, each after its size.
std::vector<uint8_t> lz4_legacy(const std::vector<uint8_t>& in) {
  constexpr size_t kBlock = 8u << 20;
  std::vector<uint8_t> out = {0x02, 0x21, 0x4c, 0x18};
  for (size_t at = 0; at < in.size(); at += kBlock) {
    const int chunk = static_cast<int>(std::min(kBlock, in.size() - at));
    std::vector<char> block(LZ4_compressBound(chunk));
    const int n = LZ4_compress_default(reinterpret_cast<const char*>(in.data() + at), block.data(),
                                       chunk, static_cast<int>(block.size()));
    const uint32_t le = static_cast<uint32_t>(n);
    out.insert(out.end(), reinterpret_cast<const uint8_t*>(&le),
               reinterpret_cast<const uint8_t*>(&le) + 4);
    out.insert(out.end(), block.begin(), block.begin() + n);
  }
  return with_size(out, in.size());
}

struct Format {
  PayloadFormat format;
  std::vector<uint8_t> (*compress)(const std::vector<uint8_t>&);
};

TEST(PayloadDecompressorTest, ReadsEveryFormatRrvmSupports) {
  const std::vector<uint8_t> original = sample(300000);
  for (const Format& f :
       {Format{PayloadFormat::kGzip, test::gzip}, Format{PayloadFormat::kXz, xz},
        Format{PayloadFormat::kLzma, lzma_alone}, Format{PayloadFormat::kZstd, zstd},
        Format{PayloadFormat::kLz4, lz4_legacy}}) {
    SCOPED_TRACE(payload_format_name(f.format));
    const std::vector<uint8_t> payload = f.compress(original);
    EXPECT_EQ(payload_format(payload), f.format);
    const auto decompressed = decompress_payload(payload, "k");
    ASSERT_TRUE(decompressed);
    EXPECT_TRUE(*decompressed == original);
  }
}

TEST(PayloadDecompressorTest, ReadsLz4LegacyFramesOfSeveralBlocks) {
  const std::vector<uint8_t> original = sample((8u << 20) + 12345); // blocks are 8 MiB
  const auto decompressed = decompress_payload(lz4_legacy(original), "k");
  ASSERT_TRUE(decompressed);
  EXPECT_TRUE(*decompressed == original);
}

TEST(PayloadDecompressorTest, LeavesBzip2AndLzoToTheKernel) {
  const std::vector<uint8_t> bzip2 = {'B', 'Z', 'h', '9', 1, 2, 3, 4, 0x10, 0, 0, 0};
  const std::vector<uint8_t> lzo = {0x89, 'L', 'Z', 'O', 0, 1, 2, 3, 0x10, 0, 0, 0};
  EXPECT_EQ(payload_format(bzip2), PayloadFormat::kBzip2);
  EXPECT_EQ(payload_format(lzo), PayloadFormat::kLzo);
  EXPECT_FALSE(decompress_payload(bzip2, "k"));
  EXPECT_FALSE(decompress_payload(lzo, "k"));
}

TEST(PayloadDecompressorTest, RefusesCorruptDataAndAWrongSize) {
  const std::vector<uint8_t> original = sample(100000);
  std::vector<uint8_t> corrupt = xz(original);
  corrupt[corrupt.size() / 2] ^= 0xff;
  try {
    decompress_payload(corrupt, "k");
    ADD_FAILURE() << "corrupt xz accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kBadInput);
    EXPECT_NE(std::string(e.what()).find("does not decompress to the 100000 bytes"),
              std::string::npos)
        << e.what();
  }
  std::vector<uint8_t> wrong_size = zstd(original);
  wrong_size[wrong_size.size() - 4] ^= 1;
  EXPECT_THROW(decompress_payload(wrong_size, "k"), Error);
}

} // namespace
} // namespace rrvm
