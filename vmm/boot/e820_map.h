// The e820 memory map rrvm gives a Linux guest: the PC layout, RAM below the legacy hole (whose
// top 1 KiB is the EBDA), the hole with video memory and the BIOS area, then RAM from 1 MiB.
#pragma once

#include <cstdint>
#include <vector>

namespace rrvm {

struct E820Entry {
  uint64_t address;
  uint64_t size;
  uint32_t type; // linux_boot::kE820Ram or kE820Reserved
  bool operator==(const E820Entry&) const = default;
};

std::vector<E820Entry> e820_map(uint64_t memory_bytes);

} // namespace rrvm
