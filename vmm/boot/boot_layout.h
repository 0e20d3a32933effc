// Guest-physical addresses rrvm's loaders use for the structures they build. They sit in low
// memory below 0x10000, which kernels loaded at 1 MiB never touch; a kernel segment overlapping
// this area is refused.
#pragma once

#include <cstdint>

namespace rrvm::boot_layout {

constexpr uint64_t kStart = 0x500;
constexpr uint64_t kGdt = 0x500;   // null, code32 (0x08), data (0x10), code64 (0x18); for Linux
                                   // null, null, code64 (0x10), data (0x18)
constexpr uint64_t kPml4 = 0x1000; // long mode: PML4, PDPT, then 4 page directories
constexpr uint64_t kPdpt = 0x2000;
constexpr uint64_t kPageDirectories = 0x3000;
constexpr uint64_t kBootInfo = 0x7000; // multiboot information structure
constexpr uint64_t kMemoryMap = 0x7100;
constexpr uint64_t kCmdline = 0x7400; // NUL-terminated, up to kCmdlineMax bytes
constexpr uint64_t kCmdlineMax = 0x8000 - 0x7400 - 1;
constexpr uint64_t kLinuxZeroPage = 0x7000;  // Linux: boot_params, in place of the multiboot info
constexpr uint64_t kLinuxCmdline = 0x8000;   // Linux: NUL-terminated, up to kLinuxCmdlineMax bytes
constexpr uint64_t kLinuxSetupData = 0xbf00; // Linux: the setup_data node holding the RNG seed
constexpr uint64_t kLinuxCmdlineMax = kLinuxSetupData - kLinuxCmdline - 1;
constexpr uint64_t kStackTop = 0xfff0; // initial stack of 64-bit kernels (grows down to 0xc000)
constexpr uint64_t kEnd = 0x10000;

constexpr uint16_t kCode32Selector = 0x08;
constexpr uint16_t kDataSelector = 0x10;
constexpr uint16_t kCode64Selector = 0x18;

} // namespace rrvm::boot_layout
