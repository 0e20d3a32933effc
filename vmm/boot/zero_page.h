// The zero page (struct boot_params) a loader hands a Linux kernel at its 64-bit entry: the
// kernel's setup header, completed with what the loader decided, and the e820 memory map.
#pragma once

#include <cstdint>
#include <span>

#include "vmm/guest_memory.h"

namespace rrvm {

struct ZeroPageFields {
  std::span<const uint8_t> setup_header; // the image's header bytes, from offset 0x1f1
  uint64_t kernel_load_address = 0;      // code32_start: where the kernel was put
  uint64_t cmdline_address = 0;
  uint64_t initrd_address = 0; // 0 with initrd_size 0: no initrd
  uint64_t initrd_size = 0;
  uint64_t setup_data_address = 0; // the first setup_data node; 0: none
};

// Writes the zero page at `address` (zeroing the rest of the page) with type_of_loader 0xff,
// LOADED_HIGH set, the command line and initrd fields split into their low and ext_ halves, and
// e820_map(memory.size()).
void write_zero_page(GuestMemory& memory, uint64_t address, const ZeroPageFields& fields);

} // namespace rrvm
