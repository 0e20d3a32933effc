// The code cache's block table against std::unordered_map: random inserts and removals, with the
// table started small so that it grows, probe runs wrap around its end and removals shift them.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "vmm/emu/block_table.h"

namespace rrvm::emu {
namespace {

struct Item {
  uint64_t key;
};

TEST(BlockTableTest, AgreesWithAMapThroughInsertsRemovalsAndGrowth) {
  BlockTable<Item> table(4);
  std::map<uint64_t, Item*> oracle;
  std::mt19937_64 random(12345);
  for (int step = 0; step < 20000; ++step) {
    // Page-aligned keys and neighbours, as block addresses come: few distinct, so both
    // operations keep meeting keys that are there.
    const uint64_t key = (random() % 300) * (random() % 2 ? 0x1000 : 3);
    if (auto it = oracle.find(key); it != oracle.end()) {
      std::unique_ptr<Item> out = table.remove(key);
      ASSERT_EQ(out.get(), it->second) << "step " << step;
      oracle.erase(it);
    } else {
      auto item = std::make_unique<Item>(Item{key});
      oracle[key] = item.get();
      table.insert(key, std::move(item));
    }
    ASSERT_EQ(table.size(), oracle.size());
    if (step % 97 == 0) {
      for (uint64_t k = 0; k < 300; ++k) {
        for (uint64_t probe : {k * 0x1000, k * 3}) {
          auto it = oracle.find(probe);
          ASSERT_EQ(table.find(probe), it == oracle.end() ? nullptr : it->second)
              << "step " << step << ", key " << probe;
        }
      }
    }
  }
  size_t visited = 0;
  table.for_each([&](uint64_t key, std::unique_ptr<Item>& item) {
    EXPECT_EQ(item->key, key);
    EXPECT_EQ(oracle.at(key), item.get());
    ++visited;
  });
  EXPECT_EQ(visited, oracle.size());
  table.clear();
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.find(oracle.begin()->first), nullptr);
}

} // namespace
} // namespace rrvm::emu
