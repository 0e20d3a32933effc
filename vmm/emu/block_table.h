// The code cache's blocks by key, owning them: open addressing with linear probing in a
// power-of-two array of (key, block) slots. A lookup the fast table missed lands here, on a Linux
// boot ~110 K times for hits and once more for every block decoded; std::unordered_map spent a
// division by its prime bucket count and two dependent cache misses (bucket, node) on each, ~2 %
// of the boot. Here a lookup is a multiplication and, mostly, one slot's cache line.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <memory>
#include <vector>

namespace rrvm::emu {

template <class Block> class BlockTable {
public:
  explicit BlockTable(size_t expected) : slots_(std::bit_ceil(std::max<size_t>(expected * 2, 2))) {
    shift_ = 64 - std::countr_zero(slots_.size());
  }

  Block* find(uint64_t key) const {
    for (size_t i = home(key);; i = next(i)) {
      const Slot& slot = slots_[i];
      if (!slot.block || slot.key == key) return slot.block.get();
    }
  }
  // `block`'s key must not be in the table.
  void insert(uint64_t key, std::unique_ptr<Block> block) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    place(key, std::move(block));
    ++size_;
  }
  // Takes `key`'s block out; it must be in the table.
  std::unique_ptr<Block> remove(uint64_t key) {
    size_t hole = home(key);
    while (slots_[hole].key != key || !slots_[hole].block)
      hole = next(hole);
    std::unique_ptr<Block> out = std::move(slots_[hole].block);
    --size_;
    // Backward shift: a later slot of the run moves into the hole unless its home lies
    // cyclically after the hole, up to it (a probe for it would then never pass the hole).
    for (size_t i = next(hole); slots_[i].block; i = next(i)) {
      const size_t h = home(slots_[i].key);
      const bool stays = hole <= i ? (hole < h && h <= i) : (hole < h || h <= i);
      if (stays) continue;
      slots_[hole] = std::move(slots_[i]);
      hole = i;
    }
    return out;
  }
  template <class F> void for_each(F&& visit) {
    for (Slot& slot : slots_)
      if (slot.block) visit(slot.key, slot.block);
  }
  void clear() {
    for (Slot& slot : slots_)
      slot.block.reset();
    size_ = 0;
  }
  size_t size() const { return size_; }

private:
  struct Slot {
    uint64_t key = 0;
    std::unique_ptr<Block> block; // null: empty
  };
  // Keys are physical addresses: their low bits vary, so a Fibonacci hash spreads them.
  size_t home(uint64_t key) const { return (key * 0x9e3779b97f4a7c15ull) >> shift_; }
  size_t next(size_t i) const { return (i + 1) & (slots_.size() - 1); }
  void place(uint64_t key, std::unique_ptr<Block> block) {
    size_t i = home(key);
    while (slots_[i].block)
      i = next(i);
    slots_[i] = {key, std::move(block)};
  }
  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    --shift_;
    for (Slot& slot : old)
      if (slot.block) place(slot.key, std::move(slot.block));
  }

  std::vector<Slot> slots_;
  unsigned shift_;
  size_t size_ = 0;
};

} // namespace rrvm::emu
