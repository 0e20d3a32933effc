// Control transfer: near and far jumps, calls and returns, conditional branches, loops, software
// interrupts and IRET in every mode, and the fast system calls (SYSCALL/SYSRET/SYSENTER/SYSEXIT).
#include <array>
#include <utility>

#include "vmm/emu/cpu.h"
#include "vmm/emu/handlers.h"

namespace rrvm::emu {

namespace {

uint64_t ip_mask(unsigned osize) {
  return Cpu::amask(osize);
}

uint64_t rel_target(Cpu& c, const Insn& in) {
  return (c.next_rip + uint64_t(in.op[0].disp)) & ip_mask(in.osize);
}

template <unsigned CC> void op_jcc(Cpu& c, const Insn& in) {
  if (c.cond(CC)) c.next_rip = rel_target(c, in);
}

void op_jmp_rel(Cpu& c, const Insn& in) {
  c.next_rip = rel_target(c, in);
}

uint64_t near_target(Cpu& c, const Insn& in) {
  const Operand& o = in.op[0];
  switch (in.osize) {
  case 2:
    return c.get<uint16_t>(o, in);
  case 4:
    return c.get<uint32_t>(o, in);
  default:
    return c.get<uint64_t>(o, in);
  }
}

void op_jmp_ind(Cpu& c, const Insn& in) {
  c.next_rip = near_target(c, in);
}

void op_call_rel(Cpu& c, const Insn& in) {
  uint64_t t = rel_target(c, in);
  c.push_sized(in.osize, c.next_rip);
  c.next_rip = t;
}

void op_call_ind(Cpu& c, const Insn& in) {
  uint64_t t = near_target(c, in);
  c.push_sized(in.osize, c.next_rip);
  c.next_rip = t;
}

void op_ret(Cpu& c, const Insn& in) {
  uint64_t t = c.pop_sized(in.osize);
  if (in.op[0].kind == OpKind::kImm) {
    uint64_t m = c.sp_mask();
    c.gpr[kRsp] = (c.gpr[kRsp] & ~m) | ((c.gpr[kRsp] + uint16_t(in.op[0].disp)) & m);
  }
  c.next_rip = t;
}

// LOOP/LOOPE/LOOPNE/JCXZ: `cc` selects 0 loop, 1 loope, 2 loopne, 3 jcxz.
void op_loop(Cpu& c, const Insn& in) {
  const uint64_t am = Cpu::amask(in.asize);
  bool take;
  if (in.cc == 3) {
    take = (c.gpr[kRcx] & am) == 0;
  } else {
    c.gpr[kRcx] = (c.gpr[kRcx] & ~am) | ((c.gpr[kRcx] - 1) & am);
    take = (c.gpr[kRcx] & am) != 0;
    if (in.cc == 1) take = take && c.zf();
    if (in.cc == 2) take = take && !c.zf();
  }
  if (take) c.next_rip = rel_target(c, in);
}

// ---- far transfers ----

struct FarPtr {
  uint16_t sel;
  uint64_t off;
};

FarPtr far_operand(Cpu& c, const Insn& in) {
  const Operand& o = in.op[0];
  if (o.kind == OpKind::kImm) return {uint16_t(in.extra), uint64_t(o.disp) & ip_mask(in.osize)};
  uint64_t la = c.linear(o, in, in.osize + 2, Cpu::Access::kRead);
  uint64_t off = c.read_sized(la, in.osize);
  uint16_t sel = c.read<uint16_t>((la + in.osize) & c.lin_mask);
  return {sel, off};
}

// Checks a far JMP/CALL target and returns its CS; only code segments (no gates).
Segment far_code_target(Cpu& c, const Insn& in, uint16_t sel, uint64_t* desc) {
  if ((sel & 0xfffc) == 0) Cpu::fault(vec::kGP, 0);
  *desc = c.read_descriptor(sel);
  Segment s = Cpu::unpack_descriptor(sel, *desc);
  if (!s.s) c.unsupported(in, "far transfer through a call gate or TSS");
  if (!(s.type & seg_type::kCode)) Cpu::fault(vec::kGP, sel & 0xfffc);
  const bool conforming = s.type & seg_type::kConforming;
  if (conforming ? s.dpl > c.cpl : ((sel & 3) > c.cpl || s.dpl != c.cpl))
    Cpu::fault(vec::kGP, sel & 0xfffc);
  if (!s.present) Cpu::fault(vec::kNP, sel & 0xfffc);
  return s;
}

bool real_like(const Cpu& c) {
  return !(c.cr0 & cr0::kPE) || (c.flags_raw & rflags::kVM);
}

void op_jmp_far(Cpu& c, const Insn& in) {
  FarPtr p = far_operand(c, in);
  if (real_like(c)) {
    c.set_real_segment(kCS, p.sel);
    c.next_rip = p.off & 0xffffffff;
    return;
  }
  uint64_t d;
  Segment s = far_code_target(c, in, p.sel, &d);
  c.write_descriptor_accessed(p.sel, d);
  s.type |= seg_type::kAccessed;
  c.set_cs(s, c.cpl);
  c.next_rip = p.off;
}

void op_call_far(Cpu& c, const Insn& in) {
  FarPtr p = far_operand(c, in);
  const unsigned w = in.osize;
  uint64_t m = c.sp_mask(), sp = c.gpr[kRsp];
  auto push_both = [&] {
    c.write_sized(c.linear(kSS, (sp - w) & m, w, Cpu::Access::kWrite), w, c.seg[kCS].selector);
    c.write_sized(c.linear(kSS, (sp - 2 * w) & m, w, Cpu::Access::kWrite), w, c.next_rip);
    c.gpr[kRsp] = (sp & ~m) | ((sp - 2 * w) & m);
  };
  if (real_like(c)) {
    push_both();
    c.set_real_segment(kCS, p.sel);
    c.next_rip = p.off & 0xffffffff;
    return;
  }
  uint64_t d;
  Segment s = far_code_target(c, in, p.sel, &d);
  push_both();
  c.write_descriptor_accessed(p.sel, d);
  s.type |= seg_type::kAccessed;
  c.set_cs(s, c.cpl);
  c.next_rip = p.off;
}

// Segment registers that the outer privilege level may not keep are nulled on return.
void null_inaccessible_segments(Cpu& c) {
  for (unsigned s : {kES, kDS, kFS, kGS}) {
    const Segment& g = c.seg[s];
    const bool conforming_code = (g.type & seg_type::kCode) && (g.type & seg_type::kConforming);
    if (g.unusable || !g.s || conforming_code || g.dpl >= c.cpl) continue;
    c.seg[s].selector = 0;
    c.seg[s].unusable = 1;
    c.seg[s].present = 0;
  }
  c.refresh_mode();
}

// Loads the CS (and, for an outer return, SS:RSP) a far RET or IRET pops.
// `pop_stack`: whether SS:RSP are on the stack (outer level, or always from 64-bit IRET).
struct ReturnFrame {
  uint16_t cs;
  uint64_t rip;
  uint16_t ss = 0;
  uint64_t rsp = 0;
};

void far_return(Cpu& c, const ReturnFrame& f, bool stack_popped, uint64_t after_sp) {
  const unsigned rpl = f.cs & 3;
  if ((f.cs & 0xfffc) == 0) Cpu::fault(vec::kGP, 0);
  const uint64_t d = c.read_descriptor(f.cs);
  Segment cs = Cpu::unpack_descriptor(f.cs, d);
  if (!cs.s || !(cs.type & seg_type::kCode) || rpl < c.cpl) Cpu::fault(vec::kGP, f.cs & 0xfffc);
  const bool conforming = cs.type & seg_type::kConforming;
  if (conforming ? cs.dpl > rpl : cs.dpl != rpl) Cpu::fault(vec::kGP, f.cs & 0xfffc);
  if (!cs.present) Cpu::fault(vec::kNP, f.cs & 0xfffc);
  const bool lma = c.efer & efer::kLMA;
  if (stack_popped) {
    Segment ss;
    uint64_t sd = 0;
    const bool to64 = lma && cs.l;
    if ((f.ss & 0xfffc) == 0) {
      if (!to64 || rpl == 3) Cpu::fault(vec::kGP, 0);
      ss = null_segment(f.ss, rpl);
    } else {
      sd = c.read_descriptor(f.ss);
      ss = Cpu::unpack_descriptor(f.ss, sd);
      if ((f.ss & 3) != rpl || ss.dpl != rpl || !ss.s || (ss.type & seg_type::kCode) ||
          !(ss.type & seg_type::kWritable))
        Cpu::fault(vec::kGP, f.ss & 0xfffc);
      if (!ss.present) Cpu::fault(vec::kSS, f.ss & 0xfffc);
      c.write_descriptor_accessed(f.ss, sd);
      ss.type |= seg_type::kAccessed;
    }
    c.write_descriptor_accessed(f.cs, d);
    cs.type |= seg_type::kAccessed;
    const unsigned old_cpl = c.cpl;
    c.seg[kSS] = ss;
    c.set_cs(cs, rpl);
    c.gpr[kRsp] = to64    ? f.rsp
                  : ss.db ? (f.rsp & 0xffffffff)
                          : ((c.gpr[kRsp] & ~0xffffull) | (f.rsp & 0xffff));
    if (rpl > old_cpl) null_inaccessible_segments(c);
  } else {
    c.write_descriptor_accessed(f.cs, d);
    cs.type |= seg_type::kAccessed;
    c.set_cs(cs, rpl);
    uint64_t m = c.sp_mask();
    c.gpr[kRsp] = (c.gpr[kRsp] & ~m) | (after_sp & m);
  }
  c.next_rip = f.rip;
}

void op_ret_far(Cpu& c, const Insn& in) {
  const unsigned w = in.osize;
  const uint64_t imm = in.op[0].kind == OpKind::kImm ? uint16_t(in.op[0].disp) : 0;
  ReturnFrame f;
  f.rip = c.stack_peek(w, 0);
  f.cs = uint16_t(c.stack_peek(w, 1));
  if (real_like(c)) {
    uint64_t m = c.sp_mask();
    c.gpr[kRsp] = (c.gpr[kRsp] & ~m) | ((c.gpr[kRsp] + 2 * w + imm) & m);
    c.set_real_segment(kCS, f.cs);
    c.next_rip = f.rip;
    return;
  }
  const bool outer = (f.cs & 3) > c.cpl;
  if (outer) {
    // SS:RSP sit above the parameters the immediate releases.
    uint64_t base = c.gpr[kRsp] + 2 * w + imm;
    uint64_t m = c.sp_mask();
    f.rsp = c.read_sized(c.linear(kSS, base & m, w, Cpu::Access::kRead), w) + imm;
    f.ss = uint16_t(c.read_sized(c.linear(kSS, (base + w) & m, w, Cpu::Access::kRead), w));
  }
  far_return(c, f, outer, c.gpr[kRsp] + 2 * w + imm);
}

// The instruction IRET returns to retires before the next external interrupt is taken. The SDM
// gives IRET no interrupt shadow, but when an interrupt is recognized relative to an instruction
// boundary is the CPU's choice; this one guarantees that a guest whose timer fires faster than
// the interpreter runs its handler (the PIT at divisor 1) still makes progress, as it does on
// hardware. Held through the STI shadow, so it is part of the saved state.
void hold_interrupts_after_iret(Cpu& c) {
  if (c.flags_raw & rflags::kIF) c.interrupt_shadow = true;
}

void op_iret(Cpu& c, const Insn& in) {
  const unsigned w = in.osize;
  if (real_like(c)) {
    if (c.flags_raw & rflags::kVM) c.unsupported(in, "IRET in virtual-8086 mode");
    uint64_t ip = c.stack_peek(w, 0), cs = c.stack_peek(w, 1), fl = c.stack_peek(w, 2);
    uint64_t m = c.sp_mask();
    c.gpr[kRsp] = (c.gpr[kRsp] & ~m) | ((c.gpr[kRsp] + 3 * w) & m);
    c.set_real_segment(kCS, uint16_t(cs));
    c.load_flags(fl, w, true);
    c.next_rip = ip & ip_mask(w);
    hold_interrupts_after_iret(c);
    return;
  }
  const uint64_t fl0 = c.rflags();
  if ((fl0 & rflags::kNT) && !(c.efer & efer::kLMA))
    c.unsupported(in, "IRET with NT set (task return)");
  ReturnFrame f;
  f.rip = c.stack_peek(w, 0);
  f.cs = uint16_t(c.stack_peek(w, 1));
  uint64_t fl = c.stack_peek(w, 2);
  if ((fl & rflags::kVM) && c.cpl == 0 && w == 4) c.unsupported(in, "IRET to virtual-8086 mode");
  const bool pop_stack = c.mode64 || (f.cs & 3) > c.cpl;
  if (pop_stack) {
    f.rsp = c.stack_peek(w, 3);
    f.ss = uint16_t(c.stack_peek(w, 4));
  }
  const unsigned old_cpl = c.cpl;
  far_return(c, f, pop_stack, c.gpr[kRsp] + 3 * w);
  // The flags are judged by the privilege level IRET started at.
  const unsigned new_cpl = c.cpl;
  c.cpl = old_cpl;
  c.load_flags(fl, w, true);
  c.cpl = new_cpl;
  c.refresh_mode();
  hold_interrupts_after_iret(c);
}

void op_int(Cpu& c, const Insn& in) {
  c.deliver(uint8_t(in.op[0].disp), Cpu::EventKind::kSoftware, std::nullopt, c.next_rip);
}
void op_int3(Cpu& c, const Insn&) {
  c.deliver(vec::kBP, Cpu::EventKind::kSoftwareException, std::nullopt, c.next_rip);
}
void op_into(Cpu& c, const Insn&) {
  if (c.of()) c.deliver(vec::kOF, Cpu::EventKind::kSoftwareException, std::nullopt, c.next_rip);
}
void op_int1(Cpu& c, const Insn&) {
  c.deliver(vec::kDB, Cpu::EventKind::kException, std::nullopt, c.next_rip);
}

// ---- fast system calls ----

void op_syscall(Cpu& c, const Insn& in) {
  if (!(c.efer & efer::kSCE) || !(c.efer & efer::kLMA))
    c.unsupported(in, "SYSCALL outside long mode or with EFER.SCE clear");
  const uint16_t base = uint16_t(c.msr.star >> 32) & 0xfffc;
  const uint64_t fl = c.rflags();
  c.gpr[kRcx] = c.next_rip;
  c.gpr[kR11] = fl & ~rflags::kRF;
  const bool from64 = c.mode64;
  c.seg[kSS] = flat_segment(uint16_t(base + 8), false, false, true, 0);
  c.set_cs(flat_segment(base, true, true, false, 0), 0);
  c.set_rflags(fl & ~(c.msr.sfmask | rflags::kRF));
  c.refresh_mode();
  c.next_rip = from64 ? c.msr.lstar : c.msr.cstar;
}

void op_sysret(Cpu& c, const Insn& in) {
  if (!(c.efer & efer::kSCE)) Cpu::fault(vec::kUD);
  if (c.cpl != 0 || !c.mode64) Cpu::fault(vec::kGP, 0);
  const uint16_t base = uint16_t(c.msr.star >> 48);
  if (in.osize == 8) {
    c.set_cs(flat_segment(uint16_t((base + 16) | 3), true, true, false, 3), 3);
    c.next_rip = c.gpr[kRcx];
  } else {
    c.set_cs(flat_segment(uint16_t(base | 3), true, false, true, 3), 3);
    c.next_rip = c.gpr[kRcx] & 0xffffffff;
  }
  Segment ss = flat_segment(uint16_t((base + 8) | 3), false, false, true, 3);
  c.seg[kSS] = ss;
  c.set_rflags((c.gpr[kR11] & 0x3c7fd7) | rflags::kFixed1);
  c.refresh_mode();
}

void op_sysenter(Cpu& c, const Insn&) {
  if (!(c.cr0 & cr0::kPE)) Cpu::fault(vec::kGP, 0);
  const uint16_t cs = uint16_t(c.msr.sysenter_cs) & 0xfffc;
  if (cs == 0) Cpu::fault(vec::kGP, 0);
  const bool lma = c.efer & efer::kLMA;
  c.set_rflags(c.rflags() & ~(rflags::kVM | rflags::kIF | rflags::kRF));
  c.seg[kSS] = flat_segment(uint16_t(cs + 8), false, false, true, 0);
  c.set_cs(flat_segment(cs, true, lma, !lma, 0), 0);
  c.gpr[kRsp] = lma ? c.msr.sysenter_esp : c.msr.sysenter_esp & 0xffffffff;
  c.next_rip = lma ? c.msr.sysenter_eip : c.msr.sysenter_eip & 0xffffffff;
}

void op_sysexit(Cpu& c, const Insn& in) {
  const uint16_t cs = uint16_t(c.msr.sysenter_cs) & 0xfffc;
  if (!(c.cr0 & cr0::kPE) || c.cpl != 0 || cs == 0) Cpu::fault(vec::kGP, 0);
  if (in.osize == 8) {
    c.seg[kSS] = flat_segment(uint16_t((cs + 40) | 3), false, false, true, 3);
    c.set_cs(flat_segment(uint16_t((cs + 32) | 3), true, true, false, 3), 3);
    c.gpr[kRsp] = c.gpr[kRcx];
    c.next_rip = c.gpr[kRdx];
  } else {
    c.seg[kSS] = flat_segment(uint16_t((cs + 24) | 3), false, false, true, 3);
    c.set_cs(flat_segment(uint16_t((cs + 16) | 3), true, false, true, 3), 3);
    c.gpr[kRsp] = c.gpr[kRcx] & 0xffffffff;
    c.next_rip = c.gpr[kRdx] & 0xffffffff;
  }
}

template <unsigned... I> constexpr auto jcc_table(std::integer_sequence<unsigned, I...>) {
  return std::array<Handler, sizeof...(I)>{op_jcc<I>...};
}
constexpr auto kJccTable = jcc_table(std::make_integer_sequence<unsigned, 16>{});

} // namespace

Handler select_control(const ZydisDecodedInstruction& zi, Insn& in) {
  in.ends_block = true;
  switch (zi.mnemonic) {
  case ZYDIS_MNEMONIC_JMP:
    if (zi.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR) return op_jmp_far;
    return in.op[0].kind == OpKind::kImm ? op_jmp_rel : op_jmp_ind;
  case ZYDIS_MNEMONIC_CALL:
    if (zi.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR) return op_call_far;
    return in.op[0].kind == OpKind::kImm ? op_call_rel : op_call_ind;
  case ZYDIS_MNEMONIC_RET:
    return zi.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR ? op_ret_far : op_ret;
  case ZYDIS_MNEMONIC_LOOP:
    in.cc = 0;
    return op_loop;
  case ZYDIS_MNEMONIC_LOOPE:
    in.cc = 1;
    return op_loop;
  case ZYDIS_MNEMONIC_LOOPNE:
    in.cc = 2;
    return op_loop;
  case ZYDIS_MNEMONIC_JCXZ:
  case ZYDIS_MNEMONIC_JECXZ:
  case ZYDIS_MNEMONIC_JRCXZ:
    in.cc = 3;
    return op_loop;
  case ZYDIS_MNEMONIC_IRET:
  case ZYDIS_MNEMONIC_IRETD:
  case ZYDIS_MNEMONIC_IRETQ:
    return op_iret;
  case ZYDIS_MNEMONIC_INT:
    return op_int;
  case ZYDIS_MNEMONIC_INT3:
    return op_int3;
  case ZYDIS_MNEMONIC_INTO:
    return op_into;
  case ZYDIS_MNEMONIC_INT1:
    return op_int1;
  case ZYDIS_MNEMONIC_SYSCALL:
    return op_syscall;
  case ZYDIS_MNEMONIC_SYSRET:
    return op_sysret;
  case ZYDIS_MNEMONIC_SYSENTER:
    return op_sysenter;
  case ZYDIS_MNEMONIC_SYSEXIT:
    return op_sysexit;
  default:
    break;
  }
  if (zi.meta.category == ZYDIS_CATEGORY_COND_BR && in.op[0].kind == OpKind::kImm) {
    in.cc = zi.opcode & 0xf;
    return kJccTable[in.cc];
  }
  in.ends_block = false;
  return nullptr;
}

} // namespace rrvm::emu
