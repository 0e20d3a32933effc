#include "vmm/page_walker.h"

namespace rrvm {

namespace {

class Walker {
public:
  Walker(const GuestMemory& memory, PageWalk& walk) : memory_(memory), walk_(walk) {}

  // Reads the entry at `gpa` into the path and folds its rights in; false when not present.
  bool read(uint64_t gpa, bool wide, bool rights = true) {
    uint64_t value = 0;
    if (memory_.contains(gpa, wide ? 8 : 4))
      value = wide ? memory_.load<uint64_t>(gpa) : memory_.load<uint32_t>(gpa);
    walk_.entries[walk_.count++] = PageWalk::Entry{gpa, value, wide, rights};
    if (!(value & pte::kPresent)) return false;
    if (rights) {
      walk_.writable = walk_.writable && (value & pte::kWritable);
      walk_.user = walk_.user && (value & pte::kUser);
      if (wide) walk_.no_execute = walk_.no_execute || (value & pte::kNoExecute);
    }
    return true;
  }
  uint64_t last() const { return walk_.entries[walk_.count - 1].value; }
  void map(uint64_t gpa, unsigned page_shift = 12) {
    walk_.present = true;
    walk_.gpa = gpa;
    walk_.page_shift = page_shift;
  }

private:
  const GuestMemory& memory_;
  PageWalk& walk_;
};

void walk_32bit(Walker& w, const PagingRegisters& regs, uint32_t la) {
  if (!w.read((regs.cr3 & 0xfffff000) + ((la >> 22) << 2), false)) return;
  const uint64_t pde = w.last();
  if ((pde & pte::kLargePage) && (regs.cr4 & cr4::kPSE)) {
    const uint64_t base = (pde & 0xffc00000) | ((pde >> 13) & 0xff) << 32; // PSE-36 high bits
    return w.map(base | (la & 0x3fffff), 22);
  }
  if (!w.read((pde & 0xfffff000) + (((la >> 12) & 0x3ff) << 2), false)) return;
  w.map((w.last() & 0xfffff000) | (la & 0xfff));
}

// Walks `levels` levels of 8-byte entries from `table`; the first level indexes with the bits
// from `shift` up. A large-page bit ends the walk at the 1 GiB and 2 MiB levels.
void walk_64bit(Walker& w, uint64_t table, uint64_t la, unsigned shift, unsigned levels) {
  for (unsigned level = 0; level < levels; ++level, shift -= 9) {
    if (!w.read(table + ((la >> shift) & 0x1ff) * 8, true)) return;
    const uint64_t entry = w.last();
    const bool leaf = level == levels - 1;
    if (!leaf && (entry & pte::kLargePage) && shift <= 30) {
      const uint64_t page_mask = (1ull << shift) - 1;
      return w.map(((entry & pte::kAddressMask) & ~page_mask) | (la & page_mask), shift);
    }
    table = entry & pte::kAddressMask;
  }
  w.map(table | (la & 0xfff));
}

} // namespace

PageWalk walk_page_tables(const GuestMemory& memory, const PagingRegisters& regs, uint64_t la) {
  PageWalk walk;
  Walker w(memory, walk);
  if (regs.efer & efer::kLMA) {
    walk_64bit(w, regs.cr3 & pte::kAddressMask, la, 39, 4);
  } else if (regs.cr4 & cr4::kPAE) {
    // PAE's PDPTEs carry no access rights and no accessed bit.
    if (w.read((regs.cr3 & 0xffffffe0) + ((la >> 30) & 3) * 8, true, false))
      walk_64bit(w, w.last() & pte::kAddressMask, la & 0xffffffff, 21, 2);
  } else {
    walk_32bit(w, regs, uint32_t(la));
  }
  return walk;
}

std::optional<uint64_t> linear_to_physical(const GuestMemory& memory, const CpuState& cpu,
                                           uint64_t linear) {
  if (!cpu.paging()) return cpu.long_mode_active() ? linear : linear & 0xffffffff;
  const PageWalk walk = walk_page_tables(memory, PagingRegisters::of(cpu), linear);
  if (!walk.present) return std::nullopt;
  return walk.gpa;
}

size_t read_linear(const GuestMemory& memory, const CpuState& cpu, uint64_t linear,
                   std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    auto gpa = linear_to_physical(memory, cpu, linear + done);
    if (!gpa) break;
    size_t in_page = kPageSize - ((linear + done) & (kPageSize - 1));
    size_t n = std::min(in_page, out.size() - done);
    if (!memory.contains(*gpa, n)) break;
    memory.read(*gpa, out.subspan(done, n));
    done += n;
  }
  return done;
}

} // namespace rrvm
