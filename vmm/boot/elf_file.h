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
  std::vector<ElfSegment> loadable;     // PT_LOAD segments
  std::vector<std::string> note_owners; // the name of every note in PT_NOTE segments, e.g. "Linux"
};

bool looks_like_elf(std::span<const uint8_t> file);

// A Linux vmlinux: an ELF64 file with notes owned by "Linux" (the kernel's build salt), which
// rrvm's own ELF64 kernels do not have.
bool is_linux_vmlinux(const ElfFile& elf);

// True when `file` is an ELF file with a symbol table (a section of type SHT_SYMTAB): what a
// debugger can take symbols from. False for anything else, malformed files included.
bool has_symbol_table(std::span<const uint8_t> file);

// Parses the headers; throws a kBadInput error naming `path` when the file is malformed.
ElfFile parse_elf(std::span<const uint8_t> file, const std::string& path);

} // namespace rrvm
