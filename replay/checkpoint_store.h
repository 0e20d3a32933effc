// Replay checkpoints kept for going backwards, within a memory budget. Their guest memory images
// share every page that did not change (vmm/memory_image.h), so a checkpoint costs the pages the
// guest wrote since the checkpoint or restore before it, and the store counts each distinct page
// once. Over the budget, older checkpoints are thinned out (every other one goes, the first and
// the newest stay).
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "replay/replay_session.h"

namespace rrvm {

class CheckpointStore {
public:
  struct Info {
    uint64_t position;      // the owner's replay position (e.g. retired instructions)
    uint64_t gate_position; // trace events consumed
  };

  explicit CheckpointStore(uint64_t budget_bytes) : budget_bytes_(budget_bytes) {}

  // Stores `checkpoint` as the state at `position`, replacing one already there.
  void add(uint64_t position, ReplayCheckpoint checkpoint);

  size_t size() const { return entries_.size(); }
  // Index of the latest checkpoint at or before `position`.
  std::optional<size_t> at_or_before(uint64_t position) const;
  Info info(size_t index) const;
  // Memory pages held by no other checkpoint (a look at every chunk: for listings).
  size_t own_pages(size_t index) const;
  // The checkpoint itself: ReplaySession::restore() copies only the pages where guest memory
  // differs from it.
  const ReplayCheckpoint& at(size_t index) const { return entries_[index].state; }
  // Bytes of distinct memory pages and page tables held.
  uint64_t bytes() const { return bytes_; }

private:
  struct Entry {
    uint64_t position;
    ReplayCheckpoint state;
  };

  void hold(const MemoryImage& image);
  void release(const MemoryImage& image);
  void erase(size_t index);
  void thin();

  uint64_t budget_bytes_;
  uint64_t bytes_ = 0;
  // How many chunks of the held images are each chunk, and how many distinct held chunks hold
  // each page: a chunk or page is charged to the budget while its count is above zero.
  std::unordered_map<const MemoryImage::Chunk*, uint32_t> chunk_holders_;
  std::unordered_map<const MemoryImage::Page*, uint32_t> page_holders_;
  std::vector<Entry> entries_; // sorted by position
};

} // namespace rrvm
