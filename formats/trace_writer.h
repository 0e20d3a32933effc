// Writes a trace. The vCPU thread only appends to an in-memory batch (a few stores per event);
// full batches go through a bounded queue to a background thread that encodes, compresses and
// writes them as chunks. That thread starts with the first hand-off, so a recording whose events
// fit one chunk (most --verify hashes recordings of a second or less) writes it at finish()
// without; or at once, when it is given the header to build (large guest images: the guest starts
// while they are hashed and compressed). A writer destroyed without finish() leaves a readable
// trace without a footer, like a killed recording.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "formats/bounded_queue.h"
#include "formats/event_columns.h"
#include "formats/file.h"
#include "formats/trace_header.h"
#include "vmm/error.h"

namespace rrvm {

class ChunkEncoder;

struct TraceWriterOptions {
  uint32_t batch_events = 64 * 1024; // events per chunk, at most kMaxBatchEvents
  size_t queued_batches = 4;         // full batches that may wait for the background thread
  int compression_level = 3;
};

class TraceWriter {
public:
  // Creates `path` and writes the header, stamped with the format and rrvm versions, the time
  // and the host. Throws Error(kIo), or Error(kBadInput) for images too large.
  TraceWriter(const std::string& path, TraceHeader header, TraceWriterOptions options = {});

  // Called once, on the background thread: it may read only what stays unchanged until finish()
  // (the guest's images do).
  using HeaderBuilder = std::function<TraceHeader()>;
  // Creates `path` (throws Error(kIo)) and starts the background thread, which builds, stamps
  // and writes the header before any chunk. A header that fails fails the next hand-off (an
  // append that fills a batch, end_chunk()) or finish().
  TraceWriter(const std::string& path, HeaderBuilder build_header, TraceWriterOptions options = {});
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;
  ~TraceWriter();

  // Appending throws Error(kIo) if the background thread failed to write an earlier chunk.
  void exit(uint8_t reason, uint64_t rip) {
    batch_->kinds.push_back(uint8_t(EventKind::kExit));
    batch_->exit_reasons.push_back(reason);
    batch_->exit_rips.push_back(rip);
    appended();
  }
  void clock(uint64_t ns) {
    batch_->kinds.push_back(uint8_t(EventKind::kClock));
    batch_->clock_ns.push_back(ns);
    appended();
  }
  void port_read(uint16_t port, uint8_t size, uint32_t value) {
    batch_->kinds.push_back(uint8_t(EventKind::kPortRead));
    batch_->port_ports.push_back(port);
    batch_->port_sizes.push_back(size);
    batch_->port_values.push_back(value);
    appended();
  }
  void mmio_read(uint64_t gpa, uint8_t size, uint64_t value) {
    batch_->kinds.push_back(uint8_t(EventKind::kMmioRead));
    batch_->mmio_gpas.push_back(gpa);
    batch_->mmio_sizes.push_back(size);
    batch_->mmio_values.push_back(value);
    appended();
  }
  void msr_read(uint32_t index, uint64_t value) {
    batch_->kinds.push_back(uint8_t(EventKind::kMsrRead));
    batch_->msr_indexes.push_back(index);
    batch_->msr_values.push_back(value);
    appended();
  }
  void injection(const InjectionEvent& injection) {
    batch_->kinds.push_back(uint8_t(EventKind::kInjection));
    batch_->injections.push_back(injection);
    appended();
  }
  // At most kMaxSerialInputBytes per event (more is a caller bug: Error(kInternal)); `poll`: the
  // input poll that returned them (SerialInputEvent).
  void serial_input(std::span<const uint8_t> bytes, uint64_t poll);
  void stats_sample(const StatsSampleEvent& sample) {
    batch_->kinds.push_back(uint8_t(EventKind::kStatsSample));
    batch_->stats.push_back(sample);
    appended();
  }
  void checkpoint(uint64_t id) {
    batch_->kinds.push_back(uint8_t(EventKind::kCheckpoint));
    batch_->checkpoints.push_back(id);
    appended();
  }
  void register_hash(uint64_t hash) {
    batch_->kinds.push_back(uint8_t(EventKind::kRegisterHash));
    batch_->register_hashes.push_back(hash);
    appended();
  }
  void guest_exit(int32_t status) {
    batch_->kinds.push_back(uint8_t(EventKind::kGuestExit));
    batch_->guest_exits.push_back(status);
    appended();
  }
  void kick(const KickEvent& kick) {
    batch_->kinds.push_back(uint8_t(EventKind::kKick));
    batch_->kicks.push_back(kick);
    appended();
  }
  void clock_tie(const ClockTieEvent& tie) {
    batch_->kinds.push_back(uint8_t(EventKind::kClockTie));
    batch_->clock_ties.push_back(tie);
    appended();
  }
  void verify(const VerifyEvent& verify) {
    batch_->kinds.push_back(uint8_t(EventKind::kVerify));
    batch_->verifies.push_back(verify);
    appended();
  }
  // A serial input without a poll (format 1's) is a caller bug: Error(kInternal).
  void append(const Event& event);

  // Hands the events appended so far to the background thread as a chunk of their own: a trace
  // with few events (--verify hashes) would otherwise keep them in memory, and lose them to a
  // killed recorder, for a long time.
  void end_chunk() {
    if (!batch_->empty()) flush();
  }

  // Events appended so far; the next event's index.
  uint64_t event_count() const { return first_event_ + batch_->size(); }

  // Writes the remaining events, the footer and the trailer. Throws Error(kIo).
  void finish(const TraceSummary& summary = {});

  static constexpr size_t kMaxSerialInputBytes = 64 * 1024;
  // Keeps every chunk below the size readers accept (kMaxChunkRawBytes), whatever its events.
  static constexpr uint32_t kMaxBatchEvents = 256 * 1024;

private:
  TraceWriter(File file, TraceWriterOptions options);
  void appended() {
    if (batch_->size() >= options_.batch_events) [[unlikely]]
      flush();
  }
  void flush();
  // With `build_header`, the thread writes the header first.
  void start_worker(HeaderBuilder build_header = {});
  void stop_worker();
  void run_worker(const HeaderBuilder& build_header);
  void write_header(TraceHeader header);
  void write_chunk(ChunkEncoder& encoder, const EventColumns& columns);
  // On the worker: what failed, reported to the vCPU thread at its next hand-off.
  void fail(ExitCode code, const std::string& message);
  void throw_if_failed() const;

  TraceWriterOptions options_;
  File file_;
  uint64_t offset_ = 0; // owned by the worker while it runs
  std::unique_ptr<EventColumns> batch_;
  uint64_t first_event_ = 0;
  BoundedQueue<std::unique_ptr<EventColumns>> full_;
  BoundedQueue<std::unique_ptr<EventColumns>> free_;
  std::thread worker_;
  int64_t created_unix_ns_;
  std::atomic<bool> failed_{false};
  // Written by the worker before it sets failed_.
  ExitCode failure_code_ = ExitCode::kIo;
  std::string failure_;
  // Owned by the worker while it runs.
  std::vector<ChunkIndexEntry> index_;
  uint64_t written_events_ = 0; // events in the chunks written (or lost to a failure)
  std::array<uint64_t, kEventKindCount> kind_counts_{};
  bool finished_ = false;
};

} // namespace rrvm
