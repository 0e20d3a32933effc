// System instructions: segment register moves, descriptor tables, control and debug registers,
// MSRs, CPUID, RDTSC, HLT, CLI/STI, PUSHF/POPF, port I/O, and the few x87 housekeeping opcodes
// kernels execute without using x87 state.
#include "vmm/emu/cpu.h"
#include "vmm/emu/handlers.h"
#include "vmm/msr_index.h"
#include "vmm/msr_model.h"
#include "vmm/x86/tss.h"

namespace rrvm::emu {

namespace {

void require_cpl0(Cpu& c) {
  if ((c.cr0 & cr0::kPE) && c.cpl != 0) Cpu::fault(vec::kGP, 0);
}

unsigned iopl(Cpu& c) {
  return (c.flags_raw >> 12) & 3;
}

void op_mov_to_sreg(Cpu& c, const Insn& in) {
  if (in.op[0].reg == kCS) Cpu::fault(vec::kUD);
  c.load_segment(in.op[0].reg, c.get<uint16_t>(in.op[1], in));
}

void op_mov_from_sreg(Cpu& c, const Insn& in) {
  uint16_t v = c.seg[in.op[1].reg].selector;
  if (in.op[0].kind == OpKind::kMem)
    c.write<uint16_t>(c.linear(in.op[0], in, 2, Cpu::Access::kWrite), v);
  else
    c.set_reg_sized(in.op[0].reg, in.op[0].size == 2 ? 2 : 4, v); // 32-bit forms zero-extend
}

void op_push_sreg(Cpu& c, const Insn& in) {
  uint16_t v = c.seg[in.op[0].reg].selector;
  if (in.osize == 2)
    c.push<uint16_t>(v);
  else if (in.osize == 4)
    c.push<uint32_t>(v);
  else
    c.push<uint64_t>(v);
}

void op_pop_sreg(Cpu& c, const Insn& in) {
  uint64_t saved = c.gpr[kRsp];
  uint16_t v = uint16_t(c.pop_sized(in.osize));
  try {
    c.load_segment(in.op[0].reg, v);
  } catch (const GuestFault&) {
    c.gpr[kRsp] = saved;
    throw;
  }
}

// LDS/LES/LFS/LGS/LSS: `cc` holds the segment register.
void op_load_far(Cpu& c, const Insn& in) {
  unsigned w = in.osize;
  uint64_t la = c.linear(in.op[1], in, w + 2, Cpu::Access::kRead);
  uint64_t off = c.read_sized(la, w);
  uint16_t sel = c.read<uint16_t>((la + w) & c.lin_mask);
  c.load_segment(in.cc, sel);
  c.set_reg_sized(in.op[0].reg, w, off);
}

void op_lgdt_lidt(Cpu& c, const Insn& in) {
  require_cpl0(c);
  uint64_t la = c.linear(in.op[0], in, c.mode64 ? 10 : 6, Cpu::Access::kRead);
  uint16_t limit = c.read<uint16_t>(la);
  uint64_t base =
      c.mode64 ? c.read<uint64_t>((la + 2) & c.lin_mask) : c.read<uint32_t>((la + 2) & c.lin_mask);
  if (in.osize == 2 && !c.mode64) base &= 0xffffff;
  DescriptorTable& t = in.cc ? c.idt : c.gdt;
  t.limit = limit;
  t.base = base;
}

void op_sgdt_sidt(Cpu& c, const Insn& in) {
  uint64_t la = c.linear(in.op[0], in, c.mode64 ? 10 : 6, Cpu::Access::kWrite);
  const DescriptorTable& t = in.cc ? c.idt : c.gdt;
  c.write<uint16_t>(la, t.limit);
  if (c.mode64)
    c.write<uint64_t>((la + 2) & c.lin_mask, t.base);
  else
    c.write<uint32_t>((la + 2) & c.lin_mask, uint32_t(t.base));
}

void store_selector(Cpu& c, const Insn& in, uint16_t v) {
  if (in.op[0].kind == OpKind::kMem)
    c.write<uint16_t>(c.linear(in.op[0], in, 2, Cpu::Access::kWrite), v);
  else
    c.set_reg_sized(in.op[0].reg, in.op[0].size, v);
}

// LLDT and LTR load system descriptors, 16 bytes long in long mode.
Segment load_system_descriptor(Cpu& c, uint16_t sel, uint64_t* desc) {
  if (sel & 4) Cpu::fault(vec::kGP, sel & 0xfffc);
  *desc = c.read_descriptor(sel);
  Segment s = Cpu::unpack_descriptor(sel, *desc);
  if (c.efer & efer::kLMA) {
    if ((sel & ~7u) + 15 > c.gdt.limit) Cpu::fault(vec::kGP, sel & 0xfffc);
    uint64_t hi = c.read_sys<uint64_t>((c.gdt.base + (sel & ~7u) + 8) & c.lin_mask);
    s.base |= (hi & 0xffffffff) << 32;
  }
  return s;
}

void op_lldt(Cpu& c, const Insn& in) {
  require_cpl0(c);
  if (!(c.cr0 & cr0::kPE)) Cpu::fault(vec::kUD);
  uint16_t sel = c.get<uint16_t>(in.op[0], in);
  if ((sel & 0xfffc) == 0) {
    c.ldtr = Segment{};
    c.ldtr.selector = sel;
    c.ldtr.unusable = 1;
    return;
  }
  uint64_t d;
  Segment s = load_system_descriptor(c, sel, &d);
  if (s.s || s.type != sys_type::kLdt) Cpu::fault(vec::kGP, sel & 0xfffc);
  if (!s.present) Cpu::fault(vec::kNP, sel & 0xfffc);
  c.ldtr = s;
}

void op_ltr(Cpu& c, const Insn& in) {
  require_cpl0(c);
  if (!(c.cr0 & cr0::kPE)) Cpu::fault(vec::kUD);
  uint16_t sel = c.get<uint16_t>(in.op[0], in);
  if ((sel & 0xfffc) == 0) Cpu::fault(vec::kGP, 0);
  uint64_t d;
  Segment s = load_system_descriptor(c, sel, &d);
  const bool lma = c.efer & efer::kLMA;
  const bool tss =
      s.type == sys_type::kTssAvailable || (!lma && s.type == sys_type::kTss16Available);
  if (s.s || !tss) Cpu::fault(vec::kGP, sel & 0xfffc);
  if (!s.present) Cpu::fault(vec::kNP, sel & 0xfffc);
  // Mark the TSS busy in the GDT, as the CPU does.
  c.write_sys<uint8_t>((c.gdt.base + (sel & ~7u) + x86::descriptor::kAccessByte) & c.lin_mask,
                       uint8_t((d | x86::descriptor::kTssBusyBit) >> x86::descriptor::kTypeShift));
  s.type |= sys_type::kTssBusyBit;
  c.tr = s;
}

void op_sldt(Cpu& c, const Insn& in) {
  store_selector(c, in, c.ldtr.selector);
}
void op_str(Cpu& c, const Insn& in) {
  store_selector(c, in, c.tr.selector);
}
void op_smsw(Cpu& c, const Insn& in) {
  if (in.op[0].kind == OpKind::kMem)
    c.write<uint16_t>(c.linear(in.op[0], in, 2, Cpu::Access::kWrite), uint16_t(c.cr0));
  else
    c.set_reg_sized(in.op[0].reg, in.op[0].size, c.cr0);
}
void op_lmsw(Cpu& c, const Insn& in) {
  require_cpl0(c);
  uint16_t v = c.get<uint16_t>(in.op[0], in);
  // LMSW sets but never clears PE, and touches only PE/MP/EM/TS.
  uint64_t nv = (c.cr0 & ~0xeull) | (v & 0xf) | (c.cr0 & 1);
  c.write_cr(0, nv);
}

void op_mov_cr(Cpu& c, const Insn& in) {
  require_cpl0(c);
  const unsigned mask_bytes = c.mode64 ? 8 : 4;
  if (in.op[0].kind == OpKind::kCr) {
    c.write_cr(in.op[0].reg, c.gpr[in.op[1].reg] & Cpu::amask(mask_bytes));
    return;
  }
  uint64_t v;
  switch (in.op[1].reg) {
  case 0:
    v = c.cr0;
    break;
  case 2:
    v = c.cr2;
    break;
  case 3:
    v = c.cr3;
    break;
  case 4:
    v = c.cr4;
    break;
  case 8:
    v = c.cr8;
    break;
  default:
    Cpu::fault(vec::kUD);
  }
  c.set_reg_sized(in.op[0].reg, mask_bytes, v);
}

void op_mov_dr(Cpu& c, const Insn& in) {
  require_cpl0(c);
  auto slot = [&](unsigned n) -> uint64_t& {
    if (n < 4) return c.dr[n];
    if (n == 6 || (n == 4 && !(c.cr4 & cr4::kDE))) return c.dr6;
    if (n == 7 || (n == 5 && !(c.cr4 & cr4::kDE))) return c.dr7;
    Cpu::fault(vec::kUD);
  };
  const unsigned bytes = c.mode64 ? 8 : 4;
  if (in.op[0].kind == OpKind::kDr) {
    uint64_t v = c.gpr[in.op[1].reg] & Cpu::amask(bytes);
    unsigned n = in.op[0].reg;
    if (n == 6 || n == 4) v = (v & 0xe00f) | 0xffff0ff0;
    if (n == 7 || n == 5) v = (v & 0xffff2bff) | 0x400;
    slot(n) = v;
  } else {
    c.set_reg_sized(in.op[0].reg, bytes, slot(in.op[1].reg));
  }
}

void op_clts(Cpu& c, const Insn&) {
  require_cpl0(c);
  c.cr0 &= ~cr0::kTS;
}

void op_invlpg(Cpu& c, const Insn& in) {
  require_cpl0(c);
  c.flush_tlb_page(c.linear(in.op[0].seg, c.offset(in.op[0], in)));
}

void op_wbinvd(Cpu& c, const Insn&) {
  require_cpl0(c);
}

// RDMSR/WRMSR of an MSR the machine answers (msr_model.h), as KVM's MSR filter does it: the
// instruction stops the run with an exit, unretired, then executes again with the machine's
// answer. Returns the value read (or written), or nothing when the run stops.
std::optional<uint64_t> msr_from_machine(Cpu& c, uint32_t index, bool write, uint64_t value) {
  if (const emu::DeviceInput* answer = c.take_msr_input(index)) {
    if (answer->fault) Cpu::fault(vec::kGP, 0);
    return answer->value;
  }
  c.exit = Exit{};
  c.exit.reason = write ? ExitReason::kMsrWrite : ExitReason::kMsrRead;
  c.msr_buffer = value;
  c.msr_fault = false;
  c.exit.msr = MsrExit{index, &c.msr_buffer, &c.msr_fault};
  c.stop_unretired();
  return std::nullopt;
}

void op_rdmsr(Cpu& c, const Insn&) {
  require_cpl0(c);
  const uint32_t index = uint32_t(c.gpr[kRcx]);
  uint64_t v;
  if (!machine_answers_msr(index)) {
    v = c.read_msr(index);
  } else if (const std::optional<uint64_t> answer = msr_from_machine(c, index, false, 0)) {
    v = *answer;
  } else {
    return;
  }
  c.gpr[kRax] = uint32_t(v);
  c.gpr[kRdx] = v >> 32;
}

void op_wrmsr(Cpu& c, const Insn&) {
  require_cpl0(c);
  const uint32_t index = uint32_t(c.gpr[kRcx]);
  const uint64_t v = uint32_t(c.gpr[kRax]) | (c.gpr[kRdx] << 32);
  if (machine_answers_msr(index))
    msr_from_machine(c, index, true, v);
  else
    c.write_msr(index, v);
}

void op_cpuid(Cpu& c, const Insn&) {
  const CpuidEntry e = c.cpuid.lookup(uint32_t(c.gpr[kRax]), uint32_t(c.gpr[kRcx]));
  c.gpr[kRax] = e.eax;
  c.gpr[kRbx] = e.ebx;
  c.gpr[kRcx] = e.ecx;
  c.gpr[kRdx] = e.edx;
}

void op_rdtsc(Cpu& c, const Insn&) {
  if ((c.cr4 & cr4::kTSD) && c.cpl != 0 && (c.cr0 & cr0::kPE)) Cpu::fault(vec::kGP, 0);
  const uint64_t tsc = c.tsc_line.ns_at(c.icount) + c.tsc_offset;
  c.gpr[kRax] = uint32_t(tsc);
  c.gpr[kRdx] = uint32_t(tsc >> 32);
}

void op_hlt(Cpu& c, const Insn&) {
  require_cpl0(c);
  c.halted = true;
  c.exit = Exit{};
  c.exit.reason = ExitReason::kHlt;
  c.exit_pending = true;
  c.stop = true;
}

void op_cli(Cpu& c, const Insn&) {
  if ((c.cr0 & cr0::kPE) && c.cpl > iopl(c)) Cpu::fault(vec::kGP, 0);
  c.flags_raw &= ~rflags::kIF;
}

void op_sti(Cpu& c, const Insn&) {
  if ((c.cr0 & cr0::kPE) && c.cpl > iopl(c)) Cpu::fault(vec::kGP, 0);
  if (!(c.flags_raw & rflags::kIF)) c.interrupt_shadow = true;
  c.flags_raw |= rflags::kIF;
}

void op_pushf(Cpu& c, const Insn& in) {
  if ((c.flags_raw & rflags::kVM) && iopl(c) < 3) Cpu::fault(vec::kGP, 0);
  uint64_t f = c.rflags() & ~(rflags::kVM | rflags::kRF);
  c.push_sized(in.osize, f);
}

void op_popf(Cpu& c, const Insn& in) {
  if ((c.flags_raw & rflags::kVM) && iopl(c) < 3) Cpu::fault(vec::kGP, 0);
  uint64_t v = c.pop_sized(in.osize);
  c.load_flags(v, in.osize, false);
}

void op_swapgs(Cpu& c, const Insn&) {
  if (!c.mode64) Cpu::fault(vec::kUD);
  require_cpl0(c);
  std::swap(c.seg[kGS].base, c.msr.kernel_gs_base);
  c.refresh_mode();
}

template <bool Out> void op_io(Cpu& c, const Insn& in) {
  // Operands: IN acc, port / OUT port, acc; the port is an immediate or DX.
  const Operand& acc = Out ? in.op[1] : in.op[0];
  const Operand& p = Out ? in.op[0] : in.op[1];
  const uint16_t port = p.kind == OpKind::kImm ? uint16_t(uint8_t(p.disp)) : uint16_t(c.gpr[kRdx]);
  const unsigned size = acc.size;
  c.check_io_permission(port, size);
  if constexpr (Out) {
    uint64_t v = c.gpr[kRax];
    c.exit = Exit{};
    c.exit.reason = ExitReason::kIo;
    std::memcpy(c.io_buffer, &v, size);
    c.exit.io = IoExit{port, uint8_t(size), true, 1, c.io_buffer};
    c.exit_pending = true;
    c.stop = true;
  } else {
    uint64_t value;
    if (c.take_input(true, port, size, &value)) {
      c.set_reg_sized(kRax, size, value);
      return;
    }
    c.exit = Exit{};
    c.exit.reason = ExitReason::kIo;
    std::memset(c.io_buffer, 0, sizeof c.io_buffer);
    c.exit.io = IoExit{port, uint8_t(size), false, 1, c.io_buffer};
    c.stop_unretired();
  }
}

// LAR/LSL/VERR/VERW: only code/data descriptors are reported valid (system descriptors are
// reported invalid, which kernels tolerate).
bool probe_descriptor(Cpu& c, uint16_t sel, Segment* out) {
  if ((sel & 0xfffc) == 0) return false;
  const bool local = sel & 4;
  uint32_t limit = local ? c.ldtr.limit : c.gdt.limit;
  if ((local && c.ldtr.unusable) || uint32_t(sel & ~7u) + 7 > limit) return false;
  *out = Cpu::unpack_descriptor(sel, c.read_descriptor(sel));
  if (!out->s) return false;
  const bool conforming_code = (out->type & seg_type::kCode) && (out->type & seg_type::kConforming);
  return conforming_code || (out->dpl >= c.cpl && out->dpl >= (sel & 3));
}

void op_lar_lsl(Cpu& c, const Insn& in) {
  if (!(c.cr0 & cr0::kPE)) Cpu::fault(vec::kUD);
  Segment s;
  if (!probe_descriptor(c, c.get<uint16_t>(in.op[1], in), &s)) {
    c.set_arith(rflags::kZF, 0);
    return;
  }
  uint64_t v;
  if (in.cc) {
    v = s.limit;
  } else {
    uint64_t d = c.read_descriptor(c.get<uint16_t>(in.op[1], in));
    v = (d >> 32) & 0x00f0ff00;
  }
  c.set_reg_sized(in.op[0].reg, in.op[0].size, v);
  c.set_arith(rflags::kZF, rflags::kZF);
}

void op_verr_verw(Cpu& c, const Insn& in) {
  if (!(c.cr0 & cr0::kPE)) Cpu::fault(vec::kUD);
  Segment s;
  bool ok = probe_descriptor(c, c.get<uint16_t>(in.op[0], in), &s);
  const bool code = s.type & seg_type::kCode;
  if (ok)
    ok = in.cc ? (!code && (s.type & seg_type::kWritable))
               : (!code || (s.type & seg_type::kReadable));
  c.set_arith(rflags::kZF, ok ? rflags::kZF : 0);
}

void op_ud(Cpu&, const Insn&) {
  Cpu::fault(vec::kUD);
}

} // namespace

void Cpu::check_io_permission(uint16_t port, unsigned size) {
  if (!(cr0 & cr0::kPE)) return;
  if (!(flags_raw & rflags::kVM) && cpl <= ((flags_raw >> 12) & 3)) return;
  // The I/O permission bitmap in the TSS decides.
  if (!sys_type::is_tss32(tr.type) || tr.limit < x86::tss32::kMinLimit) fault(vec::kGP, 0);
  uint16_t base = read_sys<uint16_t>((tr.base + x86::tss32::kIoMapBase) & lin_mask);
  uint32_t at = base + port / 8;
  if (at + 1 > tr.limit) fault(vec::kGP, 0);
  uint16_t bits = read_sys<uint16_t>((tr.base + at) & lin_mask);
  if ((bits >> (port & 7)) & ((1u << size) - 1)) fault(vec::kGP, 0);
}

void Cpu::write_cr(unsigned n, uint64_t v) {
  // What the TLB's entries depend on beyond the page tables (SDM vol. 3 §4.10.4.1): changing any
  // of these drops every entry, global ones too.
  constexpr uint64_t kCr0TlbBits = cr0::kPG | cr0::kWP;
  constexpr uint64_t kCr4TlbBits = cr4::kPGE | cr4::kPAE | cr4::kPSE | cr4::kSMEP | cr4::kSMAP;
  constexpr uint64_t kCr4Pcide = 1u << 17; // PCIDs are not advertised (cpuid_table.cc)
  bool flush_all = false;
  switch (n) {
  case 0: {
    if ((v & cr0::kPG) && !(v & cr0::kPE)) fault(vec::kGP, 0);
    if ((v >> 32) != 0) fault(vec::kGP, 0);
    const bool enabling = (v & cr0::kPG) && !(cr0 & cr0::kPG);
    if (enabling && (efer & efer::kLME)) {
      if (!(cr4 & cr4::kPAE)) fault(vec::kGP, 0);
      efer |= efer::kLMA;
    }
    if (!(v & cr0::kPG) && (cr0 & cr0::kPG)) {
      if (mode64) fault(vec::kGP, 0);
      efer &= ~efer::kLMA;
    }
    flush_all = (cr0 ^ v) & kCr0TlbBits;
    cr0 = v | cr0::kET;
    break;
  }
  case 2:
    cr2 = v;
    return;
  case 3:
    cr3 = v;
    flush_tlb_nonglobal();
    break;
  case 4:
    if ((efer & efer::kLMA) && !(v & cr4::kPAE)) fault(vec::kGP, 0);
    if (v & kCr4Pcide) fault(vec::kGP, 0);
    flush_all = (cr4 ^ v) & kCr4TlbBits;
    cr4 = v;
    break;
  case 8:
    cr8 = v & 0xf;
    return;
  default:
    fault(vec::kUD);
  }
  if (flush_all) flush_tlb();
  refresh_mode();
}

void Cpu::set_efer(uint64_t v) {
  constexpr uint64_t kWritable = efer::kSCE | efer::kLME | efer::kNXE;
  if (v & ~(kWritable | efer::kLMA)) fault(vec::kGP, 0);
  if ((cr0 & cr0::kPG) && ((v ^ efer) & efer::kLME)) fault(vec::kGP, 0);
  efer = (v & kWritable) | (efer & efer::kLMA);
  flush_tlb();
  refresh_mode();
}

uint64_t Cpu::read_msr(uint32_t index) {
  switch (index) {
  case msr::kSysenterCs:
    return msr.sysenter_cs;
  case msr::kSysenterEsp:
    return msr.sysenter_esp;
  case msr::kSysenterEip:
    return msr.sysenter_eip;
  case msr::kPat:
    return msr.pat;
  case msr::kEfer:
    return efer;
  case msr::kStar:
    return msr.star;
  case msr::kLstar:
    return msr.lstar;
  case msr::kCstar:
    return msr.cstar;
  case msr::kSfmask:
    return msr.sfmask;
  case msr::kFsBase:
    return seg[kFS].base;
  case msr::kGsBase:
    return seg[kGS].base;
  case msr::kKernelGsBase:
    return msr.kernel_gs_base;
  default:
    fault(vec::kGP, 0);
  }
}

void Cpu::write_msr(uint32_t index, uint64_t v) {
  const bool canonical = uint64_t(int64_t(v << 16) >> 16) == v;
  switch (index) {
  case msr::kSysenterCs:
    msr.sysenter_cs = v & 0xffff;
    return;
  case msr::kSysenterEsp:
    if (!canonical) fault(vec::kGP, 0);
    msr.sysenter_esp = v;
    return;
  case msr::kSysenterEip:
    if (!canonical) fault(vec::kGP, 0);
    msr.sysenter_eip = v;
    return;
  case msr::kPat:
    msr.pat = v;
    return;
  case msr::kEfer:
    set_efer(v);
    return;
  case msr::kStar:
    msr.star = v;
    return;
  case msr::kLstar:
    if (!canonical) fault(vec::kGP, 0);
    msr.lstar = v;
    return;
  case msr::kCstar:
    if (!canonical) fault(vec::kGP, 0);
    msr.cstar = v;
    return;
  case msr::kSfmask:
    msr.sfmask = v & 0xffffffff;
    return;
  case msr::kFsBase:
    if (!canonical) fault(vec::kGP, 0);
    seg[kFS].base = v;
    refresh_mode();
    return;
  case msr::kGsBase:
    if (!canonical) fault(vec::kGP, 0);
    seg[kGS].base = v;
    refresh_mode();
    return;
  case msr::kKernelGsBase:
    if (!canonical) fault(vec::kGP, 0);
    msr.kernel_gs_base = v;
    return;
  default:
    fault(vec::kGP, 0);
  }
}

Handler select_system(const ZydisDecodedInstruction& zi, Insn& in) {
  in.ends_block = true;
  const OpKind k0 = in.op[0].kind, k1 = in.op[1].kind;
  switch (zi.mnemonic) {
  case ZYDIS_MNEMONIC_MOV:
    if (k0 == OpKind::kSreg) return op_mov_to_sreg;
    if (k1 == OpKind::kSreg) return op_mov_from_sreg;
    if (k0 == OpKind::kCr || k1 == OpKind::kCr) return op_mov_cr;
    if (k0 == OpKind::kDr || k1 == OpKind::kDr) return op_mov_dr;
    break;
  case ZYDIS_MNEMONIC_PUSH:
    if (k0 == OpKind::kSreg) return op_push_sreg;
    break;
  case ZYDIS_MNEMONIC_POP:
    if (k0 == OpKind::kSreg) return op_pop_sreg;
    break;
  case ZYDIS_MNEMONIC_LDS:
    in.cc = kDS;
    return op_load_far;
  case ZYDIS_MNEMONIC_LES:
    in.cc = kES;
    return op_load_far;
  case ZYDIS_MNEMONIC_LFS:
    in.cc = kFS;
    return op_load_far;
  case ZYDIS_MNEMONIC_LGS:
    in.cc = kGS;
    return op_load_far;
  case ZYDIS_MNEMONIC_LSS:
    in.cc = kSS;
    return op_load_far;
  case ZYDIS_MNEMONIC_LGDT:
    in.cc = 0;
    return op_lgdt_lidt;
  case ZYDIS_MNEMONIC_LIDT:
    in.cc = 1;
    return op_lgdt_lidt;
  case ZYDIS_MNEMONIC_SGDT:
    in.cc = 0;
    return op_sgdt_sidt;
  case ZYDIS_MNEMONIC_SIDT:
    in.cc = 1;
    return op_sgdt_sidt;
  case ZYDIS_MNEMONIC_LLDT:
    return op_lldt;
  case ZYDIS_MNEMONIC_LTR:
    return op_ltr;
  case ZYDIS_MNEMONIC_SLDT:
    return op_sldt;
  case ZYDIS_MNEMONIC_STR:
    return op_str;
  case ZYDIS_MNEMONIC_SMSW:
    return op_smsw;
  case ZYDIS_MNEMONIC_LMSW:
    return op_lmsw;
  case ZYDIS_MNEMONIC_CLTS:
    return op_clts;
  case ZYDIS_MNEMONIC_INVLPG:
    return op_invlpg;
  case ZYDIS_MNEMONIC_WBINVD:
  case ZYDIS_MNEMONIC_INVD:
    return op_wbinvd;
  case ZYDIS_MNEMONIC_RDMSR:
    return op_rdmsr;
  case ZYDIS_MNEMONIC_WRMSR:
    return op_wrmsr;
  case ZYDIS_MNEMONIC_CPUID:
    return op_cpuid;
  case ZYDIS_MNEMONIC_RDTSC:
    return op_rdtsc;
  case ZYDIS_MNEMONIC_HLT:
    return op_hlt;
  case ZYDIS_MNEMONIC_CLI:
    return op_cli;
  case ZYDIS_MNEMONIC_STI:
    return op_sti;
  case ZYDIS_MNEMONIC_PUSHF:
  case ZYDIS_MNEMONIC_PUSHFD:
  case ZYDIS_MNEMONIC_PUSHFQ:
    in.ends_block = false;
    return op_pushf;
  case ZYDIS_MNEMONIC_POPF:
  case ZYDIS_MNEMONIC_POPFD:
  case ZYDIS_MNEMONIC_POPFQ:
    return op_popf;
  case ZYDIS_MNEMONIC_SWAPGS:
    return op_swapgs;
  case ZYDIS_MNEMONIC_IN:
    return op_io<false>;
  case ZYDIS_MNEMONIC_OUT:
    return op_io<true>;
  case ZYDIS_MNEMONIC_LAR:
    in.cc = 0;
    return op_lar_lsl;
  case ZYDIS_MNEMONIC_LSL:
    in.cc = 1;
    return op_lar_lsl;
  case ZYDIS_MNEMONIC_VERR:
    in.cc = 0;
    return op_verr_verw;
  case ZYDIS_MNEMONIC_VERW:
    in.cc = 1;
    return op_verr_verw;
  case ZYDIS_MNEMONIC_UD0:
  case ZYDIS_MNEMONIC_UD1:
  case ZYDIS_MNEMONIC_UD2:
    return op_ud;
  default:
    break;
  }
  in.ends_block = false;
  return nullptr;
}

} // namespace rrvm::emu
