#include "formats/trace_writer.h"

#include <algorithm>
#include <ctime>
#include <fcntl.h>
#include <string_view>
#include <sys/utsname.h>

#include "formats/batch_codec.h"
#include "formats/crc32c.h"
#include "formats/trace_codec.h"
#include "formats/trace_container.h"
#include "formats/zstd_frame.h"
#include "vmm/error.h"
#include "vmm/unique_fd.h"

namespace rrvm {
namespace {

constexpr size_t kMaxBatchSerialBytes = 1 << 20;

int64_t now_unix_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string host_kernel() {
  utsname u{};
  if (uname(&u) != 0) return "unknown";
  return std::string(u.sysname) + " " + u.release + " " + u.version + " " + u.machine;
}

// The first CPU's "model name", from one small read: /proc/cpuinfo makes a CPU's record as it is
// read, sampling that CPU's frequency, so reading them all takes ~0.1 ms where the first takes
// 0.02 (a short recording's whole set-up is ~0.4 ms).
std::string host_cpu() {
  const UniqueFd cpuinfo(::open("/proc/cpuinfo", O_RDONLY | O_CLOEXEC));
  std::array<char, 1024> buffer;
  const ssize_t n = cpuinfo ? ::read(cpuinfo.get(), buffer.data(), buffer.size()) : -1;
  if (n <= 0) return "unknown";
  const std::string_view text(buffer.data(), size_t(n));
  const size_t line = text.find("\nmodel name");
  const size_t colon = text.find(':', line);
  const size_t end = text.find('\n', colon);
  if (line == text.npos || colon == text.npos || end == text.npos) return "unknown";
  const size_t value = text.find_first_not_of(' ', colon + 1);
  return std::string(text.substr(value, end - value));
}

void write_frame(File& file, FrameTag tag, std::span<const uint8_t> payload) {
  std::array<uint8_t, FrameHeader::kSize> frame;
  encode_frame({.tag = tag,
                .stored_size = payload.size(),
                .raw_size = payload.size(),
                .payload_crc = crc32c(payload)},
               frame);
  file.write_all(frame);
  file.write_all(payload);
}

} // namespace

// Turns a batch into a chunk frame plus its zstd payload, reusing its buffers.
class ChunkEncoder {
public:
  explicit ChunkEncoder(int level) : frames_(level) {}

  std::span<const uint8_t> encode(const EventColumns& batch, uint64_t first_event) {
    const std::span<const uint8_t> raw = batch_encoder_.encode(batch, first_event);
    if (raw.size() > kMaxChunkRawBytes)
      throw Error(ExitCode::kInternal, "trace chunk exceeds the size readers accept");
    out_.resize(FrameHeader::kSize + ZstdFrameWriter::bound(raw.size()));
    const size_t n = frames_.write(raw, std::span(out_).subspan(FrameHeader::kSize));
    const std::span<const uint8_t> payload(out_.data() + FrameHeader::kSize, n);
    encode_frame({.tag = FrameTag::kChunk,
                  .event_count = uint32_t(batch.size()),
                  .first_event = first_event,
                  .stored_size = n,
                  .raw_size = raw.size(),
                  .payload_crc = crc32c(payload)},
                 std::span<uint8_t, FrameHeader::kSize>(out_.data(), FrameHeader::kSize));
    return {out_.data(), FrameHeader::kSize + n};
  }

private:
  BatchEncoder batch_encoder_;
  ZstdFrameWriter frames_;
  std::vector<uint8_t> out_;
};

TraceWriter::TraceWriter(File file, TraceWriterOptions options)
    : options_(options), file_(std::move(file)), full_(options.queued_batches + 1),
      free_(options.queued_batches + 1), created_unix_ns_(now_unix_ns()) {
  options_.batch_events = std::clamp<uint32_t>(options_.batch_events, 1, kMaxBatchEvents);
  batch_ = std::make_unique<EventColumns>();
  batch_->kinds.reserve(options_.batch_events);
}

TraceWriter::TraceWriter(const std::string& path, TraceHeader header, TraceWriterOptions options)
    : TraceWriter(File::create(path), options) {
  write_header(std::move(header));
}

TraceWriter::TraceWriter(const std::string& path, HeaderBuilder build_header,
                         TraceWriterOptions options)
    : TraceWriter(File::create(path), options) {
  start_worker(std::move(build_header));
}

void TraceWriter::write_header(TraceHeader header) {
  header.format_major = kTraceFormatMajor;
  header.format_minor = kTraceFormatMinor;
  header.rrvm_version = RRVM_VERSION;
  header.created_unix_ns = created_unix_ns_;
  header.host_kernel = host_kernel();
  header.host_cpu = host_cpu();
  const std::vector<uint8_t> encoded = encode_header(header);
  if (encoded.size() > kMaxHeaderBytes)
    throw Error(ExitCode::kBadInput, "guest images too large for a trace header");

  std::array<uint8_t, TracePreamble::kSize> preamble;
  encode_preamble({kTraceFormatMajor, kTraceFormatMinor}, preamble);
  file_.write_all(preamble);
  write_frame(file_, FrameTag::kHeader, encoded);
  offset_ = preamble.size() + FrameHeader::kSize + encoded.size();
}

TraceWriter::~TraceWriter() {
  if (finished_) return;
  try {
    stop_worker();
  } catch (const Error&) {
    // Nothing to report to from a destructor; the trace keeps every chunk written so far.
  }
}

void TraceWriter::serial_input(std::span<const uint8_t> bytes, uint64_t poll) {
  if (bytes.size() > kMaxSerialInputBytes)
    throw Error(ExitCode::kInternal, "serial input event larger than the trace allows");
  batch_->kinds.push_back(uint8_t(EventKind::kSerialInput));
  batch_->serial_lengths.push_back(uint32_t(bytes.size()));
  batch_->serial_polls.push_back(poll);
  batch_->serial_bytes.insert(batch_->serial_bytes.end(), bytes.begin(), bytes.end());
  if (batch_->serial_bytes.size() >= kMaxBatchSerialBytes)
    flush();
  else
    appended();
}

void TraceWriter::append(const Event& event) {
  std::visit(
      [this](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, ExitEvent>)
          exit(e.reason, e.rip);
        else if constexpr (std::is_same_v<T, ClockEvent>)
          clock(e.ns);
        else if constexpr (std::is_same_v<T, PortReadEvent>)
          port_read(e.port, e.size, e.value);
        else if constexpr (std::is_same_v<T, MmioReadEvent>)
          mmio_read(e.gpa, e.size, e.value);
        else if constexpr (std::is_same_v<T, MsrReadEvent>)
          msr_read(e.index, e.value);
        else if constexpr (std::is_same_v<T, InjectionEvent>)
          injection(e);
        else if constexpr (std::is_same_v<T, SerialInputEvent>) {
          if (!e.poll)
            throw Error(ExitCode::kInternal, "serial input event without its poll (format 1)");
          serial_input(e.bytes, *e.poll);
        } else if constexpr (std::is_same_v<T, StatsSampleEvent>)
          stats_sample(e);
        else if constexpr (std::is_same_v<T, CheckpointEvent>)
          checkpoint(e.id);
        else if constexpr (std::is_same_v<T, RegisterHashEvent>)
          register_hash(e.hash);
        else if constexpr (std::is_same_v<T, GuestExitEvent>)
          guest_exit(e.status);
        else if constexpr (std::is_same_v<T, KickEvent>)
          kick(e);
        else if constexpr (std::is_same_v<T, VerifyEvent>)
          verify(e);
        else
          clock_tie(e);
      },
      event);
}

void TraceWriter::flush() {
  throw_if_failed();
  if (!worker_.joinable()) start_worker();
  first_event_ += batch_->size();
  full_.push(std::move(batch_));
  batch_ = *free_.pop();
}

void TraceWriter::start_worker(HeaderBuilder build_header) {
  for (size_t i = 0; i < options_.queued_batches; ++i) {
    auto spare = std::make_unique<EventColumns>();
    spare->kinds.reserve(options_.batch_events);
    free_.push(std::move(spare));
  }
  worker_ = std::thread([this, build = std::move(build_header)] { run_worker(build); });
}

void TraceWriter::stop_worker() {
  if (!worker_.joinable()) {
    // Nothing was ever handed off: the last chunk is written here rather than by a thread
    // started only for it.
    if (!batch_->empty()) {
      ChunkEncoder encoder(options_.compression_level);
      first_event_ += batch_->size();
      write_chunk(encoder, *batch_);
      batch_->clear();
    }
    return;
  }
  if (!batch_->empty()) {
    first_event_ += batch_->size();
    full_.push(std::move(batch_));
    batch_ = std::make_unique<EventColumns>();
  }
  full_.close();
  worker_.join();
}

void TraceWriter::run_worker(const HeaderBuilder& build_header) {
  if (build_header) {
    try {
      write_header(build_header());
    } catch (const Error& e) {
      fail(e.code(), e.what());
    } catch (const std::exception& e) {
      fail(ExitCode::kInternal, e.what());
    }
  }
  ChunkEncoder encoder(options_.compression_level);
  while (std::optional<std::unique_ptr<EventColumns>> batch = full_.pop()) {
    EventColumns& columns = **batch;
    write_chunk(encoder, columns);
    columns.clear();
    free_.push(std::move(*batch));
  }
}

void TraceWriter::write_chunk(ChunkEncoder& encoder, const EventColumns& columns) {
  if (!failed_.load(std::memory_order_relaxed)) {
    try {
      const std::span<const uint8_t> chunk = encoder.encode(columns, written_events_);
      file_.write_all(chunk);
      index_.push_back({offset_, written_events_, uint32_t(columns.size())});
      offset_ += chunk.size();
      for (size_t k = 0; k < kEventKindCount; ++k)
        kind_counts_[k] += columns.count(EventKind(k));
    } catch (const std::exception& e) {
      fail(ExitCode::kIo, e.what());
    }
  }
  // Counted after a failure too, so that the producer never waits forever for a free batch.
  written_events_ += columns.size();
}

void TraceWriter::fail(ExitCode code, const std::string& message) {
  failure_code_ = code;
  failure_ = message;
  failed_.store(true, std::memory_order_release);
}

void TraceWriter::throw_if_failed() const {
  if (failed_.load(std::memory_order_acquire)) throw Error(failure_code_, failure_);
}

void TraceWriter::finish(const TraceSummary& summary) {
  if (finished_) return;
  finished_ = true;
  stop_worker();
  throw_if_failed();

  TraceFooter footer;
  footer.chunks = std::move(index_);
  footer.total_events = first_event_;
  footer.kind_counts = kind_counts_;
  footer.summary = summary;
  footer.finished_unix_ns = now_unix_ns();
  const std::vector<uint8_t> encoded = encode_footer(footer);
  write_frame(file_, FrameTag::kFooter, encoded);
  std::array<uint8_t, TraceTrailer::kSize> trailer;
  encode_trailer({offset_}, trailer);
  file_.write_all(trailer);
  file_.close();
}

} // namespace rrvm
