// The e820 map: RAM below the EBDA, the legacy hole reserved, RAM from 1 MiB to the end of --mem.
#include <gtest/gtest.h>

#include "vmm/boot/e820_map.h"
#include "vmm/boot/linux_boot_params.h"

namespace rrvm {
namespace {

using linux_boot::kE820Ram;
using linux_boot::kE820Reserved;

TEST(E820MapTest, PcLayoutForTheWholeOfMemory) {
  const std::vector<E820Entry> expected = {{0, 0x9fc00, kE820Ram},
                                           {0x9fc00, 0x60400, kE820Reserved},
                                           {0x100000, (256ull << 20) - 0x100000, kE820Ram}};
  EXPECT_EQ(e820_map(256ull << 20), expected);
}

TEST(E820MapTest, EntriesAreSortedAndDisjointAndEndAtTheEndOfRam) {
  for (uint64_t mem : {2ull << 20, 64ull << 20, 3584ull << 20}) {
    const auto map = e820_map(mem);
    for (size_t i = 1; i < map.size(); ++i)
      EXPECT_EQ(map[i - 1].address + map[i - 1].size, map[i].address);
    EXPECT_EQ(map.back().address + map.back().size, mem);
    EXPECT_EQ(map.back().type, kE820Ram);
  }
}

} // namespace
} // namespace rrvm
