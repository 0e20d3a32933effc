#include "vmm/boot/elf_file.h"

#include <cstring>
#include <elf.h>
#include <string>

#include "vmm/error.h"

namespace rrvm {

bool looks_like_elf(std::span<const uint8_t> file) {
  return file.size() >= SELFMAG && std::memcmp(file.data(), ELFMAG, SELFMAG) == 0;
}

namespace {

template <typename Ehdr, typename Phdr>
ElfFile parse(std::span<const uint8_t> file, const std::string& path, bool is64) {
  auto bad = [&](const std::string& why) { return Error(ExitCode::kBadInput, path + ": " + why); };
  if (file.size() < sizeof(Ehdr)) throw bad("ELF header is truncated");
  Ehdr eh;
  std::memcpy(&eh, file.data(), sizeof eh);
  if (eh.e_ident[EI_DATA] != ELFDATA2LSB) throw bad("not a little-endian ELF file");
  if (eh.e_type != ET_EXEC)
    throw bad("not an executable ELF file (e_type " + std::to_string(eh.e_type) + ")");
  ElfFile elf{is64, eh.e_machine, eh.e_entry, {}};
  if (eh.e_phnum == 0) throw bad("ELF file has no program headers");
  if (eh.e_phentsize != sizeof(Phdr)) throw bad("unexpected ELF program header size");
  uint64_t table_end = uint64_t(eh.e_phoff) + uint64_t(eh.e_phnum) * sizeof(Phdr);
  if (eh.e_phoff > file.size() || table_end > file.size())
    throw bad("ELF program headers lie outside the file");
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Phdr ph;
    std::memcpy(&ph, file.data() + eh.e_phoff + i * sizeof(Phdr), sizeof ph);
    if (ph.p_type != PT_LOAD) continue;
    if (ph.p_offset > file.size() || ph.p_filesz > file.size() - ph.p_offset)
      throw bad("ELF segment " + std::to_string(i) + " lies outside the file");
    if (ph.p_filesz > ph.p_memsz)
      throw bad("ELF segment " + std::to_string(i) +
                " has a file size larger than its memory size");
    elf.loadable.push_back({ph.p_paddr, ph.p_vaddr, ph.p_offset, ph.p_filesz, ph.p_memsz});
  }
  if (elf.loadable.empty()) throw bad("ELF file has no loadable segments");
  return elf;
}

} // namespace

ElfFile parse_elf(std::span<const uint8_t> file, const std::string& path) {
  if (!looks_like_elf(file)) throw Error(ExitCode::kBadInput, path + ": not an ELF file");
  if (file.size() < EI_NIDENT) throw Error(ExitCode::kBadInput, path + ": ELF header is truncated");
  switch (file[EI_CLASS]) {
  case ELFCLASS32:
    return parse<Elf32_Ehdr, Elf32_Phdr>(file, path, false);
  case ELFCLASS64:
    return parse<Elf64_Ehdr, Elf64_Phdr>(file, path, true);
  default:
    throw Error(ExitCode::kBadInput, path + ": unknown ELF class");
  }
}

} // namespace rrvm
