// Replay checkpoints kept for going backwards: each holds a full ReplayCheckpoint, except that
// guest memory is kept as 4 KiB pages shared with the checkpoint before it wherever they did not
// change, so a checkpoint costs the pages the guest wrote since the previous one. Total memory is
// bounded: over the budget, older checkpoints are thinned out (every other one goes, the first
// and the newest stay).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "replay/replay_session.h"

namespace rrvm {

class CheckpointStore {
public:
  struct Info {
    uint64_t position;      // the owner's replay position (e.g. retired instructions)
    uint64_t gate_position; // trace events consumed
    size_t own_pages;       // pages stored for this checkpoint and not shared with another
  };

  explicit CheckpointStore(uint64_t budget_bytes) : budget_bytes_(budget_bytes) {}

  // Stores `checkpoint` as the state at `position`, replacing one already there.
  void add(uint64_t position, ReplayCheckpoint checkpoint);

  size_t size() const { return entries_.size(); }
  // Index of the latest checkpoint at or before `position`.
  std::optional<size_t> at_or_before(uint64_t position) const;
  Info info(size_t index) const;
  // The checkpoint with its memory reassembled.
  ReplayCheckpoint load(size_t index) const;
  // Bytes of memory pages and page tables held.
  uint64_t bytes() const { return bytes_; }

private:
  struct Page {
    uint8_t bytes[kPageSize];
  };
  struct Entry {
    uint64_t position;
    ReplayCheckpoint state; // memory left empty: `pages` holds it
    size_t memory_bytes;
    std::vector<std::shared_ptr<const Page>> pages;
  };

  void erase(size_t index);
  void thin();

  uint64_t budget_bytes_;
  uint64_t bytes_ = 0;
  // Most of a guest's RAM is never written: all-zero pages share this one.
  std::shared_ptr<const Page> zero_page_ = std::make_shared<const Page>();
  std::vector<Entry> entries_; // sorted by position
};

} // namespace rrvm
