// Loads a kernel into guest memory and gives the CPU state to start it in:
//  - a Linux bzImage (recognised by its "HdrS" setup header) or vmlinux (an ELF64 file with
//    "Linux" notes), started by the x86 boot protocol's 64-bit entry (see linux_loader.h);
//  - a multiboot v1 ELF32 kernel, started as the Multiboot specification says (EAX=0x2BADB002,
//    EBX = multiboot information, flat 32-bit protected mode, paging and interrupts off);
//  - an ELF64 kernel, started directly in 64-bit long mode (see load_elf64 for the entry state);
//  - a flat binary (options.flat), started in 16-bit real mode at options.flat_address.
#pragma once

#include "vmm/boot/boot_image.h"
#include "vmm/guest_memory.h"

namespace rrvm {

// Throws Error(kBadInput) for a missing/unreadable file, a file that is neither Linux nor ELF
// without --flat, an ELF32 file without a multiboot header, or segments that do not fit guest
// memory; Error(kUsage) for an initrd with a kernel that is not Linux.
BootResult load_kernel(GuestMemory& memory, const BootOptions& options);
// The same for a kernel file already in memory; options.kernel_path names it in messages.
BootResult load_kernel(GuestMemory& memory, const BootOptions& options, std::vector<uint8_t> file);

// The individual loaders, given the file's bytes.
BootResult load_multiboot(GuestMemory& memory, const BootOptions& options,
                          std::vector<uint8_t> file);
// Entry state: 64-bit long mode, CPL 0, the first 4 GiB identity-mapped with 2 MiB pages
// (PML4 at 0x1000), GDT at 0x500 with CS=0x18 (64-bit code) and DS/ES/SS/FS/GS=0x10,
// RSP=0xfff0, RDI = physical address of a multiboot information structure (memory map and
// command line), RAX=0x2BADB002, RFLAGS=0x2 (interrupts off), CR0=PE|MP|ET|NE|WP|PG,
// CR4=PAE, EFER=LME|LMA|SCE|NXE.
BootResult load_elf64(GuestMemory& memory, const BootOptions& options, std::vector<uint8_t> file);
BootResult load_flat(GuestMemory& memory, const BootOptions& options, std::vector<uint8_t> file);

} // namespace rrvm
