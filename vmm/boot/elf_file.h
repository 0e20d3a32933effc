// A bounds-checked view of an ELF32 or ELF64 executable: its loadable segments and entry point.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace rrvm {

struct ElfSegment {
  uint64_t paddr;
  uint64_t vaddr;
  uint64_t offset;
  uint64_t file_size;
  uint64_t memory_size;
};

struct ElfFile {
  bool is64;
  uint16_t machine;
  uint64_t entry;
  std::vector<ElfSegment> loadable; // PT_LOAD segments
};

bool looks_like_elf(std::span<const uint8_t> file);

// Parses the headers; throws a kBadInput error naming `path` when the file is malformed.
ElfFile parse_elf(std::span<const uint8_t> file, const std::string& path);

} // namespace rrvm
