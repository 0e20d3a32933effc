// Where gdb takes a guest's symbols from: the kernel image a trace embeds, when it is an ELF file
// with a symbol table (a multiboot or ELF64 test kernel, a Linux vmlinux that kept its symbols).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "formats/trace_header.h"

namespace rrvm {

struct GuestSymbols {
  std::string file_name; // the recorded kernel's own file name, e.g. "pit_long.elf"
  std::vector<uint8_t> elf;
};

// The kernel's ELF file, or nullopt when it has no symbols (a flat binary, a bzImage, a stripped
// ELF). Throws Error(kBadInput) when the embedded image is damaged.
std::optional<GuestSymbols> guest_symbols(const TraceHeader& header,
                                          const std::string& image_dir = {});

// One line for a trace without symbols: what it holds and how to give gdb symbols anyway.
std::string missing_symbols_note(const TraceHeader& header);

} // namespace rrvm
