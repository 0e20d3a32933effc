#include "vmm/memory_image.h"

#include <algorithm>
#include <cstring>

namespace rrvm {

namespace {

using Page = MemoryImage::Page;
using Chunk = MemoryImage::Chunk;
constexpr size_t kChunkPages = MemoryImage::kChunkPages;
static_assert(kChunkPages == 64, "a chunk's written marks are one bitmap word");

// Most of a guest's RAM is never written: all-zero pages share one page, all-zero chunks one chunk.
const std::shared_ptr<const Page>& zero_page() {
  static const std::shared_ptr<const Page> page = std::make_shared<const Page>();
  return page;
}

const std::shared_ptr<const Chunk>& zero_chunk() {
  static const std::shared_ptr<const Chunk> chunk = [] {
    auto c = std::make_shared<Chunk>();
    c->pages.fill(zero_page());
    return c;
  }();
  return chunk;
}

bool all_zero(const uint8_t* bytes) {
  return bytes[0] == 0 && std::memcmp(bytes, bytes + 1, kPageSize - 1) == 0;
}

size_t page_count(uint64_t size) {
  return static_cast<size_t>(size / kPageSize);
}

size_t pages_in_chunk(size_t chunk, size_t pages) {
  return std::min(kChunkPages, pages - chunk * kChunkPages);
}

uint8_t* page_bytes(const GuestMemory& memory, size_t chunk, size_t page) {
  return memory.host() + (chunk * kChunkPages + page) * kPageSize;
}

} // namespace

std::shared_ptr<const MemoryImage> MemoryImage::capture(GuestMemory& memory,
                                                        const MemoryImage* base) {
  if (base && base->size_ != memory.size()) base = nullptr;
  auto image = std::make_shared<MemoryImage>();
  image->size_ = memory.size();
  const size_t pages = page_count(memory.size());
  const size_t chunks = (pages + kChunkPages - 1) / kChunkPages;
  image->chunks_.reserve(chunks);
  for (size_t c = 0; c < chunks; ++c) {
    const uint64_t marks = base ? memory.written()[c] : ~0ull;
    const std::shared_ptr<const Chunk>* from = base ? &base->chunks_[c] : nullptr;
    if (marks == 0) {
      image->chunks_.push_back(*from);
      continue;
    }
    auto chunk = std::make_shared<Chunk>();
    const size_t n = pages_in_chunk(c, pages);
    bool same = from != nullptr, zero = n == kChunkPages;
    for (size_t p = 0; p < n; ++p) {
      std::shared_ptr<const Page>& out = chunk->pages[p];
      const uint8_t* bytes = page_bytes(memory, c, p);
      const std::shared_ptr<const Page>* before = from ? &(*from)->pages[p] : nullptr;
      if (before && (!((marks >> p) & 1) || std::memcmp((*before)->bytes, bytes, kPageSize) == 0)) {
        out = *before;
      } else if (all_zero(bytes)) {
        out = zero_page();
      } else {
        auto copy = std::make_shared<Page>();
        std::memcpy(copy->bytes, bytes, kPageSize);
        out = std::move(copy);
      }
      same = same && out == *before;
      zero = zero && out == zero_page();
    }
    image->chunks_.push_back(same ? *from : zero ? zero_chunk() : std::move(chunk));
  }
  memory.clear_written();
  return image;
}

size_t MemoryImage::apply(GuestMemory& memory, const MemoryImage* base) const {
  if (memory.size() != size_)
    throw Error(ExitCode::kInternal, "a memory image restored into memory of another size");
  if (base && base->size_ != size_) base = nullptr;
  const size_t pages = page_count(size_);
  size_t copied = 0;
  for (size_t c = 0; c < chunks_.size(); ++c) {
    const uint64_t marks = base ? memory.written()[c] : ~0ull;
    const Chunk* from = base ? base->chunks_[c].get() : nullptr;
    const Chunk& to = *chunks_[c];
    if (marks == 0 && from == &to) continue;
    for (size_t p = 0; p < pages_in_chunk(c, pages); ++p) {
      if (((marks >> p) & 1) || !from || from->pages[p] != to.pages[p]) {
        std::memcpy(page_bytes(memory, c, p), to.pages[p]->bytes, kPageSize);
        ++copied;
      }
    }
  }
  memory.clear_written();
  return copied;
}

std::optional<uint64_t> MemoryImage::first_difference(const GuestMemory& memory) const {
  if (memory.size() != size_) return 0;
  const size_t pages = page_count(size_);
  for (size_t c = 0; c < chunks_.size(); ++c)
    for (size_t p = 0; p < pages_in_chunk(c, pages); ++p)
      if (std::memcmp(page_bytes(memory, c, p), chunks_[c]->pages[p]->bytes, kPageSize) != 0)
        return c * kChunkPages + p;
  return std::nullopt;
}

} // namespace rrvm
