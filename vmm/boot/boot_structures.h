// Structures the loaders write into guest memory: the GDT, the multiboot information, and the
// kernel's segments.
#pragma once

#include <string>

#include "vmm/boot/boot_image.h"
#include "vmm/boot/elf_file.h"
#include "vmm/guest_memory.h"

namespace rrvm {

// Writes rrvm's boot GDT at boot_layout::kGdt and returns flat segments for it.
void write_boot_gdt(GuestMemory& memory, CpuState& cpu);
Segment flat_code32();
Segment flat_data32();
Segment code64();

// Writes a multiboot v1 information structure (memory fields, command line, memory map) and
// returns its guest-physical address.
uint64_t write_multiboot_info(GuestMemory& memory, const std::string& cmdline);

// Copies an ELF file's loadable segments into guest memory at their physical addresses, refusing
// segments outside guest RAM or overlapping rrvm's boot area.
std::vector<LoadedSegment> load_elf_segments(GuestMemory& memory, const ElfFile& elf,
                                             std::span<const uint8_t> file,
                                             const std::string& path);

} // namespace rrvm
