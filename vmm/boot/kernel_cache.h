// A directory of decompressed Linux kernels, so that only the first boot of a bzImage pays for
// decompressing it on the host (Debian's XZ kernel: ~0.45 s of every run, record and replay;
// reading it back and checking it: a few ms). Entries are keyed by the sha256 of the compressed
// payload and carry a checksum of their content; the most recently used kEntriesKept are kept.
//
// Best effort: a missing, unreadable or damaged entry is a miss and a failed store a one-line
// warning; the kernel the guest gets is the same either way.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vmm/unique_fd.h"

namespace rrvm {

// A decompressed kernel: a cache entry mapped from the page cache (no copy, no zero-filled pages
// to fault in), or the bytes just decompressed.
class DecompressedKernel {
public:
  explicit DecompressedKernel(std::vector<uint8_t> bytes)
      : owned_(std::move(bytes)), bytes_(owned_) {}
  DecompressedKernel(UniqueMapping mapping, size_t offset, size_t size)
      : mapping_(std::move(mapping)),
        bytes_(static_cast<const uint8_t*>(mapping_.get()) + offset, size) {}
  DecompressedKernel(DecompressedKernel&&) = default;

  std::span<const uint8_t> bytes() const { return bytes_; }

private:
  std::vector<uint8_t> owned_;
  UniqueMapping mapping_;
  std::span<const uint8_t> bytes_;
};

class KernelCache {
public:
  static constexpr size_t kEntriesKept = 4;

  // An empty directory disables the cache.
  explicit KernelCache(std::filesystem::path directory) : directory_(std::move(directory)) {}

  // decompress_payload(payload, path), from the cache when it holds the result.
  std::optional<DecompressedKernel> decompress(std::span<const uint8_t> payload,
                                               const std::string& path) const;

private:
  std::optional<DecompressedKernel> find(const std::filesystem::path& entry) const;
  void store(const std::filesystem::path& entry, std::span<const uint8_t> vmlinux) const;
  void evict_least_recently_used() const;

  std::filesystem::path directory_;
};

} // namespace rrvm
