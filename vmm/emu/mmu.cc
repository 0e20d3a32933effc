// Address translation: the page walks of every paging mode, the software TLB, accesses that
// cross pages or leave RAM (MMIO exits), and watchpoints.
#include <algorithm>
#include <bit>
#include <iterator>

#include "vmm/emu/code_cache.h"
#include "vmm/emu/cpu.h"
#include "vmm/page_walker.h"

namespace rrvm::emu {

namespace {

constexpr uint8_t kWriteAny = perm::kWriteS | perm::kWriteU;
constexpr uint8_t kUserAny = perm::kReadU | perm::kWriteU | perm::kExecU;
constexpr uint8_t kExecAny = perm::kExecS | perm::kExecU;
// Indices of the write tags among Cpu::tlb_tags's kinds.
constexpr size_t kWriteSKind = std::countr_zero(perm::kWriteS);
constexpr size_t kWriteUKind = std::countr_zero(perm::kWriteU);

bool canonical(uint64_t la) {
  return uint64_t(int64_t(la << 16) >> 16) == la;
}

} // namespace

// The page walk itself is the shared one (vmm/page_walker.h); the CPU adds what a walk does to
// the tables (accessed and dirty bits), the access checks and the #PF error code.
uint64_t Cpu::walk(uint64_t la, uint8_t need, Grant* g) {
  if (!(cr0 & cr0::kPG)) {
    *g = Grant{0xff};
    return la;
  }
  const bool write = need & kWriteAny, user = need & kUserAny, exec = need & kExecAny;
  const bool nxe = efer & efer::kNXE;
  const PageWalk w = walk_page_tables(mem, PagingRegisters{cr0, cr3, cr4, efer}, la);
  auto set_bits = [&](const PageWalk::Entry& e, uint64_t bits) {
    if (!e.has_accessed || (e.value & bits) == bits) return;
    if (e.wide)
      mem.store<uint64_t>(e.gpa, e.value | bits);
    else
      mem.store<uint32_t>(e.gpa, uint32_t(e.value | bits));
  };
  // The levels above the last one read were used, whatever the outcome.
  const auto path = w.path();
  for (size_t i = 0; i + 1 < path.size(); ++i)
    set_bits(path[i], pte::kAccessed);
  const bool nx = nxe && w.no_execute;
  if (!w.present || (user && !w.user) || (write && !w.writable && (user || (cr0 & cr0::kWP))) ||
      (exec && nx)) {
    cr2 = la;
    const uint32_t err =
        (w.present ? 1 : 0) | (write ? 2 : 0) | (user ? 4 : 0) | (exec && nxe ? 16 : 0);
    fault(vec::kPF, err);
  }
  const PageWalk::Entry& leaf = path.back();
  set_bits(leaf, write ? (pte::kAccessed | pte::kDirty) : pte::kAccessed);
  const bool dirty = write || (leaf.value & pte::kDirty);
  uint8_t p = perm::kReadS;
  if (!nx) p |= perm::kExecS;
  if (dirty && (w.writable || !(cr0 & cr0::kWP))) p |= perm::kWriteS;
  if (w.user) {
    p |= perm::kReadU;
    if (!nx) p |= perm::kExecU;
    if (dirty && w.writable) p |= perm::kWriteU;
  }
  // Global entries exist only while CR4.PGE is set: changing PGE flushes everything.
  *g = Grant{p, (cr4 & cr4::kPGE) && (leaf.value & pte::kGlobal), uint8_t(w.page_shift)};
  return w.gpa;
}

void Cpu::drop_slot(size_t slot) {
  fetch_changed();
  tlb_[slot].vpn = ~0ull;
  for (auto& tags : tags_)
    tags[slot] = kNoTag;
}

void Cpu::flush_tlb() {
  fetch_changed();
  for (auto& e : tlb_)
    e.vpn = ~0ull;
  for (auto& tags : tags_)
    std::fill(std::begin(tags), std::end(tags), kNoTag);
  large_pages_.reset();
}

void Cpu::flush_tlb_nonglobal() {
  large_pages_.reset();
  for (size_t slot = 0; slot < kTlbSize; ++slot) {
    const TlbEntry& e = tlb_[slot];
    if (!e.global)
      drop_slot(slot);
    else if (e.page_shift > 12 && e.vpn != ~0ull)
      large_pages_.set(large_page_bit(e.vpn << 12, e.page_shift));
  }
}

void Cpu::flush_tlb_page(uint64_t la) {
  const uint64_t vpn = la >> 12;
  if (tlb_[tlb_slot(la)].vpn == vpn) drop_slot(tlb_slot(la));
  // A large page's translation may sit in the slot of any of its 4 KiB pages.
  for (unsigned page_shift : {21u, 22u, 30u}) {
    if (!large_pages_[large_page_bit(la, page_shift)]) continue;
    for (size_t slot = 0; slot < kTlbSize; ++slot) {
      const TlbEntry& other = tlb_[slot];
      if (((other.vpn ^ vpn) >> (other.page_shift - 12)) == 0) drop_slot(slot);
    }
    return;
  }
}

void Cpu::protect_code_page(uint64_t ppn) {
  for (size_t slot = 0; slot < kTlbSize; ++slot)
    if (tlb_[slot].ppn == ppn) tags_[kWriteSKind][slot] = tags_[kWriteUKind][slot] = kNoTag;
}

void Cpu::drop_write_tags() {
  std::fill(std::begin(tags_[kWriteSKind]), std::end(tags_[kWriteSKind]), kNoTag);
  std::fill(std::begin(tags_[kWriteUKind]), std::end(tags_[kWriteUKind]), kNoTag);
}

uint8_t Cpu::fast_permissions(const TlbEntry& e) const {
  for (const auto& w : watchpoints)
    if (w.address >> 12 == e.vpn || (w.address + w.length - 1) >> 12 == e.vpn) return 0;
  uint8_t p = e.granted;
  if (!mem.page_written(e.ppn) || code->is_code(e.ppn << 12)) p &= ~kWriteAny;
  if (!(p & perm::kReadS)) p &= ~perm::kWriteS;
  if (!(p & perm::kReadU)) p &= ~perm::kWriteU;
  return p;
}

void Cpu::set_tags(size_t slot) {
  const TlbEntry& e = tlb_[slot];
  const uint8_t p = fast_permissions(e);
  const uint64_t exec_s = tags_of(perm::kExecS)[slot], exec_u = tags_of(perm::kExecU)[slot];
  for (size_t kind = 0; kind < kAccessKinds; ++kind)
    tags_[kind][slot] = (p >> kind) & 1 ? e.vpn << 12 : kNoTag;
  // Data pages come and go far more often than code pages: only a change of where code may be
  // fetched advances the epoch (a change of the page behind an unchanged tag: fill_tlb).
  if (tags_of(perm::kExecS)[slot] != exec_s || tags_of(perm::kExecU)[slot] != exec_u)
    fetch_changed();
}

void Cpu::refresh_tlb_permissions() {
  for (size_t slot = 0; slot < kTlbSize; ++slot)
    if (tlb_[slot].vpn != ~0ull) set_tags(slot);
}

void Cpu::fill_tlb(uint64_t la, uint64_t gpa, const Grant& g) {
  uint64_t page = gpa & ~0xfffull;
  if (!mem.contains(page, kPageSize)) return;
  const size_t slot = tlb_slot(la);
  TlbEntry& e = tlb_[slot];
  if (e.ppn != page >> 12) fetch_changed();
  e.vpn = la >> 12;
  e.ppn = page >> 12;
  e.granted = g.perms;
  e.global = g.global;
  e.page_shift = g.page_shift;
  addends_[slot] = uint64_t(mem.host() + page) - (la & ~0xfffull);
  set_tags(slot);
  if (g.page_shift > 12) large_pages_.set(large_page_bit(la, g.page_shift));
}

uint64_t Cpu::translate(uint64_t la, uint8_t need) {
  const size_t slot = tlb_slot(la);
  const TlbEntry& e = tlb_[slot];
  if (e.vpn == la >> 12 && (e.granted & need)) {
    set_tags(slot); // the page's code may be gone, or the page marked written: fast writes again
    return (e.ppn << 12) | (la & 0xfff);
  }
  Grant g;
  const uint64_t gpa = walk(la, need, &g);
  fill_tlb(la, gpa, g);
  return gpa;
}

void Cpu::save_tlb(StateWriter& out) const {
  uint32_t entries = 0;
  for (const auto& e : tlb_)
    entries += e.vpn != ~0ull;
  out.put(entries);
  for (const auto& e : tlb_) {
    if (e.vpn == ~0ull) continue;
    out.put(e.vpn);
    out.put(e.ppn);
    out.put(e.granted);
    out.put(e.global);
    out.put(e.page_shift);
  }
  for (size_t word = 0; word < kLargePageFilterBits / 64; ++word) {
    uint64_t bits = 0;
    for (size_t bit = 0; bit < 64; ++bit)
      bits |= uint64_t(large_pages_[word * 64 + bit]) << bit;
    out.put(bits);
  }
}

void Cpu::restore_tlb(StateReader& in) {
  flush_tlb();
  const auto entries = in.get<uint32_t>();
  for (uint32_t i = 0; i < entries; ++i) {
    const auto vpn = in.get<uint64_t>();
    const size_t slot = vpn & (kTlbSize - 1);
    TlbEntry& e = tlb_[slot];
    e.vpn = vpn;
    e.ppn = in.get<uint64_t>();
    if (!mem.contains(e.ppn << 12, kPageSize))
      throw Error(ExitCode::kInternal, "a saved TLB entry translates to a page outside RAM");
    addends_[slot] = uint64_t(mem.host() + (e.ppn << 12)) - (vpn << 12);
    e.granted = in.get<uint8_t>();
    e.global = in.get<bool>();
    e.page_shift = in.get<uint8_t>();
    set_tags(slot);
  }
  for (size_t word = 0; word < kLargePageFilterBits / 64; ++word) {
    const auto bits = in.get<uint64_t>();
    for (size_t bit = 0; bit < 64; ++bit)
      large_pages_[word * 64 + bit] = (bits >> bit) & 1;
  }
}

void Cpu::access_phys(uint64_t gpa, unsigned size, bool is_write, void* data) {
  if (mem.contains(gpa, size)) {
    if (is_write) {
      code->on_write(gpa, size);
      std::memcpy(mem.host() + gpa, data, size);
      mem.mark_written(gpa, size);
    } else {
      std::memcpy(data, mem.host() + gpa, size);
    }
    return;
  }
  if (!is_write) {
    uint64_t value;
    if (take_input(false, gpa, size, &value)) {
      std::memcpy(data, &value, size);
      return;
    }
    if (exit_pending) {
      // Asking for the read would drop the write the instruction already made.
      exit = Exit{};
      exit.reason = ExitReason::kUnsupported;
      exit.detail = "instruction at rip " + hex_text(rip) + " reads MMIO after writing MMIO";
      throw StopRun{};
    }
    exit = Exit{};
    exit.reason = ExitReason::kMmio;
    exit.mmio = MmioExit{gpa, uint8_t(size), false, mmio_buffer};
    std::memset(mmio_buffer, 0, sizeof mmio_buffer);
    if (!mmio_read_unretires) throw StopRun{};
    std::memset(data, 0, size);
    stop_unretired();
    return;
  }
  if (exit_pending) {
    exit = Exit{};
    exit.reason = ExitReason::kUnsupported;
    exit.detail = "instruction at rip " + hex_text(rip) + " makes two MMIO writes";
    throw StopRun{};
  }
  exit = Exit{};
  exit.reason = ExitReason::kMmio;
  std::memcpy(mmio_buffer, data, size);
  exit.mmio = MmioExit{gpa, uint8_t(size), true, mmio_buffer};
  exit_pending = true;
  stop = true;
}

void Cpu::access_slow(uint64_t la, unsigned size, uint8_t need, void* data) {
  if ((efer & efer::kLMA) && !canonical(la)) fault(vec::kGP, 0);
  const bool is_write = need & kWriteAny;
  auto* bytes = static_cast<uint8_t*>(data);
  unsigned first = unsigned(std::min<uint64_t>(size, 0x1000 - (la & 0xfff)));
  if (first == size) {
    access_phys(translate(la, need), size, is_write, data);
    // The page is marked now: the next writes to it may take the fast path.
    if (is_write && tlb_[tlb_slot(la)].vpn == la >> 12) set_tags(tlb_slot(la));
  } else {
    Grant g1, g2;
    uint64_t gpa1 = walk(la, need, &g1);
    uint64_t la2 = (la + first) & lin_mask;
    if ((efer & efer::kLMA) && !canonical(la2)) fault(vec::kGP, 0);
    uint64_t gpa2 = walk(la2, need, &g2); // both halves are checked before either is accessed
    bool ram1 = mem.contains(gpa1, first), ram2 = mem.contains(gpa2, size - first);
    if (ram1 && ram2) {
      access_phys(gpa1, first, is_write, bytes);
      access_phys(gpa2, size - first, is_write, bytes + first);
    } else if (!ram1 && !ram2 && gpa2 == gpa1 + first) {
      access_phys(gpa1, size, is_write, data); // one MMIO access spanning linear pages
    } else {
      exit = Exit{};
      exit.reason = ExitReason::kUnsupported;
      exit.detail = std::string("access at linear ") + hex_text(la) + " crossing from " +
                    (ram1 ? "RAM into MMIO" : "MMIO into RAM");
      throw StopRun{};
    }
  }
  // An unretired read is no access yet: its instruction runs again.
  if (watch_active() && !unretired) check_watch(la, size, is_write);
}

void Cpu::check_watch(uint64_t la, unsigned size, bool is_write) {
  for (const auto& w : watchpoints) {
    if (la + size <= w.address || w.address + w.length <= la) continue;
    if (w.kind == WatchKind::kWrite && !is_write) continue;
    if (w.kind == WatchKind::kRead && is_write) continue;
    if (watch_hit) return;
    DebugCause cause = w.kind == WatchKind::kWrite  ? DebugCause::kWatchWrite
                       : w.kind == WatchKind::kRead ? DebugCause::kWatchRead
                                                    : DebugCause::kWatchAccess;
    watch_hit = DebugEvent{cause, w.address, rip};
    stop = true;
    return;
  }
}

const uint8_t* Cpu::fetch_page(uint64_t la, uint64_t* phys) {
  const size_t slot = tlb_slot(la);
  if (exec_tags[slot] == (la & ~0xfffull)) {
    *phys = (tlb_[slot].ppn << 12) | (la & 0xfff);
    return tlb_host(slot, la);
  }
  if ((efer & efer::kLMA) && !canonical(la)) fault(vec::kGP, 0);
  const uint64_t gpa = translate(la, acc_exec);
  *phys = gpa;
  if (!mem.contains(gpa, 1)) return nullptr;
  return mem.host() + gpa;
}

uint64_t Cpu::read_sized(uint64_t la, unsigned bytes) {
  switch (bytes) {
  case 1:
    return read<uint8_t>(la);
  case 2:
    return read<uint16_t>(la);
  case 4:
    return read<uint32_t>(la);
  default:
    return read<uint64_t>(la);
  }
}

void Cpu::write_sized(uint64_t la, unsigned bytes, uint64_t v) {
  switch (bytes) {
  case 1:
    write<uint8_t>(la, uint8_t(v));
    break;
  case 2:
    write<uint16_t>(la, uint16_t(v));
    break;
  case 4:
    write<uint32_t>(la, uint32_t(v));
    break;
  default:
    write<uint64_t>(la, v);
    break;
  }
}

void Cpu::push_sized(unsigned bytes, uint64_t v) {
  switch (bytes) {
  case 2:
    push<uint16_t>(uint16_t(v));
    break;
  case 4:
    push<uint32_t>(uint32_t(v));
    break;
  default:
    push<uint64_t>(v);
    break;
  }
}

uint64_t Cpu::pop_sized(unsigned bytes) {
  switch (bytes) {
  case 2:
    return pop<uint16_t>();
  case 4:
    return pop<uint32_t>();
  default:
    return pop<uint64_t>();
  }
}

void Cpu::set_reg_sized(unsigned r, unsigned bytes, uint64_t v) {
  switch (bytes) {
  case 1:
    set_reg<uint8_t>(r, uint8_t(v));
    break;
  case 2:
    set_reg<uint16_t>(r, uint16_t(v));
    break;
  case 4:
    set_reg<uint32_t>(r, uint32_t(v));
    break;
  default:
    set_reg<uint64_t>(r, v);
    break;
  }
}

} // namespace rrvm::emu
