#include "tools/rrvm/guest_symbols.h"

#include <filesystem>

#include "vmm/boot/elf_file.h"

namespace rrvm {

namespace {

std::string file_name_of(const GuestImage& image) {
  std::string name = std::filesystem::path(image.name).filename().string();
  return name.empty() || name == "." || name == ".." ? "kernel" : name;
}

} // namespace

std::optional<GuestSymbols> guest_symbols(const TraceHeader& header, const std::string& image_dir) {
  if (header.images.empty()) return std::nullopt;
  const GuestImage& kernel = header.images.front();
  std::vector<uint8_t> bytes = kernel.bytes(image_dir);
  if (!has_symbol_table(bytes)) return std::nullopt;
  return GuestSymbols{file_name_of(kernel), std::move(bytes)};
}

std::string missing_symbols_note(const TraceHeader& header) {
  std::string note = "the trace's kernel";
  if (!header.images.empty()) {
    note += " (";
    note += file_name_of(header.images.front());
    note += ")";
  }
  note += " has no symbols; give gdb some with `symbol-file FILE`";
  if (header.boot.kernel_kind == KernelKind::kLinux)
    note += " (for Linux: an ELF made from the kernel's System.map by tools/linux-symbols.py)";
  return note;
}

} // namespace rrvm
