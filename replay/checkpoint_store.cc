#include "replay/checkpoint_store.h"

#include <algorithm>
#include <cstring>

namespace rrvm {

namespace {

constexpr uint64_t kPointerBytes = sizeof(std::shared_ptr<const void>);

} // namespace

void CheckpointStore::add(uint64_t position, ReplayCheckpoint checkpoint) {
  auto at = std::lower_bound(entries_.begin(), entries_.end(), position,
                             [](const Entry& e, uint64_t p) { return e.position < p; });
  if (at != entries_.end() && at->position == position) {
    erase(static_cast<size_t>(at - entries_.begin()));
    at = std::lower_bound(entries_.begin(), entries_.end(), position,
                          [](const Entry& e, uint64_t p) { return e.position < p; });
  }
  // Pages are compared with the checkpoint just before this one: consecutive states share most.
  const Entry* previous = at == entries_.begin() ? nullptr : &*(at - 1);
  std::vector<uint8_t>& memory = checkpoint.machine.memory;
  const size_t count = (memory.size() + kPageSize - 1) / kPageSize;
  Entry entry{position, {}, memory.size(), {}};
  entry.pages.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const size_t offset = i * kPageSize;
    const size_t length = std::min<size_t>(kPageSize, memory.size() - offset);
    if (previous && previous->memory_bytes == memory.size() &&
        std::memcmp(previous->pages[i]->bytes, memory.data() + offset, length) == 0) {
      entry.pages.push_back(previous->pages[i]);
      continue;
    }
    const uint8_t* bytes = memory.data() + offset;
    if (length == kPageSize && bytes[0] == 0 && std::memcmp(bytes, bytes + 1, kPageSize - 1) == 0) {
      entry.pages.push_back(zero_page_);
      continue;
    }
    auto page = std::make_shared<Page>();
    std::memcpy(page->bytes, memory.data() + offset, length);
    entry.pages.push_back(std::move(page));
    bytes_ += kPageSize;
  }
  bytes_ += count * kPointerBytes;
  // Freed, not just emptied (`memory = {}` would keep the capacity: a whole guest RAM a
  // checkpoint, 256 MiB each for a Linux guest).
  memory = std::vector<uint8_t>();
  entry.state = std::move(checkpoint);
  entries_.insert(at, std::move(entry));
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
  size_t own = 0;
  for (const auto& page : e.pages)
    own += page.use_count() == 1;
  return {e.position, e.state.gate_position, own};
}

ReplayCheckpoint CheckpointStore::load(size_t index) const {
  const Entry& e = entries_[index];
  ReplayCheckpoint out{e.state.machine, e.state.gate_position};
  out.machine.memory.resize(e.memory_bytes);
  for (size_t i = 0; i < e.pages.size(); ++i) {
    const size_t offset = i * kPageSize;
    std::memcpy(out.machine.memory.data() + offset, e.pages[i]->bytes,
                std::min<size_t>(kPageSize, e.memory_bytes - offset));
  }
  return out;
}

void CheckpointStore::erase(size_t index) {
  Entry& e = entries_[index];
  for (const auto& page : e.pages)
    if (page.use_count() == 1) bytes_ -= kPageSize;
  bytes_ -= e.pages.size() * kPointerBytes;
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
