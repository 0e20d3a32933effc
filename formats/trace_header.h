// The self-description at the start of a trace (machine, boot arguments, guest images) and the
// summary at its end, as plain structs; trace_codec.h maps them to and from trace.fbs.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "formats/trace_event.h"
#include "vmm/boot/boot_image.h"
#include "vmm/cpuid_table.h"

namespace rrvm {

// Readers accept any trace with the same major version; minor versions only add fields.
// 1.1 added KickEvent (EventBatch.kicks). 2.0: a trace may hold only the answers and verification
// events (--verify hashes), which a 1.x reader would take for a recording of a guest that did
// nothing; serial input carries its poll.
// 2.0 also added ClockTieEvent (EventBatch.clock_ties) and the clock mode "adaptive", whose
// traces hold ties instead of clock samples. 3.0: ReportDigest folds an exit in fewer
// operations, so a 2.x reader would find every --verify hashes recording diverged. This rrvm
// still reads and replays 1.x and 2.x. 3.1: a guest image may be referenced rather than stored
// (GuestImage::referenced). 4.0: ReportDigest folds port, MMIO and MSR reads as cheaply as exits,
// and exits in fewer operations still; 3.x is still read and replayed.
constexpr uint16_t kTraceFormatMajor = 4;
constexpr uint16_t kTraceFormatMinor = 0;
constexpr uint16_t kOldestTraceFormatMajor = 1;
// The digest's folds by major: before kExitFoldFormatMajor, format 2's (ReportDigest::format2_exit
// and format3_port_read, ...); before kCurrentFoldsFormatMajor, format 3's (format3_exit and the
// same reads); since, the current ones (exit, port_read, ...).
constexpr uint16_t kExitFoldFormatMajor = 3;
constexpr uint16_t kCurrentFoldsFormatMajor = 4;

struct TraceMachine {
  uint64_t memory_bytes = 0;
  std::string engine; // "kvm" or "emu"
  // "host": guest time follows host time, sampled at exits (the only mode rrvm implements; the
  // schema's "icount" is refused by replay).
  std::string clock_mode;
  int64_t rtc_base_unix_s = 0;
  std::string verify_mode; // "hashes" (since 2.0), "exits" or "full": see VerifyMode
  uint64_t kick_bound_ns = 0;
  std::vector<CpuidEntry> cpuid;
};

struct SerialConfig {
  std::string backend; // "stdio", "none", "file:PATH", ...
  uint16_t io_port = 0x3f8;
  uint8_t irq = 4;
};

struct BootArgs {
  KernelKind kernel_kind = KernelKind::kFlat;
  uint64_t flat_load_address = 0;
  std::string command_line;
  SerialConfig serial;
};

// A piece of an image a loader copied into guest memory: `size` bytes from `file_offset`.
struct ImageSegment {
  uint64_t gpa = 0;
  uint64_t vaddr = 0; // where guest code addresses it (ELF p_vaddr; the gpa for flat images)
  uint64_t file_offset = 0;
  uint64_t size = 0;
  bool operator==(const ImageSegment&) const = default;
};

// A guest image stored in the trace, so a replay on another machine needs nothing else; or, when
// the user asked (record --images reference), only referenced: its path, size and sha256.
struct GuestImage {
  std::string name; // the path it was loaded from (absolute when referenced)
  uint64_t original_size = 0;
  std::array<uint8_t, 32> sha256{};
  std::vector<uint8_t> zstd; // the whole file (an ELF stays an ELF), compressed (or none)
  bool referenced = false;   // the file stays at `name`, outside the trace
  uint8_t mode_bits = 0;     // 16, 32 or 64: how the dump disassembles it
  std::vector<ImageSegment> segments;

  // Compresses and hashes `bytes`. The loader says what it loaded through `segments`.
  static GuestImage from_bytes(std::string name, std::span<const uint8_t> bytes, uint8_t mode_bits,
                               std::vector<ImageSegment> segments);
  // Hashes `bytes`, read from `path`, which the trace will name instead of holding them.
  static GuestImage referencing(const std::string& path, std::span<const uint8_t> bytes,
                                uint8_t mode_bits, std::vector<ImageSegment> segments);
  // The original file, decompressed or read from its path; throws Error(kBadInput) if it is
  // missing or does not match its recorded size and sha256. A referenced image is looked for in
  // `search_dir` first, by its file name (a trace moved with its kernel: replay --image-dir).
  std::vector<uint8_t> bytes(const std::string& search_dir = {}) const;
};

struct TraceHeader {
  // Stamped by TraceWriter: what wrote the trace, where and when.
  uint16_t format_major = kTraceFormatMajor;
  uint16_t format_minor = kTraceFormatMinor;
  std::string rrvm_version;
  int64_t created_unix_ns = 0;
  std::string host_kernel; // uname: sysname release version machine
  std::string host_cpu;    // /proc/cpuinfo "model name"

  TraceMachine machine;
  BootArgs boot;
  std::vector<GuestImage> images;
};

// Where each chunk starts, so a reader can seek without scanning.
struct ChunkIndexEntry {
  uint64_t offset = 0;
  uint64_t first_event = 0;
  uint32_t event_count = 0;
  bool operator==(const ChunkIndexEntry&) const = default;
};

// What the recorder knows only at the end.
struct TraceSummary {
  std::vector<std::pair<std::string, uint64_t>> stats; // final statistics, bhyve names
  std::optional<int32_t> guest_exit_status;
};

struct TraceFooter {
  std::vector<ChunkIndexEntry> chunks;
  uint64_t total_events = 0;
  std::array<uint64_t, kEventKindCount> kind_counts{};
  TraceSummary summary;
  int64_t finished_unix_ns = 0;
};

} // namespace rrvm
