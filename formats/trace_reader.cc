#include "formats/trace_reader.h"

#include <algorithm>
#include <zstd.h>

#include "formats/batch_codec.h"
#include "formats/crc32c.h"
#include "formats/trace_codec.h"
#include "formats/trace_container.h"
#include "vmm/error.h"

namespace rrvm {
namespace {

const uint64_t kMaxChunkStoredBytes = ZSTD_compressBound(kMaxChunkRawBytes);

std::string at(const char* what, size_t number, uint64_t offset) {
  return std::string(what) + " " + std::to_string(number) + " at offset " + std::to_string(offset);
}

std::string version(uint16_t major, uint16_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

} // namespace

TraceReader::TraceReader(const std::string& path) : TraceReader(File::open_read(path)) {}

TraceReader::TraceReader(File file)
    : file_(std::move(file)), dctx_(ZSTD_createDCtx(), ZSTD_freeDCtx) {
  if (!dctx_) throw Error(ExitCode::kInternal, "zstd: cannot create a decompression context");
  file_size_ = file_.size();
  read_header();
  if (!read_footer()) scan_chunks();
  for (const ChunkIndexEntry& chunk : chunks_)
    status_.events += chunk.event_count;
}

TraceReader::~TraceReader() = default;

void TraceReader::read_header() {
  auto bad = [&](const std::string& why) {
    return Error(ExitCode::kBadInput, file_.name() + ": " + why);
  };
  std::array<uint8_t, TracePreamble::kSize> preamble_bytes;
  if (!file_.read_at(0, preamble_bytes))
    throw bad("not an rrvm trace (" + std::to_string(file_size_) + " bytes)");
  TracePreamble preamble;
  if (auto why = decode_preamble(preamble_bytes, preamble)) throw bad(*why);
  if (preamble.major < kOldestTraceFormatMajor || preamble.major > kTraceFormatMajor)
    throw bad("trace format " + version(preamble.major, preamble.minor) +
              (preamble.major > kTraceFormatMajor ? " is newer than" : " is older than") +
              " the formats this rrvm reads (" + std::to_string(kOldestTraceFormatMajor) +
              ".x to " + version(kTraceFormatMajor, kTraceFormatMinor) + ")");

  const uint64_t offset = TracePreamble::kSize;
  std::array<uint8_t, FrameHeader::kSize> frame_bytes;
  if (!file_.read_at(offset, frame_bytes)) throw bad("header: file ends inside it");
  FrameHeader frame;
  if (auto why = decode_frame(frame_bytes, frame)) throw bad("header: " + *why);
  if (frame.tag != FrameTag::kHeader) throw bad("header: missing");
  if (frame.stored_size != frame.raw_size || frame.stored_size > kMaxHeaderBytes)
    throw bad("header: absurd size " + std::to_string(frame.stored_size));
  if (frame.stored_size > file_size_ - offset - FrameHeader::kSize)
    throw bad("header: file ends inside it");
  std::vector<uint8_t> payload(frame.stored_size);
  if (!file_.read_at(offset + FrameHeader::kSize, payload))
    throw bad("header: file ends inside it");
  if (!checksum_matches(payload, frame.payload_crc)) throw bad("header: checksum mismatch");
  if (auto why = decode_header(payload, header_)) throw bad("header: " + *why);
  data_start_ = offset + FrameHeader::kSize + frame.stored_size;
  data_end_ = file_size_;
}

// Uses the footer's chunk index if the trailer, the footer and the index are all sound; otherwise
// says why in status_.reason (scan_chunks() completes the message).
bool TraceReader::read_footer() {
  auto unusable = [&](const std::string& why) {
    status_.reason = why;
    return false;
  };
  if (file_size_ < data_start_ + TraceTrailer::kSize)
    return unusable("no footer (recording did not finish)");
  std::array<uint8_t, TraceTrailer::kSize> trailer_bytes;
  TraceTrailer trailer;
  if (!file_.read_at(file_size_ - TraceTrailer::kSize, trailer_bytes) ||
      decode_trailer(trailer_bytes, trailer))
    return unusable("no footer (recording did not finish)");

  const uint64_t end = file_size_ - TraceTrailer::kSize;
  const uint64_t offset = trailer.footer_offset;
  if (offset < data_start_ || offset > end || end - offset < FrameHeader::kSize)
    return unusable("footer unusable (trailer points outside the file)");
  std::array<uint8_t, FrameHeader::kSize> frame_bytes;
  FrameHeader frame;
  if (!file_.read_at(offset, frame_bytes)) return unusable("footer unusable (unreadable)");
  if (auto why = decode_frame(frame_bytes, frame))
    return unusable("footer unusable (" + *why + ")");
  if (frame.tag != FrameTag::kFooter || frame.stored_size != frame.raw_size ||
      frame.stored_size != end - offset - FrameHeader::kSize || frame.stored_size > kMaxFooterBytes)
    return unusable("footer unusable (bad frame)");
  std::vector<uint8_t> payload(frame.stored_size);
  if (!file_.read_at(offset + FrameHeader::kSize, payload))
    return unusable("footer unusable (unreadable)");
  if (!checksum_matches(payload, frame.payload_crc))
    return unusable("footer unusable (checksum mismatch)");
  TraceFooter footer;
  if (auto why = decode_footer(payload, footer)) return unusable("footer unusable (" + *why + ")");

  // The index must tile [data_start_, offset) with consecutive events.
  uint64_t next_event = 0;
  uint64_t min_offset = data_start_;
  for (size_t i = 0; i < footer.chunks.size(); ++i) {
    const ChunkIndexEntry& c = footer.chunks[i];
    if (c.first_event != next_event || c.event_count == 0 || c.offset < min_offset ||
        (i == 0 && c.offset != data_start_) || c.offset >= offset ||
        offset - c.offset < FrameHeader::kSize)
      return unusable("footer unusable (chunk index entry " + std::to_string(i) + " is wrong)");
    next_event += c.event_count;
    min_offset = c.offset + FrameHeader::kSize;
  }
  if (next_event != footer.total_events) return unusable("footer unusable (event total is wrong)");
  chunks_ = footer.chunks;
  footer_ = std::move(footer);
  data_end_ = offset;
  return true;
}

void TraceReader::scan_chunks() {
  const std::string no_footer = status_.reason;
  uint64_t offset = data_start_;
  uint64_t next_event = 0;
  for (size_t chunk = 0;; ++chunk) {
    auto stop = [&](const std::string& why) {
      status_.reason = no_footer + "; " + at("chunk", chunk, offset) + ": " + why;
    };
    if (offset == file_size_) {
      status_.reason = no_footer + "; file ends after " + std::to_string(chunk) +
                       " complete chunks at offset " + std::to_string(offset);
      return;
    }
    std::array<uint8_t, FrameHeader::kSize> frame_bytes;
    if (file_size_ - offset < FrameHeader::kSize) {
      stop("incomplete frame header (" + std::to_string(file_size_ - offset) + " of " +
           std::to_string(FrameHeader::kSize) + " bytes)");
      return;
    }
    FrameHeader frame;
    if (!file_.read_at(offset, frame_bytes)) return stop("unreadable");
    if (auto why = decode_frame(frame_bytes, frame)) return stop(*why);
    if (frame.tag == FrameTag::kFooter) {
      status_.every_event = true;
      return stop("footer without a valid trailer");
    }
    if (frame.tag != FrameTag::kChunk) return stop("unexpected frame");
    if (frame.first_event != next_event) return stop("starts at the wrong event");
    if (frame.event_count == 0 || frame.raw_size > kMaxChunkRawBytes ||
        frame.stored_size > kMaxChunkStoredBytes)
      return stop("absurd size");
    const uint64_t available = file_size_ - offset - FrameHeader::kSize;
    if (frame.stored_size > available)
      return stop("incomplete (needs " + std::to_string(frame.stored_size) + " bytes, file has " +
                  std::to_string(available) + ")");
    chunks_.push_back({offset, frame.first_event, frame.event_count});
    next_event += frame.event_count;
    offset += FrameHeader::kSize + frame.stored_size;
  }
}

void TraceReader::truncate(size_t chunk, const std::string& why) {
  status_.events = chunks_[chunk].first_event;
  status_.every_event = false;
  status_.reason = at("chunk", chunk, chunks_[chunk].offset) + ": " + why;
  chunks_.resize(chunk);
  loaded_chunk_ = kNone; // decoding may have left columns_ half-filled
  next_chunk_ = chunks_.size();
}

bool TraceReader::load_chunk(size_t chunk) {
  const ChunkIndexEntry entry = chunks_[chunk];
  auto fail = [&](const std::string& why) {
    truncate(chunk, why);
    return false;
  };
  std::array<uint8_t, FrameHeader::kSize> frame_bytes;
  FrameHeader frame;
  if (!file_.read_at(entry.offset, frame_bytes)) return fail("file ends inside the frame header");
  if (auto why = decode_frame(frame_bytes, frame)) return fail(*why);
  if (frame.tag != FrameTag::kChunk) return fail("not a chunk");
  if (frame.first_event != entry.first_event || frame.event_count != entry.event_count)
    return fail("frame disagrees with the chunk index");
  if (frame.raw_size > kMaxChunkRawBytes || frame.stored_size > kMaxChunkStoredBytes)
    return fail("absurd size");
  if (frame.stored_size > data_end_ - entry.offset - FrameHeader::kSize)
    return fail("incomplete (payload runs past the end of the chunks)");

  stored_.resize(frame.stored_size);
  if (!file_.read_at(entry.offset + FrameHeader::kSize, stored_))
    return fail("file ends inside the payload");
  if (!checksum_matches(stored_, frame.payload_crc)) return fail("payload checksum mismatch");
  if (ZSTD_getFrameContentSize(stored_.data(), stored_.size()) != frame.raw_size)
    return fail("bad zstd frame (content size disagrees with the frame header)");
  raw_.resize(frame.raw_size);
  const size_t n =
      ZSTD_decompressDCtx(dctx_.get(), raw_.data(), raw_.size(), stored_.data(), stored_.size());
  if (ZSTD_isError(n)) return fail(std::string("bad zstd frame (") + ZSTD_getErrorName(n) + ")");
  if (n != frame.raw_size) return fail("bad zstd frame (short)");
  if (auto why = decode_batch(raw_, entry.first_event, entry.event_count, columns_))
    return fail(*why);

  loaded_chunk_ = chunk;
  next_chunk_ = chunk + 1;
  cursor_ = 0;
  exits_end_ = 0;
  kind_cursor_.fill(0);
  serial_cursor_ = 0;
  return true;
}

bool TraceReader::next(Event& out) {
  if (loaded_chunk_ == kNone || cursor_ == columns_.size()) [[unlikely]]
    if (!load_next_events()) return false;
  const uint8_t kind = columns_.kinds[cursor_++];
  const uint32_t i = kind_cursor_[kind]++;
  ++position_;
  // The common case of a replay that checks every exit: an exit into a slot that held one, with
  // nothing to destroy, and no registers for the other kinds' cases to save.
  if (EventKind(kind) == EventKind::kExit) [[likely]] {
    if (auto* exit = std::get_if<ExitEvent>(&out)) {
      *exit = ExitEvent{columns_.exit_reasons[i], columns_.exit_rips[i]};
      return true;
    }
  }
  decode(EventKind(kind), i, out);
  return true;
}

ExitRun TraceReader::exit_run() {
  if (loaded_chunk_ == kNone) return {};
  // A run ends where it ends however far the cursor has moved into it: found once, so that a
  // caller that asks after every exit does not scan the rest of the run each time.
  if (exits_end_ <= cursor_) {
    const uint8_t* kinds = columns_.kinds.data();
    const size_t size = columns_.size();
    exits_end_ = cursor_;
    while (exits_end_ < size && kinds[exits_end_] == uint8_t(EventKind::kExit))
      ++exits_end_;
  }
  const size_t first = kind_cursor_[size_t(EventKind::kExit)];
  return {columns_.exit_reasons.data() + first, columns_.exit_rips.data() + first,
          exits_end_ - cursor_};
}

void TraceReader::skip_exits(size_t n) {
  cursor_ += n;
  kind_cursor_[size_t(EventKind::kExit)] += uint32_t(n);
  position_ += n;
}

bool TraceReader::load_next_events() {
  while (loaded_chunk_ == kNone || cursor_ == columns_.size()) {
    if (next_chunk_ >= chunks_.size() || !load_chunk(next_chunk_)) return false;
  }
  return true;
}

void TraceReader::decode(EventKind kind, uint32_t i, Event& out) {
  switch (kind) {
  case EventKind::kExit:
    out = ExitEvent{columns_.exit_reasons[i], columns_.exit_rips[i]};
    break;
  case EventKind::kClock:
    out = ClockEvent{columns_.clock_ns[i]};
    break;
  case EventKind::kPortRead:
    out = PortReadEvent{columns_.port_ports[i], columns_.port_sizes[i], columns_.port_values[i]};
    break;
  case EventKind::kMmioRead:
    out = MmioReadEvent{columns_.mmio_gpas[i], columns_.mmio_sizes[i], columns_.mmio_values[i]};
    break;
  case EventKind::kMsrRead:
    out = MsrReadEvent{columns_.msr_indexes[i], columns_.msr_values[i]};
    break;
  case EventKind::kInjection:
    out = columns_.injections[i];
    break;
  case EventKind::kSerialInput: {
    const uint8_t* bytes = columns_.serial_bytes.data() + serial_cursor_;
    serial_cursor_ += columns_.serial_lengths[i];
    SerialInputEvent input{{bytes, bytes + columns_.serial_lengths[i]}, std::nullopt};
    if (!columns_.serial_polls.empty()) input.poll = columns_.serial_polls[i];
    out = std::move(input);
    break;
  }
  case EventKind::kStatsSample:
    out = columns_.stats[i];
    break;
  case EventKind::kCheckpoint:
    out = CheckpointEvent{columns_.checkpoints[i]};
    break;
  case EventKind::kRegisterHash:
    out = RegisterHashEvent{columns_.register_hashes[i]};
    break;
  case EventKind::kGuestExit:
    out = GuestExitEvent{columns_.guest_exits[i]};
    break;
  case EventKind::kKick:
    out = columns_.kicks[i];
    break;
  case EventKind::kVerify:
    out = columns_.verifies[i];
    break;
  case EventKind::kClockTie:
    out = columns_.clock_ties[i];
    break;
  }
}

bool TraceReader::seek(uint64_t index) {
  if (index > status_.events) return false;
  if (chunks_.empty()) { // then index == 0
    position_ = 0;
    return true;
  }
  const auto after =
      std::upper_bound(chunks_.begin(), chunks_.end(), index,
                       [](uint64_t i, const ChunkIndexEntry& c) { return i < c.first_event; });
  const size_t chunk = size_t(after - chunks_.begin()) - 1;
  if (loaded_chunk_ != chunk && !load_chunk(chunk)) return false;
  cursor_ = 0;
  exits_end_ = 0;
  kind_cursor_.fill(0);
  serial_cursor_ = 0;
  for (uint64_t skip = index - chunks_[chunk].first_event; cursor_ < skip; ++cursor_) {
    const uint8_t kind = columns_.kinds[cursor_];
    if (EventKind(kind) == EventKind::kSerialInput)
      serial_cursor_ += columns_.serial_lengths[kind_cursor_[kind]];
    ++kind_cursor_[kind];
  }
  position_ = index;
  return true;
}

} // namespace rrvm
