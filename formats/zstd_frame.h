// The zstd frames a trace stores its compressed payloads in (guest images, event chunks).
//
// A payload under kRawFrameBelowBytes is framed as one raw block without running the compressor:
// compressing it saves a few hundred bytes at most (a 24-byte image came out at 33 bytes, a short
// recording's one chunk at a third of its ~600), and the compressor's first use in a process (its
// code paged in, its workspace allocated and cleared) cost a 1-exit recording 0.4-0.7 ms for the
// image and ~0.4 ms for the chunk on a PVM host, of ~17 ms in all. Any zstd decoder reads it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <zstd.h>

namespace rrvm {

constexpr size_t kRawFrameBelowBytes = 1024;

class ZstdFrameWriter {
public:
  explicit ZstdFrameWriter(int level) : level_(level) {}

  // The bytes `out` needs for any payload of `payload_bytes`.
  static size_t bound(size_t payload_bytes);

  // Writes `payload` to `out` as one zstd frame that records its content size: raw below
  // kRawFrameBelowBytes, else compressed at the writer's level. Returns the frame's size; throws
  // Error(kInternal) when `out` is shorter than bound() or zstd fails.
  size_t write(std::span<const uint8_t> payload, std::span<uint8_t> out);

private:
  int level_;
  // Created at the first payload large enough to compress, and reused after it.
  std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> context_{nullptr, ZSTD_freeCCtx};
};

} // namespace rrvm
