// A damaged trace must yield exactly its intact prefix and say why it stops, never crash.
#include <gtest/gtest.h>

#include <cstring>
#include <unistd.h>
#include <zstd.h>

#include "formats/crc32c.h"
#include "formats/trace_codec.h"
#include "formats/trace_container.h"
#include "formats/trace_reader.h"
#include "tests/formats/trace_test_util.h"

namespace rrvm {
namespace {

using Bytes = std::vector<uint8_t>;

// Where things are in an intact trace.
struct Layout {
  uint64_t data_start = 0;
  std::vector<ChunkIndexEntry> chunks;
  std::vector<uint64_t> chunk_ends;
  uint64_t footer_offset = 0;
};

class TraceDamage : public ::testing::Test {
protected:
  void SetUp() override {
    events_ = test::sample_events(60);
    const std::string path =
        ::testing::TempDir() + "rrvm_damage_" + std::to_string(getpid()) + ".trace";
    test::write_sample_trace(path, events_, 8);
    bytes_ = test::read_bytes(path);
    unlink(path.c_str());

    TraceReader reader(test::memory_file(bytes_));
    layout_.chunks = reader.footer()->chunks;
    layout_.data_start = layout_.chunks.front().offset;
    uint64_t trailer_offset;
    std::memcpy(&trailer_offset, bytes_.data() + bytes_.size() - TraceTrailer::kSize, 8);
    layout_.footer_offset = trailer_offset;
    for (size_t i = 0; i < layout_.chunks.size(); ++i)
      layout_.chunk_ends.push_back(i + 1 < layout_.chunks.size() ? layout_.chunks[i + 1].offset
                                                                 : layout_.footer_offset);
  }

  // Opens `bytes` and checks the reader's promise: either a clean Error, or a prefix of the
  // events whose length status() reports. Events from `unchecked_from` on may differ (damage
  // behind valid checksums is undetectable). Returns how many events it read, or -1 on Error.
  int64_t check_prefix(const Bytes& bytes, const std::string& what,
                       size_t unchecked_from = SIZE_MAX) {
    std::optional<TraceReader> reader;
    try {
      reader.emplace(test::memory_file(bytes));
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kBadInput) << what << ": " << e.what();
      return -1;
    }
    Event e;
    size_t n = 0;
    while (reader->next(e)) {
      if (n >= events_.size() || (n < unchecked_from && !(e == events_[n]))) {
        ADD_FAILURE() << what << ": event " << n << " differs";
        return int64_t(n);
      }
      ++n;
    }
    EXPECT_EQ(reader->status().events, n) << what;
    EXPECT_EQ(reader->status().complete(), reader->status().reason.empty()) << what;
    return int64_t(n);
  }

  size_t chunk_containing(uint64_t offset) const {
    for (size_t i = 0; i < layout_.chunks.size(); ++i)
      if (offset >= layout_.chunks[i].offset && offset < layout_.chunk_ends[i]) return i;
    return SIZE_MAX;
  }

  std::vector<Event> events_;
  Bytes bytes_;
  Layout layout_;
};

TEST_F(TraceDamage, TruncationAtEveryByteKeepsTheCompletePrefix) {
  ASSERT_GE(layout_.chunks.size(), 5u);
  for (size_t length = 0; length < bytes_.size(); ++length) {
    const Bytes cut(bytes_.begin(), bytes_.begin() + ptrdiff_t(length));
    const int64_t n = check_prefix(cut, "length " + std::to_string(length));
    if (length < layout_.data_start) {
      EXPECT_EQ(n, -1) << length;
      continue;
    }
    uint64_t complete_events = 0;
    for (size_t i = 0; i < layout_.chunks.size(); ++i)
      if (layout_.chunk_ends[i] <= length) complete_events += layout_.chunks[i].event_count;
    EXPECT_EQ(n, int64_t(complete_events)) << "length " << length;
  }
  EXPECT_EQ(check_prefix(bytes_, "whole"), int64_t(events_.size()));
}

TEST_F(TraceDamage, TruncationMessageNamesChunkAndOffset) {
  const ChunkIndexEntry& third = layout_.chunks[2];
  const Bytes cut(bytes_.begin(), bytes_.begin() + ptrdiff_t(third.offset + 45));
  TraceReader reader(test::memory_file(cut));
  EXPECT_EQ(reader.status().events, third.first_event);
  EXPECT_NE(reader.status().reason.find("chunk 2 at offset " + std::to_string(third.offset)),
            std::string::npos)
      << reader.status().reason;
  EXPECT_NE(reader.status().reason.find("incomplete"), std::string::npos);
}

TEST_F(TraceDamage, BitFlipAnywhereStopsAtTheDamagedChunk) {
  for (size_t offset = 0; offset < bytes_.size(); ++offset) {
    Bytes damaged = bytes_;
    damaged[offset] ^= uint8_t(1u << (offset % 8));
    const std::string what = "flip at " + std::to_string(offset);
    const int64_t n = check_prefix(damaged, what);
    if (offset < layout_.data_start) {
      EXPECT_EQ(n, -1) << what; // preamble and header are covered by checksums
    } else if (const size_t chunk = chunk_containing(offset); chunk != SIZE_MAX) {
      EXPECT_EQ(n, int64_t(layout_.chunks[chunk].first_event)) << what;
    } else {
      EXPECT_EQ(n, int64_t(events_.size())) << what; // footer or trailer: scanning still works
    }
  }
}

TEST_F(TraceDamage, EveryBitOfEveryChunk) {
  for (size_t chunk = 0; chunk < layout_.chunks.size(); ++chunk) {
    for (uint64_t offset = layout_.chunks[chunk].offset; offset < layout_.chunk_ends[chunk];
         ++offset) {
      for (int bit = 0; bit < 8; ++bit) {
        Bytes damaged = bytes_;
        damaged[offset] ^= uint8_t(1u << bit);
        TraceReader reader(test::memory_file(damaged));
        Event e;
        uint64_t n = 0;
        while (reader.next(e))
          ++n;
        ASSERT_EQ(n, layout_.chunks[chunk].first_event) << offset << " bit " << bit;
        EXPECT_NE(reader.status().reason.find("chunk " + std::to_string(chunk) + " at offset"),
                  std::string::npos)
            << reader.status().reason;
      }
    }
  }
}

// Damage behind a valid checksum reaches zstd and the FlatBuffers verifier. Chunk 1 holds the
// verification struct vector and serial input polls, chunk 2 the injection and stats struct
// vectors, chunk 3 the kick and clock tie struct vectors.
TEST_F(TraceDamage, CorruptBatchBehindValidChecksums) {
  ASSERT_TRUE(std::holds_alternative<VerifyEvent>(events_[13])); // events 8-15 are chunk 1
  // Events 24-31 are chunk 3, which holds the kick and clock tie struct vectors.
  ASSERT_TRUE(std::holds_alternative<KickEvent>(events_[28]));
  ASSERT_TRUE(std::holds_alternative<ClockTieEvent>(events_[29]));
  for (const size_t chunk : {size_t(1), size_t(2), size_t(3)}) {
    const ChunkIndexEntry entry = layout_.chunks[chunk];
    const Bytes prefix(bytes_.begin(), bytes_.begin() + ptrdiff_t(entry.offset));
    FrameHeader frame;
    ASSERT_FALSE(decode_frame(std::span<const uint8_t, FrameHeader::kSize>(
                                  bytes_.data() + entry.offset, FrameHeader::kSize),
                              frame));
    Bytes raw(frame.raw_size);
    ASSERT_EQ(ZSTD_decompress(raw.data(), raw.size(),
                              bytes_.data() + entry.offset + FrameHeader::kSize, frame.stored_size),
              raw.size());

    auto with_chunk = [&](const Bytes& raw_batch, FrameHeader f, bool compress) {
      Bytes payload = raw_batch;
      if (compress) {
        payload.resize(ZSTD_compressBound(raw_batch.size()));
        payload.resize(
            ZSTD_compress(payload.data(), payload.size(), raw_batch.data(), raw_batch.size(), 1));
        f.raw_size = raw_batch.size();
      }
      f.stored_size = payload.size();
      f.payload_crc = crc32c(payload);
      Bytes file = prefix;
      file.resize(prefix.size() + FrameHeader::kSize);
      encode_frame(f, std::span<uint8_t, FrameHeader::kSize>(file.data() + prefix.size(),
                                                             FrameHeader::kSize));
      file.insert(file.end(), payload.begin(), payload.end());
      return file;
    };

    EXPECT_EQ(check_prefix(with_chunk(raw, frame, true), "recompressed"),
              int64_t(entry.first_event + entry.event_count));
    for (size_t i = 0; i < raw.size(); ++i) {
      for (uint8_t mask : {0x01, 0x80, 0xff}) {
        Bytes bad = raw;
        bad[i] ^= mask;
        const int64_t n = check_prefix(with_chunk(bad, frame, true),
                                       "raw byte " + std::to_string(i), entry.first_event);
        EXPECT_GE(n, int64_t(entry.first_event));
      }
    }
    // Not zstd at all, and zstd whose content size disagrees with the frame.
    EXPECT_EQ(check_prefix(with_chunk(raw, frame, false), "raw payload"),
              int64_t(entry.first_event));
    Bytes shorter(raw.begin(), raw.end() - 8);
    EXPECT_EQ(check_prefix(with_chunk(shorter, frame, true), "short batch"),
              int64_t(entry.first_event));
  }
}

TEST_F(TraceDamage, OtherMajorVersionsAreRefusedNamingBoth) {
  for (uint16_t major : {uint16_t(kTraceFormatMajor + 1), uint16_t(0)}) {
    Bytes other = bytes_;
    encode_preamble({major, 3},
                    std::span<uint8_t, TracePreamble::kSize>(other.data(), TracePreamble::kSize));
    try {
      TraceReader reader(test::memory_file(other));
      FAIL() << "version " << major << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kBadInput);
      const std::string message = e.what();
      EXPECT_NE(message.find(std::to_string(major) + ".3"), std::string::npos) << message;
      EXPECT_NE(
          message.find(std::to_string(kTraceFormatMajor) + "." + std::to_string(kTraceFormatMinor)),
          std::string::npos)
          << message;
      EXPECT_NE(message.find(major > 1 ? "newer" : "older"), std::string::npos) << message;
    }
  }
}

TEST_F(TraceDamage, NewerMinorVersionIsRead) {
  Bytes other = bytes_;
  encode_preamble({kTraceFormatMajor, 9},
                  std::span<uint8_t, TracePreamble::kSize>(other.data(), TracePreamble::kSize));
  EXPECT_EQ(check_prefix(other, "minor 9"), int64_t(events_.size()));
}

TEST_F(TraceDamage, NotATrace) {
  EXPECT_EQ(check_prefix({}, "empty"), -1);
  EXPECT_EQ(check_prefix(Bytes(100, 'x'), "text"), -1);
  try {
    TraceReader reader("/nonexistent/trace");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kBadInput);
  }
}

TEST_F(TraceDamage, HugeBogusLengths) {
  const Bytes prefix(bytes_.begin(), bytes_.begin() + ptrdiff_t(layout_.data_start));
  auto with_frame = [&](const FrameHeader& f, size_t extra) {
    Bytes file = prefix;
    file.resize(prefix.size() + FrameHeader::kSize + extra);
    encode_frame(
        f, std::span<uint8_t, FrameHeader::kSize>(file.data() + prefix.size(), FrameHeader::kSize));
    return file;
  };
  const uint64_t huge = uint64_t{1} << 62;
  for (const auto& [f, extra, why] : std::vector<std::tuple<FrameHeader, size_t, std::string>>{
           {{FrameTag::kChunk, 5, 0, huge, 100, 0}, 100, "absurd size"},
           {{FrameTag::kChunk, 5, 0, 100, huge, 0}, 100, "absurd size"},
           {{FrameTag::kChunk, 5, 0, 1000, 1000, 0}, 100, "incomplete"},
           {{FrameTag::kChunk, 0, 0, 10, 10, 0}, 10, "absurd size"},
           {{FrameTag::kChunk, 5, 7, 10, 10, 0}, 10, "wrong event"},
           {{FrameTag::kHeader, 5, 0, 10, 10, 0}, 10, "unexpected frame"},
       }) {
    TraceReader reader(test::memory_file(with_frame(f, extra)));
    Event e;
    EXPECT_FALSE(reader.next(e));
    EXPECT_NE(reader.status().reason.find(why), std::string::npos) << reader.status().reason;
  }

  // A header claiming to be enormous.
  Bytes file(bytes_.begin(), bytes_.begin() + TracePreamble::kSize);
  file.resize(TracePreamble::kSize + FrameHeader::kSize + 64);
  encode_frame({FrameTag::kHeader, 0, 0, huge, huge, 0},
               std::span<uint8_t, FrameHeader::kSize>(file.data() + TracePreamble::kSize,
                                                      FrameHeader::kSize));
  EXPECT_EQ(check_prefix(file, "huge header"), -1);
}

TEST_F(TraceDamage, LyingFooterFallsBackToScanning) {
  TraceFooter footer;
  footer.chunks = layout_.chunks;
  footer.chunks[1].event_count = 1u << 31;
  footer.total_events = 0;
  for (const ChunkIndexEntry& c : footer.chunks)
    footer.total_events += c.event_count;
  const Bytes encoded = encode_footer(footer);

  Bytes file(bytes_.begin(), bytes_.begin() + ptrdiff_t(layout_.footer_offset));
  file.resize(file.size() + FrameHeader::kSize);
  encode_frame({FrameTag::kFooter, 0, 0, encoded.size(), encoded.size(), crc32c(encoded)},
               std::span<uint8_t, FrameHeader::kSize>(file.data() + layout_.footer_offset,
                                                      FrameHeader::kSize));
  file.insert(file.end(), encoded.begin(), encoded.end());
  file.resize(file.size() + TraceTrailer::kSize);
  encode_trailer({layout_.footer_offset},
                 std::span<uint8_t, TraceTrailer::kSize>(
                     file.data() + file.size() - TraceTrailer::kSize, TraceTrailer::kSize));
  TraceReader reader(test::memory_file(file));
  EXPECT_FALSE(reader.footer());
  EXPECT_NE(reader.status().reason.find("footer unusable"), std::string::npos)
      << reader.status().reason;
  EXPECT_EQ(check_prefix(file, "lying footer"), int64_t(events_.size()));
}

} // namespace
} // namespace rrvm
