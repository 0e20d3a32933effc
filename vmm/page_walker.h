// Guest-virtual (linear) to guest-physical translation in the CPU's current paging mode: none,
// 32-bit, PAE, or 4-level long mode. The one walker: the interpreter's MMU builds its access
// checks and accessed/dirty updates on walk_page_tables(); the debugger and register dumps use
// linear_to_physical().
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "vmm/cpu_state.h"
#include "vmm/guest_memory.h"

namespace rrvm {

// The registers a page walk depends on.
struct PagingRegisters {
  uint64_t cr0 = 0, cr3 = 0, cr4 = 0, efer = 0;
  static PagingRegisters of(const CpuState& cpu) { return {cpu.cr0, cpu.cr3, cpu.cr4, cpu.efer}; }
};

// Paging-structure entry bits.
namespace pte {
constexpr uint64_t kPresent = 1, kWritable = 2, kUser = 4, kAccessed = 0x20, kDirty = 0x40,
                   kLargePage = 0x80, kGlobal = 0x100;
constexpr uint64_t kNoExecute = 1ull << 63;
constexpr uint64_t kAddressMask = 0x000ffffffffff000ull;
} // namespace pte

struct PageWalk {
  // An entry the walk read: where it lives, what it held, and whether it has an accessed bit
  // (PAE's PDPTEs do not).
  struct Entry {
    uint64_t gpa;
    uint64_t value;
    bool wide; // 8 bytes (PAE, long mode) rather than 4
    bool has_accessed;
  };
  bool present = false;     // false: the last entry read is not present
  uint64_t gpa = 0;         // the translation, when present
  unsigned page_shift = 12; // the size of the page mapped: 12 (4 KiB), 21, 22 or 30
  // The rights of the whole path: every level writable, every level user, any level NX.
  bool writable = true, user = true, no_execute = false;
  std::array<Entry, 4> entries{};
  unsigned count = 0; // entries read; with `present`, the last one maps the page

  std::span<const Entry> path() const { return {entries.data(), count}; }
};

// Walks the guest's page tables for `linear` with paging enabled (CR0.PG); a paging structure
// outside guest RAM reads as not present. Nothing is written.
PageWalk walk_page_tables(const GuestMemory& memory, const PagingRegisters& regs, uint64_t linear);

// Translates a linear address; nullopt when it is not mapped (or a paging structure lies outside
// guest RAM).
std::optional<uint64_t> linear_to_physical(const GuestMemory& memory, const CpuState& cpu,
                                           uint64_t linear);

// Reads up to out.size() bytes at a linear address, stopping at the first unmapped byte; returns
// how many were read.
size_t read_linear(const GuestMemory& memory, const CpuState& cpu, uint64_t linear,
                   std::span<uint8_t> out);

} // namespace rrvm
