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
// Writes the GDT the Linux 64-bit boot protocol asks for (flat 64-bit code at 0x10, flat data at
// 0x18) at boot_layout::kGdt and loads CS, DS, ES, SS, FS and GS from it.
void write_linux_boot_gdt(GuestMemory& memory, CpuState& cpu);

// Identity-maps the first 4 GiB (RAM and the MMIO hole with the HPET) with 2 MiB pages at
// boot_layout::kPml4 and puts the CPU in 64-bit long mode on that map, interrupts off.
void enter_long_mode(GuestMemory& memory, CpuState& cpu);

// Writes a multiboot v1 information structure (memory fields, command line, memory map) and
// returns its guest-physical address.
uint64_t write_multiboot_info(GuestMemory& memory, const std::string& cmdline);

// Copies an ELF file's loadable segments into guest memory at their physical addresses, refusing
// segments outside guest RAM or overlapping rrvm's boot area.
std::vector<LoadedSegment> load_elf_segments(GuestMemory& memory, const ElfFile& elf,
                                             std::span<const uint8_t> file,
                                             const std::string& path);

} // namespace rrvm
