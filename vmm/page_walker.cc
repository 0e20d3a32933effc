#include "vmm/page_walker.h"

namespace rrvm {

namespace {

constexpr uint64_t kPresent = 1, kLargePage = 1u << 7;
constexpr uint64_t kAddressMask = 0x000ffffffffff000ull;

std::optional<uint64_t> load_entry(const GuestMemory& memory, uint64_t gpa, unsigned size) {
  if (!memory.contains(gpa, size)) return std::nullopt;
  return size == 4 ? memory.load<uint32_t>(gpa) : memory.load<uint64_t>(gpa);
}

std::optional<uint64_t> walk_32bit(const GuestMemory& memory, const CpuState& cpu, uint32_t la) {
  auto pde = load_entry(memory, (cpu.cr3 & 0xfffff000) + ((la >> 22) << 2), 4);
  if (!pde || !(*pde & kPresent)) return std::nullopt;
  if ((*pde & kLargePage) && (cpu.cr4 & cr4::kPSE)) {
    uint64_t base = (*pde & 0xffc00000) | ((*pde >> 13) & 0xff) << 32; // PSE-36 high bits
    return base | (la & 0x3fffff);
  }
  auto pte = load_entry(memory, (*pde & 0xfffff000) + (((la >> 12) & 0x3ff) << 2), 4);
  if (!pte || !(*pte & kPresent)) return std::nullopt;
  return (*pte & 0xfffff000) | (la & 0xfff);
}

// Walks `levels` levels of 64-bit entries starting at `table`; the first level indexes with bits
// starting at `shift`.
std::optional<uint64_t> walk_64bit(const GuestMemory& memory, uint64_t table, uint64_t la,
                                   unsigned shift, unsigned levels) {
  for (unsigned level = 0; level < levels; ++level, shift -= 9) {
    auto entry = load_entry(memory, table + ((la >> shift) & 0x1ff) * 8, 8);
    if (!entry || !(*entry & kPresent)) return std::nullopt;
    bool leaf = level == levels - 1;
    if (!leaf && (*entry & kLargePage) && shift <= 30) {
      uint64_t page_mask = (1ull << shift) - 1;
      return ((*entry & kAddressMask) & ~page_mask) | (la & page_mask);
    }
    table = *entry & kAddressMask;
  }
  return table | (la & 0xfff);
}

} // namespace

std::optional<uint64_t> linear_to_physical(const GuestMemory& memory, const CpuState& cpu,
                                           uint64_t linear) {
  if (!cpu.paging()) return cpu.long_mode_active() ? linear : linear & 0xffffffff;
  if (cpu.long_mode_active()) return walk_64bit(memory, cpu.cr3 & kAddressMask, linear, 39, 4);
  if (cpu.cr4 & cr4::kPAE) {
    auto pdpte = load_entry(memory, (cpu.cr3 & 0xffffffe0) + ((linear >> 30) & 3) * 8, 8);
    if (!pdpte || !(*pdpte & kPresent)) return std::nullopt;
    return walk_64bit(memory, *pdpte & kAddressMask, linear & 0xffffffff, 21, 2);
  }
  return walk_32bit(memory, cpu, static_cast<uint32_t>(linear));
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
