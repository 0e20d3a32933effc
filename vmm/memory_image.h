// Guest memory's contents at one moment, kept as immutable 4 KiB pages grouped in chunks of 64.
// Images share every page and chunk that did not change between them (all-zero pages share one),
// so an image costs the pages written since the image it was captured after; and two images
// differ at most where their page pointers differ, so going from one to the other copies only
// those pages. GuestMemory's written-page marks say which pages changed since the machine's
// last capture or apply: a capture reads only those, an apply copies only those plus the pages
// where the two images differ.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "vmm/guest_memory.h"

namespace rrvm {

class MemoryImage {
public:
  // One word of GuestMemory's written-page bitmap.
  static constexpr size_t kChunkPages = 64;
  struct Page {
    uint8_t bytes[kPageSize];
  };
  struct Chunk {
    std::array<std::shared_ptr<const Page>, kChunkPages> pages; // null past the end of memory
  };

  // `memory`'s contents. `base` is the image memory held when its written-page marks were last
  // cleared: unmarked pages are taken from it without being read (nullptr: every page is read).
  // Clears the marks, since memory now holds the new image.
  static std::shared_ptr<const MemoryImage> capture(GuestMemory& memory, const MemoryImage* base);

  // Puts this image into `memory`, with `base` as for capture(): copies the pages marked written
  // and those where base and this image differ (every page without a base). Clears the marks.
  // Returns the number of pages copied.
  size_t apply(GuestMemory& memory, const MemoryImage* base) const;

  // The first page at which `memory` differs from this image, comparing every byte: a check for
  // tests and debugging, as slow as a full copy.
  std::optional<uint64_t> first_difference(const GuestMemory& memory) const;

  uint64_t size() const { return size_; }
  const std::vector<std::shared_ptr<const Chunk>>& chunks() const { return chunks_; }

private:
  uint64_t size_ = 0;
  std::vector<std::shared_ptr<const Chunk>> chunks_;
};

} // namespace rrvm
