#include "vmm/boot/boot_structures.h"

#include <cstring>

#include "vmm/boot/boot_layout.h"
#include "vmm/boot/linux_boot_params.h"

namespace rrvm {

namespace {

// A GDT descriptor from base 0, limit 4 GiB, with the given access byte and flags nibble.
constexpr uint64_t descriptor(uint8_t access, uint8_t flags) {
  return 0xffffull | (uint64_t(access) << 40) | (uint64_t(flags | 0xf) << 48);
}

Segment flat(uint16_t selector, uint8_t type, uint8_t db, uint8_t l) {
  Segment s;
  s.base = 0;
  s.limit = 0xffffffff;
  s.selector = selector;
  s.type = type;
  s.s = 1;
  s.dpl = 0;
  s.present = 1;
  s.db = db;
  s.l = l;
  s.g = 1;
  return s;
}

} // namespace

Segment flat_code32() {
  return flat(boot_layout::kCode32Selector, 0xb, 1, 0);
}
Segment flat_data32() {
  return flat(boot_layout::kDataSelector, 0x3, 1, 0);
}
Segment code64() {
  return flat(boot_layout::kCode64Selector, 0xb, 0, 1);
}

void write_boot_gdt(GuestMemory& memory, CpuState& cpu) {
  const uint64_t gdt[] = {
      0, descriptor(0x9b, 0xc0), // 32-bit code, accessed
      descriptor(0x93, 0xc0),    // data, accessed
      descriptor(0x9b, 0xa0),    // 64-bit code, accessed
  };
  memory.write(boot_layout::kGdt, {reinterpret_cast<const uint8_t*>(gdt), sizeof gdt});
  cpu.gdt = {boot_layout::kGdt, sizeof gdt - 1};
  cpu.idt = {0, 0};
  Segment ldt;
  ldt.type = 2;
  ldt.s = 0;
  ldt.present = 1;
  ldt.limit = 0xffff;
  ldt.unusable = 1;
  cpu.ldtr = ldt;
  Segment tr;
  tr.type = 0xb; // busy 32/64-bit TSS: KVM refuses to enter with a non-busy TR
  tr.s = 0;
  tr.present = 1;
  tr.limit = 0xffff;
  cpu.tr = tr;
}

void write_linux_boot_gdt(GuestMemory& memory, CpuState& cpu) {
  write_boot_gdt(memory, cpu);
  const uint64_t gdt[] = {0, 0, descriptor(0x9b, 0xa0), descriptor(0x93, 0xc0)};
  memory.write(boot_layout::kGdt, {reinterpret_cast<const uint8_t*>(gdt), sizeof gdt});
  cpu.cs = flat(linux_boot::kBootCodeSelector, 0xb, 0, 1);
  cpu.ds = cpu.es = cpu.fs = cpu.gs = cpu.ss = flat(linux_boot::kBootDataSelector, 0x3, 1, 0);
}

void enter_long_mode(GuestMemory& memory, CpuState& cpu) {
  using namespace boot_layout;
  constexpr uint64_t kPresentWritable = 0x3, kLarge = 0x80;
  std::memset(memory.at(kPml4, 0x6000), 0, 0x6000);
  memory.store<uint64_t>(kPml4, kPdpt | kPresentWritable);
  for (uint64_t gib = 0; gib < 4; ++gib) {
    uint64_t directory = kPageDirectories + gib * 0x1000;
    memory.store<uint64_t>(kPdpt + gib * 8, directory | kPresentWritable);
    for (uint64_t i = 0; i < 512; ++i) {
      uint64_t address = (gib << 30) | (i << 21);
      memory.store<uint64_t>(directory + i * 8, address | kPresentWritable | kLarge);
    }
  }
  cpu.cr0 = cr0::kPE | cr0::kMP | cr0::kET | cr0::kNE | cr0::kWP | cr0::kPG;
  cpu.cr3 = kPml4;
  cpu.cr4 = cr4::kPAE;
  cpu.efer = efer::kLME | efer::kLMA | efer::kSCE | efer::kNXE;
  cpu.rflags = rflags::kFixed1;
}

uint64_t write_multiboot_info(GuestMemory& memory, const std::string& cmdline) {
  using namespace boot_layout;
  if (cmdline.size() > kCmdlineMax)
    throw Error(ExitCode::kUsage,
                "--append command line is longer than " + std::to_string(kCmdlineMax) + " bytes");
  std::memset(memory.at(kBootInfo, kCmdline + kCmdlineMax + 1 - kBootInfo), 0,
              kCmdline + kCmdlineMax + 1 - kBootInfo);
  memory.write(kCmdline, {reinterpret_cast<const uint8_t*>(cmdline.data()), cmdline.size()});

  // Memory map: conventional memory, the BIOS area (reserved, as on a PC), then RAM above 1 MiB.
  struct [[gnu::packed]] MmapEntry {
    uint32_t size;
    uint64_t base;
    uint64_t length;
    uint32_t type;
  };
  const uint64_t ram = memory.size();
  const uint64_t high_start = 0x100000;
  MmapEntry map[] = {
      {20, 0, 0x9fc00, 1},
      {20, 0x9fc00, 0x100000 - 0x9fc00, 2},
      {20, high_start, ram > high_start ? ram - high_start : 0, 1},
  };
  size_t entries = ram > high_start ? 3 : 2;
  memory.write(kMemoryMap, {reinterpret_cast<const uint8_t*>(map), entries * sizeof(MmapEntry)});

  constexpr uint32_t kFlagMemory = 1u << 0, kFlagCmdline = 1u << 2, kFlagMmap = 1u << 6;
  uint32_t info[12] = {};
  info[0] = kFlagMemory | kFlagCmdline | kFlagMmap;
  info[1] = 639; // mem_lower, KiB
  info[2] = static_cast<uint32_t>(ram > high_start ? (ram - high_start) >> 10 : 0); // mem_upper
  info[4] = static_cast<uint32_t>(kCmdline);
  info[11] = static_cast<uint32_t>(entries * sizeof(MmapEntry)); // mmap_length
  memory.write(kBootInfo, {reinterpret_cast<const uint8_t*>(info), sizeof info});
  memory.store<uint32_t>(kBootInfo + 48, static_cast<uint32_t>(kMemoryMap)); // mmap_addr
  return kBootInfo;
}

std::vector<LoadedSegment> load_elf_segments(GuestMemory& memory, const ElfFile& elf,
                                             std::span<const uint8_t> file,
                                             const std::string& path) {
  std::vector<LoadedSegment> loaded;
  for (const auto& seg : elf.loadable) {
    char where[96];
    std::snprintf(where, sizeof where, "segment at 0x%llx-0x%llx",
                  static_cast<unsigned long long>(seg.paddr),
                  static_cast<unsigned long long>(seg.paddr + seg.memory_size));
    if (!memory.contains(seg.paddr, seg.memory_size))
      throw Error(ExitCode::kBadInput, path + ": " + where + " is outside guest memory (" +
                                           std::to_string(memory.size() >> 20) +
                                           " MiB); try a larger --mem");
    if (seg.paddr < boot_layout::kEnd && seg.paddr + seg.memory_size > boot_layout::kStart)
      throw Error(ExitCode::kBadInput,
                  path + ": " + where + " overlaps rrvm's boot area (0x500-0x10000)");
    std::memcpy(memory.at(seg.paddr, seg.file_size), file.data() + seg.offset, seg.file_size);
    std::memset(memory.at(seg.paddr + seg.file_size, seg.memory_size - seg.file_size), 0,
                seg.memory_size - seg.file_size);
    loaded.push_back({seg.paddr, seg.offset, seg.file_size, seg.memory_size});
  }
  return loaded;
}

} // namespace rrvm
