// Segment registers: descriptor fetch and decode, the protected-mode checks of segment loads,
// and the cached mode bits derived from CS, SS, CR0 and EFER.
#include "vmm/emu/cpu.h"

#include <bit>
#include <iterator>

namespace rrvm::emu {

void Cpu::refresh_mode() {
  fetch_changed();
  const bool lma = efer & efer::kLMA;
  mode64 = lma && seg[kCS].l;
  if (!(cr0 & cr0::kPE) || (flags_raw & rflags::kVM))
    code_bits = 16;
  else
    code_bits = mode64 ? 64 : seg[kCS].db ? 32 : 16;
  lin_mask = mode64 ? ~0ull : 0xffffffffull;
  for (unsigned i = 0; i < 6; ++i)
    seg_base[i] = mode64 ? (i >= kFS ? seg[i].base : 0) : (seg[i].base & 0xffffffff);
  seg_checked = 0;
  if ((cr0 & cr0::kPE) && !(flags_raw & rflags::kVM) && !mode64)
    for (unsigned i = 0; i < 6; ++i) {
      const Segment& g = seg[i];
      const bool flat_writable_data = !g.unusable &&
                                      (g.type & ~seg_type::kAccessed) == seg_type::kWritable &&
                                      g.limit == 0xffffffff;
      if (!flat_writable_data) seg_checked |= uint8_t(1u << i);
    }
  const bool user = cpl == 3;
  acc_read = user ? perm::kReadU : perm::kReadS;
  acc_write = user ? perm::kWriteU : perm::kWriteS;
  acc_exec = user ? perm::kExecU : perm::kExecS;
  refresh_access_checks();
  read_tags = tags_of(acc_read);
  write_tags = tags_of(acc_write);
  exec_tags = tags_of(acc_exec);
}

void Cpu::refresh_access_checks() {
  align_checked = (cr0 & cr0::kAM) && cpl == 3 && (flags_raw & rflags::kAC);
  access_checks = align_checked ? 0x3f : seg_checked;
  inline_checks = access_checks;
  for (unsigned i = 0; i < kFS; ++i)
    if (seg_base[i]) inline_checks |= uint8_t(1u << i);
}

Segment flat_segment(uint16_t selector, bool code, bool l, bool db, unsigned dpl) {
  Segment s;
  s.selector = selector;
  s.base = 0;
  s.limit = 0xffffffff;
  s.g = 1;
  s.s = 1;
  s.type = code ? seg_type::kCode | seg_type::kReadable | seg_type::kAccessed
                : seg_type::kWritable | seg_type::kAccessed;
  s.dpl = uint8_t(dpl);
  s.present = 1;
  s.l = l;
  s.db = db;
  return s;
}

Segment null_segment(uint16_t selector, unsigned dpl) {
  Segment s;
  s.selector = selector;
  s.base = 0;
  s.limit = 0;
  s.present = 0;
  s.unusable = 1;
  s.dpl = uint8_t(dpl);
  return s;
}

void Cpu::check_access(unsigned s, uint64_t off, unsigned size, Access a) {
  // Segment numbers come from the decoder's 3-bit sreg field mapped onto kES..kGS; the bound is
  // spelled out so the compiler sees it too (an ASan build otherwise warns about seg[32]).
  if (s < std::size(seg) && ((seg_checked >> s) & 1)) {
    const Segment& g = seg[s];
    const uint8_t vector = s == kSS ? vec::kSS : vec::kGP;
    if (g.unusable) fault(vector, 0);
    const bool code = g.type & seg_type::kCode, writable = !code && (g.type & seg_type::kWritable);
    const bool readable = !code || (g.type & seg_type::kReadable);
    if (a == Access::kWrite ? !writable : !readable) fault(vec::kGP, 0);
    const uint64_t last = off + size - 1;
    if (!code && (g.type & seg_type::kExpandDown)) {
      // Expand-down: the valid offsets lie above the limit, up to 64 KiB or 4 GiB by the B bit.
      if (off <= g.limit || last > (g.db ? 0xffffffffull : 0xffffull)) fault(vector, 0);
    } else if (last > g.limit) {
      fault(vector, 0);
    }
  }
  // Operands of odd sizes (far pointers, descriptor-table registers) are not alignment-checked.
  if (align_checked && std::has_single_bit(size) && (linear(s, off) & (size - 1)))
    fault(vec::kAC, 0);
}

Segment Cpu::unpack_descriptor(uint16_t selector, uint64_t d) {
  Segment s;
  s.selector = selector;
  s.base = ((d >> 16) & 0xffffff) | ((d >> 56) & 0xff) << 24;
  uint32_t limit = uint32_t((d & 0xffff) | ((d >> 48) & 0xf) << 16);
  s.g = (d >> 55) & 1;
  s.limit = s.g ? (limit << 12 | 0xfff) : limit;
  s.type = (d >> x86::descriptor::kTypeShift) & 0xf;
  s.s = (d >> 44) & 1;
  s.dpl = (d >> 45) & 3;
  s.present = (d >> 47) & 1;
  s.avl = (d >> 52) & 1;
  s.l = (d >> 53) & 1;
  s.db = (d >> 54) & 1;
  s.unusable = 0;
  return s;
}

uint64_t Cpu::read_descriptor(uint16_t selector, uint8_t vector_on_fail) {
  const bool local = selector & 4;
  uint64_t base = local ? ldtr.base : gdt.base;
  uint32_t limit = local ? ldtr.limit : gdt.limit;
  if ((local && ldtr.unusable) || uint32_t(selector & ~7u) + 7 > limit)
    fault(vector_on_fail, selector & 0xfffc);
  return read_sys<uint64_t>((base + (selector & ~7u)) & lin_mask);
}

void Cpu::write_descriptor_accessed(uint16_t selector, uint64_t desc) {
  if (desc & x86::descriptor::kAccessedBit) return;
  uint64_t base = (selector & 4) ? ldtr.base : gdt.base;
  write_sys<uint8_t>(
      (base + (selector & ~7u) + x86::descriptor::kAccessByte) & lin_mask,
      uint8_t((desc | x86::descriptor::kAccessedBit) >> x86::descriptor::kTypeShift));
}

void Cpu::set_real_segment(unsigned s, uint16_t selector) {
  seg[s].selector = selector;
  seg[s].base = uint64_t(selector) << 4;
  if (flags_raw & rflags::kVM) {
    seg[s].limit = 0xffff;
    seg[s].dpl = 3;
  }
  seg[s].present = 1;
  seg[s].unusable = 0;
  refresh_mode();
}

void Cpu::set_cs(const Segment& s, unsigned new_cpl) {
  seg[kCS] = s;
  seg[kCS].selector = uint16_t((s.selector & ~3u) | new_cpl);
  cpl = new_cpl;
  refresh_mode();
}

void Cpu::load_segment(unsigned s, uint16_t selector) {
  if (!(cr0 & cr0::kPE) || (flags_raw & rflags::kVM)) {
    set_real_segment(s, selector);
    if (s == kSS) interrupt_shadow = true;
    return;
  }
  const unsigned rpl = selector & 3;
  if ((selector & 0xfffc) == 0) {
    if (s == kSS && !(mode64 && cpl != 3)) fault(vec::kGP, 0);
    seg[s] = null_segment(selector, s == kSS ? cpl : 0);
    seg[s].db = s == kSS ? 1 : 0;
    refresh_mode();
    if (s == kSS) interrupt_shadow = true;
    return;
  }
  uint64_t d = read_descriptor(selector);
  Segment n = unpack_descriptor(selector, d);
  const bool code = n.type & seg_type::kCode;
  const bool writable = !code && (n.type & seg_type::kWritable);
  const bool readable = !code || (n.type & seg_type::kReadable);
  const bool conforming = code && (n.type & seg_type::kConforming);
  if (!n.s) fault(vec::kGP, selector & 0xfffc);
  if (s == kSS) {
    if (rpl != cpl || n.dpl != cpl || !writable) fault(vec::kGP, selector & 0xfffc);
    if (!n.present) fault(vec::kSS, selector & 0xfffc);
  } else {
    if (!readable) fault(vec::kGP, selector & 0xfffc);
    if (!conforming && (rpl > n.dpl || cpl > n.dpl)) fault(vec::kGP, selector & 0xfffc);
    if (!n.present) fault(vec::kNP, selector & 0xfffc);
  }
  write_descriptor_accessed(selector, d);
  n.type |= seg_type::kAccessed;
  if (mode64 && (s == kFS || s == kGS)) n.base &= 0xffffffff;
  seg[s] = n;
  refresh_mode();
  if (s == kSS) interrupt_shadow = true;
}

} // namespace rrvm::emu
