#include "replay/checkpoint_store.h"

#include <algorithm>

namespace rrvm {

namespace {

constexpr uint64_t kChunkPointerBytes = sizeof(std::shared_ptr<const MemoryImage::Chunk>);

} // namespace

void CheckpointStore::add(uint64_t position, ReplayCheckpoint checkpoint) {
  auto after = [](const Entry& e, uint64_t p) { return e.position < p; };
  auto at = std::lower_bound(entries_.begin(), entries_.end(), position, after);
  if (at != entries_.end() && at->position == position) {
    erase(static_cast<size_t>(at - entries_.begin()));
    at = std::lower_bound(entries_.begin(), entries_.end(), position, after);
  }
  hold(*checkpoint.machine.memory);
  bytes_ += checkpoint.machine.tlb.size();
  entries_.insert(at, Entry{position, std::move(checkpoint)});
  thin();
}

std::optional<size_t> CheckpointStore::at_or_before(uint64_t position) const {
  auto after = std::upper_bound(entries_.begin(), entries_.end(), position,
                                [](uint64_t p, const Entry& e) { return p < e.position; });
  if (after == entries_.begin()) return std::nullopt;
  return static_cast<size_t>(after - entries_.begin() - 1);
}

CheckpointStore::Info CheckpointStore::info(size_t index) const {
  const Entry& e = entries_[index];
  return {e.position, e.state.gate_position.event};
}

size_t CheckpointStore::own_pages(size_t index) const {
  size_t own = 0;
  for (const auto& chunk : entries_[index].state.machine.memory->chunks()) {
    if (chunk_holders_.at(chunk.get()) != 1) continue;
    for (const auto& page : chunk->pages)
      own += page && page_holders_.at(page.get()) == 1;
  }
  return own;
}

void CheckpointStore::hold(const MemoryImage& image) {
  for (const auto& chunk : image.chunks()) {
    if (chunk_holders_[chunk.get()]++ != 0) continue;
    bytes_ += sizeof(MemoryImage::Chunk);
    for (const auto& page : chunk->pages)
      if (page && page_holders_[page.get()]++ == 0) bytes_ += kPageSize;
  }
  bytes_ += image.chunks().size() * kChunkPointerBytes;
}

void CheckpointStore::release(const MemoryImage& image) {
  for (const auto& chunk : image.chunks()) {
    auto holders = chunk_holders_.find(chunk.get());
    if (--holders->second != 0) continue;
    chunk_holders_.erase(holders);
    bytes_ -= sizeof(MemoryImage::Chunk);
    for (const auto& page : chunk->pages) {
      if (!page) continue;
      auto page_holders = page_holders_.find(page.get());
      if (--page_holders->second != 0) continue;
      page_holders_.erase(page_holders);
      bytes_ -= kPageSize;
    }
  }
  bytes_ -= image.chunks().size() * kChunkPointerBytes;
}

void CheckpointStore::erase(size_t index) {
  release(*entries_[index].state.machine.memory);
  bytes_ -= entries_[index].state.machine.tlb.size();
  entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(index));
}

void CheckpointStore::thin() {
  // Dropping every other old checkpoint keeps them spread over the whole replay, so going back
  // anywhere costs at most about twice the re-execution it did before.
  while (bytes_ > budget_bytes_ && entries_.size() > 2) {
    for (size_t i = 1; i + 1 < entries_.size() && bytes_ > budget_bytes_; ++i)
      erase(i);
  }
}

} // namespace rrvm
