// The Linux x86 boot protocol's facts rrvm uses: byte offsets in the zero page (struct
// boot_params), which also holds the setup header at the offset it has in a bzImage, and the
// flag bits of that header. Named once here; see Documentation/arch/x86/boot.rst.
#pragma once

#include <cstdint>

namespace rrvm::linux_boot {

// Zero page fields outside the setup header.
constexpr uint64_t kExtRamdiskImage = 0x0c0; // u32: bits 63:32 of ramdisk_image
constexpr uint64_t kExtRamdiskSize = 0x0c4;  // u32: bits 63:32 of ramdisk_size
constexpr uint64_t kExtCmdLinePtr = 0x0c8;   // u32: bits 63:32 of cmd_line_ptr
constexpr uint64_t kE820Entries = 0x1e8;
// u8: a loader that copies the whole boot sector leaves it non-zero, and the kernel then clears
// the fields such a loader would not have set; rrvm's zero page starts zeroed.
constexpr uint64_t kSentinel = 0x1ef;  // u8
constexpr uint64_t kE820Table = 0x2d0; // up to kE820MaxEntries of {u64 addr, u64 size, u32 type}
constexpr unsigned kE820MaxEntries = 128;
constexpr uint64_t kE820EntrySize = 20;
constexpr uint64_t kZeroPageSize = 0x1000;

// The setup header: it starts at kSetupHeader and ends at 0x202 + the byte at kJump + 1.
constexpr uint64_t kSetupHeader = 0x1f1;
constexpr uint64_t kSetupSects =
    0x1f1; // u8: 512-byte sectors of real-mode code after the boot sector
constexpr uint64_t kBootFlag = 0x1fe;          // u16: 0xaa55
constexpr uint64_t kJump = 0x200;              // u16: a short jmp; its displacement ends the header
constexpr uint64_t kHeaderMagic = 0x202;       // u32: "HdrS"
constexpr uint64_t kVersion = 0x206;           // u16: protocol version, major in the high byte
constexpr uint64_t kTypeOfLoader = 0x210;      // u8
constexpr uint64_t kLoadFlags = 0x211;         // u8
constexpr uint64_t kCode32Start = 0x214;       // u32: where the protected-mode kernel was loaded
constexpr uint64_t kRamdiskImage = 0x218;      // u32
constexpr uint64_t kRamdiskSize = 0x21c;       // u32
constexpr uint64_t kCmdLinePtr = 0x228;        // u32
constexpr uint64_t kInitrdAddrMax = 0x22c;     // u32: highest address the initrd may occupy
constexpr uint64_t kKernelAlignment = 0x230;   // u32
constexpr uint64_t kXLoadFlags = 0x236;        // u16
constexpr uint64_t kCmdlineSize = 0x238;       // u32: longest command line, without its NUL
constexpr uint64_t kHardwareSubarch = 0x23c;   // u32
constexpr uint64_t kPayloadOffset = 0x248;     // u32: from the protected-mode kernel's start
constexpr uint64_t kPayloadLength = 0x24c;     // u32
constexpr uint64_t kSetupData = 0x250;         // u64
constexpr uint64_t kPrefAddress = 0x258;       // u64: preferred load address
constexpr uint64_t kInitSize = 0x260;          // u32: memory the kernel needs from its load address
constexpr uint64_t kSetupHeaderMinEnd = 0x264; // protocol 2.12's header ends after init_size
constexpr uint64_t kSetupHeaderMaxEnd = 0x290; // the room boot_params gives the header

// A setup_data node: {u64 next; u32 type; u32 len; u8 data[len]}, chained from kSetupData.
constexpr uint64_t kSetupDataNext = 0x0;
constexpr uint64_t kSetupDataType = 0x8;
constexpr uint64_t kSetupDataLength = 0xc;
constexpr uint64_t kSetupDataPayload = 0x10;
constexpr uint32_t kSetupRngSeed =
    9; // seeds the kernel's RNG (credited with RANDOM_TRUST_BOOTLOADER)

constexpr uint16_t kBootFlagValue = 0xaa55;
constexpr uint32_t kHeaderMagicValue = 0x53726448; // "HdrS"
constexpr uint16_t kFirstVersionWith64BitEntry = 0x020c;
constexpr uint8_t kLoaderUndefined = 0xff; // type_of_loader for a loader without an assigned ID

// loadflags
constexpr uint8_t kLoadedHigh = 0x01;
// xloadflags
constexpr uint16_t kXlfKernel64 = 0x01;
constexpr uint16_t kXlfCanBeLoadedAbove4G = 0x02;

// The 64-bit entry point of a protected-mode kernel, from where it was loaded.
constexpr uint64_t k64BitEntryOffset = 0x200;
// GDT selectors the 64-bit boot protocol requires.
constexpr uint16_t kBootCodeSelector = 0x10;
constexpr uint16_t kBootDataSelector = 0x18;

// e820 types
constexpr uint32_t kE820Ram = 1;
constexpr uint32_t kE820Reserved = 2;

// Command line size a vmlinux without a setup header gets (x86's COMMAND_LINE_SIZE - 1).
constexpr uint32_t kDefaultCmdlineSize = 2047;

} // namespace rrvm::linux_boot
