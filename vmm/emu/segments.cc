// Segment registers: descriptor fetch and decode, the protected-mode checks of segment loads,
// and the cached mode bits derived from CS, SS, CR0 and EFER.
#include "vmm/emu/cpu.h"

namespace rrvm::emu {

void Cpu::refresh_mode() {
  const bool lma = efer & efer::kLMA;
  mode64 = lma && seg[kCS].l;
  if (!(cr0 & cr0::kPE) || (flags_raw & rflags::kVM))
    code_bits = 16;
  else
    code_bits = mode64 ? 64 : seg[kCS].db ? 32 : 16;
  lin_mask = mode64 ? ~0ull : 0xffffffffull;
  for (unsigned i = 0; i < 6; ++i)
    seg_base[i] = mode64 ? (i >= kFS ? seg[i].base : 0) : (seg[i].base & 0xffffffff);
  const bool user = cpl == 3;
  acc_read = user ? perm::kReadU : perm::kReadS;
  acc_write = user ? perm::kWriteU : perm::kWriteS;
  acc_exec = user ? perm::kExecU : perm::kExecS;
}

Segment Cpu::unpack_descriptor(uint16_t selector, uint64_t d) {
  Segment s;
  s.selector = selector;
  s.base = ((d >> 16) & 0xffffff) | ((d >> 56) & 0xff) << 24;
  uint32_t limit = uint32_t((d & 0xffff) | ((d >> 48) & 0xf) << 16);
  s.g = (d >> 55) & 1;
  s.limit = s.g ? (limit << 12 | 0xfff) : limit;
  s.type = (d >> 40) & 0xf;
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
  if (desc & (1ull << 40)) return;
  uint64_t base = (selector & 4) ? ldtr.base : gdt.base;
  write_sys<uint8_t>((base + (selector & ~7u) + 5) & lin_mask, uint8_t((desc >> 40) | 1));
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
    Segment null;
    null.selector = selector;
    null.base = 0;
    null.limit = 0;
    null.present = 0;
    null.unusable = 1;
    null.dpl = s == kSS ? uint8_t(cpl) : 0;
    null.db = s == kSS ? 1 : 0;
    seg[s] = null;
    refresh_mode();
    if (s == kSS) interrupt_shadow = true;
    return;
  }
  uint64_t d = read_descriptor(selector);
  Segment n = unpack_descriptor(selector, d);
  const bool code = n.type & 8, writable = !code && (n.type & 2), readable = !code || (n.type & 2);
  const bool conforming = code && (n.type & 4);
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
  n.type |= 1;
  if (mode64 && (s == kFS || s == kGS)) n.base &= 0xffffffff;
  seg[s] = n;
  refresh_mode();
  if (s == kSS) interrupt_shadow = true;
}

} // namespace rrvm::emu
