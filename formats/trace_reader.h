// Reads a trace, treating the file as hostile: every length is bounded, every checksum and
// FlatBuffer verified. Damage never throws once the header is read: the reader yields every event
// before the first bad chunk and says in status() where it stopped and why.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "formats/event_columns.h"
#include "formats/file.h"
#include "formats/trace_header.h"

struct ZSTD_DCtx_s;

namespace rrvm {

struct TraceStatus {
  // Events the reader can yield: all of them, or those before the damage.
  uint64_t events = 0;
  // Empty for a complete trace. Otherwise why it is truncated at `events`, e.g.
  // "chunk 3 at offset 196720: payload checksum mismatch" or "no footer (recording did not
  // finish); file ends after 2 complete chunks at offset 131200".
  std::string reason;
  // The footer is unusable but the chunks before its frame are all there: no event is missing,
  // only the index and the summary.
  bool every_event = false;
  bool complete() const { return reason.empty(); }
};

// Exits that come next in a row, as a chunk stores them: `count` reasons and rips.
struct ExitRun {
  const uint8_t* reasons = nullptr;
  const uint64_t* rips = nullptr;
  size_t count = 0;
};

class TraceReader {
public:
  // Throws Error(kBadInput) if the file is not a trace, its header is damaged or its major format
  // version differs (naming both versions); Error(kIo) on read failures.
  explicit TraceReader(const std::string& path);
  explicit TraceReader(File file);
  TraceReader(const TraceReader&) = delete;
  TraceReader& operator=(const TraceReader&) = delete;
  ~TraceReader();

  const TraceHeader& header() const { return header_; }
  // Absent for a killed recording (or an unusable footer; status() says which).
  const std::optional<TraceFooter>& footer() const { return footer_; }

  // The next event in order; false at the end of the readable events.
  bool next(Event& out);
  // The exits from the next event on that come in a row in the loaded chunk, without decoding
  // them (none when the next event is no exit or lies in a chunk not loaded yet). Valid until
  // the next call of next, seek or skip_exits.
  ExitRun exit_run();
  // Consumes the first `n` exits of exit_run()'s run, as `n` calls of next would.
  void skip_exits(size_t n);
  // Positions before event `index`. False if it is not readable: status() says why, and next()
  // yields nothing until a seek succeeds.
  bool seek(uint64_t index);
  uint64_t position() const { return position_; }

  // What is known so far: damage inside a chunk is found when the chunk is decoded, so a trace is
  // known complete only once next() has returned false.
  const TraceStatus& status() const { return status_; }

private:
  void read_header();
  bool read_footer();
  void scan_chunks();
  bool load_chunk(size_t chunk);
  // Loads chunks up to the next one that holds events; false at the end of the readable ones.
  [[gnu::noinline]] bool load_next_events();
  // Event `i` of its kind in columns_ into `out`.
  [[gnu::noinline]] void decode(EventKind kind, uint32_t i, Event& out);
  void truncate(size_t chunk, const std::string& why);

  File file_;
  uint64_t file_size_ = 0;
  uint64_t data_start_ = 0; // the first chunk's offset
  uint64_t data_end_ = 0;   // where chunks end (the footer, or the end of the file)
  TraceHeader header_;
  std::optional<TraceFooter> footer_;
  std::vector<ChunkIndexEntry> chunks_;
  TraceStatus status_;

  std::unique_ptr<ZSTD_DCtx_s, size_t (*)(ZSTD_DCtx_s*)> dctx_;
  std::vector<uint8_t> stored_;
  std::vector<uint8_t> raw_;
  EventColumns columns_;
  static constexpr size_t kNone = SIZE_MAX;
  size_t loaded_chunk_ = kNone; // the chunk in columns_
  size_t next_chunk_ = 0;       // loaded once columns_ is exhausted
  size_t cursor_ = 0;           // next event within columns_
  size_t exits_end_ = 0; // past the exits from cursor_ on, once exit_run found it (> cursor_)
  std::array<uint32_t, kEventKindCount> kind_cursor_{};
  size_t serial_cursor_ = 0;
  uint64_t position_ = 0;
};

} // namespace rrvm
