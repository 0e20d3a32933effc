// Starts a Linux kernel through the x86 boot protocol's 64-bit entry: a bzImage (its payload
// decompressed on the host and its vmlinux entered at startup_64, or, for a compression rrvm does
// not read, its protected-mode kernel entered at load address + 0x200 to decompress itself) or
// an ELF vmlinux (given a setup header made for it).
//
// Entry state: 64-bit long mode, CPL 0, the first 4 GiB identity-mapped with 2 MiB pages (the
// kernel, init_size past its load address, the zero page, command line and initrd all lie
// there), GDT at 0x500 with CS=0x10 and DS/ES/SS/FS/GS=0x18 (__BOOT_CS, __BOOT_DS), RSI = the zero
// page at boot_layout::kLinuxZeroPage, RSP=0xfff0, RFLAGS=0x2 (interrupts off).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vmm/boot/boot_image.h"
#include "vmm/boot/elf_file.h"
#include "vmm/guest_memory.h"

namespace rrvm {

// Throws Error(kBadInput) for a malformed image, a boot protocol older than 2.12, a kernel or
// initrd that does not fit in guest memory, or a command line longer than the kernel's
// cmdline_size; nothing is started.
BootResult load_linux_bzimage(GuestMemory& memory, const BootOptions& options,
                              std::vector<uint8_t> file);
BootResult load_linux_vmlinux(GuestMemory& memory, const BootOptions& options,
                              std::vector<uint8_t> file, const ElfFile& elf);

// Where an initrd of `size` bytes goes: the highest page-aligned address at which it ends at or
// below both initrd_addr_max and the end of RAM, as long as that is not below `kernel_end`.
// Throws Error(kBadInput) naming the sizes when there is no room.
uint64_t place_initrd(uint64_t size, uint64_t kernel_end, uint64_t initrd_addr_max,
                      uint64_t memory_bytes);

} // namespace rrvm
