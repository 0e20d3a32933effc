// A Linux bzImage: the boot sector and real-mode setup code, whose setup header tells a loader
// how to start the kernel, then the protected-mode kernel with its compressed payload (the
// vmlinux ELF).
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace rrvm {

struct BzImage {
  std::span<const uint8_t> setup_header; // file bytes from 0x1f1 to the header's end
  uint16_t version;                      // boot protocol, e.g. 0x020f for 2.15
  uint64_t protected_mode_offset;        // where the protected-mode kernel starts in the file
  std::span<const uint8_t> protected_mode_kernel;
  std::span<const uint8_t> payload; // compressed vmlinux, with its uncompressed size appended
  uint64_t pref_address;
  uint32_t init_size;
  uint32_t cmdline_size;
  uint32_t initrd_addr_max;
};

// Whether `file` carries a setup header ("HdrS" and the 0xaa55 boot flag).
bool looks_like_bzimage(std::span<const uint8_t> file);

// Throws Error(kBadInput) naming `path` for a truncated file, a boot protocol older than 2.12
// (the first with a 64-bit entry point), a kernel without a 64-bit entry or a payload outside the
// file.
BzImage parse_bzimage(std::span<const uint8_t> file, const std::string& path);

} // namespace rrvm
