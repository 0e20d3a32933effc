// Memory images and the checkpoint store that holds them: a capture reads only the pages marked
// written, an apply copies only those and the pages where the two images differ, and the result
// is byte for byte the image (checked against every page); the store charges each shared page
// once.
#include <gtest/gtest.h>

#include "replay/checkpoint_store.h"
#include "vmm/memory_image.h"

namespace rrvm::test {
namespace {

// 4 full chunks and a partial one.
constexpr uint64_t kPages = 4 * MemoryImage::kChunkPages + 44;

void fill_page(GuestMemory& memory, uint64_t page, uint8_t value) {
  const std::vector<uint8_t> bytes(kPageSize, value);
  memory.write(page * kPageSize, bytes);
}

size_t shared_chunks(const MemoryImage& a, const MemoryImage& b) {
  size_t shared = 0;
  for (size_t c = 0; c < a.chunks().size(); ++c)
    shared += a.chunks()[c] == b.chunks()[c];
  return shared;
}

TEST(MemoryImageTest, CaptureReadsOnlyWrittenPagesAndSharesTheRest) {
  GuestMemory memory(kPages * kPageSize);
  fill_page(memory, 3, 0x11);
  fill_page(memory, kPages - 1, 0x22); // in the partial chunk
  const auto first = MemoryImage::capture(memory, nullptr);
  EXPECT_FALSE(first->first_difference(memory));
  EXPECT_EQ(memory.written(), std::vector<uint64_t>(memory.written().size(), 0));

  fill_page(memory, 70, 0x33);                // chunk 1
  memory.store<uint8_t>(3 * kPageSize, 0x11); // written, but unchanged
  const auto second = MemoryImage::capture(memory, first.get());
  EXPECT_FALSE(second->first_difference(memory));
  EXPECT_EQ(shared_chunks(*first, *second), first->chunks().size() - 1);      // all but chunk 1
  EXPECT_TRUE(second->chunks()[1]->pages[0] == first->chunks()[1]->pages[0]); // unwritten, shared

  // A page changed behind the marks is not read: the caller promised it matched the base.
  memory.at(5 * kPageSize, 1)[0] = 0x44;
  const auto third = MemoryImage::capture(memory, second.get());
  EXPECT_TRUE(third->chunks() == second->chunks());
  const std::optional<uint64_t> difference = third->first_difference(memory);
  ASSERT_TRUE(difference);
  EXPECT_EQ(*difference, 5u);
}

TEST(MemoryImageTest, ApplyCopiesWrittenAndDifferingPagesOnly) {
  GuestMemory memory(kPages * kPageSize);
  fill_page(memory, 1, 0x01);
  const auto older = MemoryImage::capture(memory, nullptr);
  fill_page(memory, 2, 0x02);
  fill_page(memory, 200, 0x03);
  const auto newer = MemoryImage::capture(memory, older.get());
  fill_page(memory, 1, 0x04);
  fill_page(memory, kPages - 2, 0x05);

  // Back to the older image: the two pages written since the newer one, and its two new pages.
  EXPECT_EQ(older->apply(memory, newer.get()), 4u);
  EXPECT_FALSE(older->first_difference(memory));
  EXPECT_EQ(memory.load<uint8_t>(200 * kPageSize), 0);

  // Forward to the newer image with nothing written: the pages where the images differ.
  EXPECT_EQ(newer->apply(memory, older.get()), 2u);
  EXPECT_FALSE(newer->first_difference(memory));

  // Without a base every page is copied, to the same bytes.
  memory.store<uint64_t>(9 * kPageSize, 99);
  EXPECT_EQ(newer->apply(memory, nullptr), kPages);
  EXPECT_FALSE(newer->first_difference(memory));
}

ReplayCheckpoint checkpoint_of(std::shared_ptr<const MemoryImage> image) {
  ReplayCheckpoint c{};
  c.machine.memory = std::move(image);
  return c;
}

TEST(CheckpointStoreTest, ChargesEachSharedPageOnceAndReleasesOnThinning) {
  GuestMemory memory(kPages * kPageSize);
  fill_page(memory, 1, 0x01);
  const auto a = MemoryImage::capture(memory, nullptr);
  fill_page(memory, 100, 0x02);
  const auto b = MemoryImage::capture(memory, a.get());
  fill_page(memory, 101, 0x03);
  const auto c = MemoryImage::capture(memory, b.get());

  CheckpointStore store(UINT64_MAX);
  store.add(0, checkpoint_of(a));
  const uint64_t one = store.bytes();
  store.add(10, checkpoint_of(b));
  store.add(20, checkpoint_of(c));
  // b and c each add one page and rebuild chunk 1 (plus their chunk pointers).
  const uint64_t chunk_pointers = a->chunks().size() * sizeof(a->chunks()[0]);
  EXPECT_EQ(store.bytes(), one + 2 * (kPageSize + sizeof(MemoryImage::Chunk) + chunk_pointers));
  EXPECT_EQ(store.own_pages(0), 0u);            // page 1's chunk is b's and c's too
  EXPECT_EQ(store.own_pages(1), 0u);            // page 100 is c's too
  EXPECT_EQ(store.own_pages(2), 1u);            // page 101
  EXPECT_TRUE(store.at(1).machine.memory == b); // held, not copied

  // Replacing a checkpoint releases what only it held.
  store.add(10, checkpoint_of(c));
  EXPECT_EQ(store.bytes(), one + kPageSize * 2 + sizeof(MemoryImage::Chunk) + 2 * chunk_pointers);

  // Over budget, the middle one goes and its pages with it.
  CheckpointStore small(one + 1);
  small.add(0, checkpoint_of(a));
  small.add(10, checkpoint_of(b));
  small.add(20, checkpoint_of(c));
  ASSERT_EQ(small.size(), 2u);
  EXPECT_EQ(small.info(1).position, 20u);
  EXPECT_EQ(small.bytes(), one + 2 * kPageSize + sizeof(MemoryImage::Chunk) + chunk_pointers);
}

} // namespace
} // namespace rrvm::test
