#include "vmm/boot/elf_file.h"

#include <algorithm>
#include <cstring>
#include <elf.h>
#include <string>

#include "vmm/error.h"

namespace rrvm {

bool looks_like_elf(std::span<const uint8_t> file) {
  return file.size() >= SELFMAG && std::memcmp(file.data(), ELFMAG, SELFMAG) == 0;
}

namespace {

// The owners of the notes in one PT_NOTE segment; a malformed note ends the list.
void read_note_owners(std::span<const uint8_t> notes, std::vector<std::string>& owners) {
  constexpr size_t kNoteHeader = 12; // namesz, descsz, type
  auto align4 = [](uint64_t n) { return (n + 3) & ~uint64_t(3); };
  uint64_t at = 0;
  while (at + kNoteHeader <= notes.size()) {
    uint32_t namesz, descsz;
    std::memcpy(&namesz, notes.data() + at, 4);
    std::memcpy(&descsz, notes.data() + at + 4, 4);
    const uint64_t name_at = at + kNoteHeader;
    const uint64_t next = name_at + align4(namesz) + align4(descsz);
    if (next > notes.size()) return;
    std::string owner(reinterpret_cast<const char*>(notes.data() + name_at), namesz);
    owners.push_back(owner.substr(0, owner.find('\0')));
    at = next;
  }
}

template <typename Ehdr, typename Phdr>
ElfFile parse(std::span<const uint8_t> file, const std::string& path, bool is64) {
  auto bad = [&](const std::string& why) { return Error(ExitCode::kBadInput, path + ": " + why); };
  if (file.size() < sizeof(Ehdr)) throw bad("ELF header is truncated");
  Ehdr eh;
  std::memcpy(&eh, file.data(), sizeof eh);
  if (eh.e_ident[EI_DATA] != ELFDATA2LSB) throw bad("not a little-endian ELF file");
  if (eh.e_type != ET_EXEC)
    throw bad("not an executable ELF file (e_type " + std::to_string(eh.e_type) + ")");
  ElfFile elf{is64, eh.e_machine, eh.e_entry, {}, {}};
  if (eh.e_phnum == 0) throw bad("ELF file has no program headers");
  if (eh.e_phentsize != sizeof(Phdr)) throw bad("unexpected ELF program header size");
  uint64_t table_end = uint64_t(eh.e_phoff) + uint64_t(eh.e_phnum) * sizeof(Phdr);
  if (eh.e_phoff > file.size() || table_end > file.size())
    throw bad("ELF program headers lie outside the file");
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Phdr ph;
    std::memcpy(&ph, file.data() + eh.e_phoff + i * sizeof(Phdr), sizeof ph);
    if (ph.p_type != PT_LOAD && ph.p_type != PT_NOTE) continue;
    if (ph.p_offset > file.size() || ph.p_filesz > file.size() - ph.p_offset)
      throw bad("ELF segment " + std::to_string(i) + " lies outside the file");
    if (ph.p_type == PT_NOTE) {
      read_note_owners(file.subspan(ph.p_offset, ph.p_filesz), elf.note_owners);
      continue;
    }
    if (ph.p_filesz > ph.p_memsz)
      throw bad("ELF segment " + std::to_string(i) +
                " has a file size larger than its memory size");
    elf.loadable.push_back({ph.p_paddr, ph.p_vaddr, ph.p_offset, ph.p_filesz, ph.p_memsz});
  }
  if (elf.loadable.empty()) throw bad("ELF file has no loadable segments");
  return elf;
}

template <typename Ehdr, typename Shdr> bool has_symtab_section(std::span<const uint8_t> file) {
  if (file.size() < sizeof(Ehdr)) return false;
  Ehdr eh;
  std::memcpy(&eh, file.data(), sizeof eh);
  if (eh.e_shentsize != sizeof(Shdr) || eh.e_shoff > file.size() ||
      eh.e_shnum > (file.size() - eh.e_shoff) / sizeof(Shdr))
    return false;
  for (unsigned i = 0; i < eh.e_shnum; ++i) {
    Shdr sh;
    std::memcpy(&sh, file.data() + eh.e_shoff + i * sizeof(Shdr), sizeof sh);
    if (sh.sh_type == SHT_SYMTAB && sh.sh_size != 0) return true;
  }
  return false;
}

} // namespace

bool has_symbol_table(std::span<const uint8_t> file) {
  if (!looks_like_elf(file) || file.size() < EI_NIDENT) return false;
  switch (file[EI_CLASS]) {
  case ELFCLASS32:
    return has_symtab_section<Elf32_Ehdr, Elf32_Shdr>(file);
  case ELFCLASS64:
    return has_symtab_section<Elf64_Ehdr, Elf64_Shdr>(file);
  default:
    return false;
  }
}

bool is_linux_vmlinux(const ElfFile& elf) {
  return elf.is64 && std::find(elf.note_owners.begin(), elf.note_owners.end(), "Linux") !=
                         elf.note_owners.end();
}

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
