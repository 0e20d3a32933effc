// Event delivery: the real-mode IVT, protected-mode and long-mode IDT gates with stack switches
// through the TSS, exception escalation to #DF and triple fault, and RFLAGS reloads (POPF/IRET).
#include "vmm/emu/cpu.h"

namespace rrvm::emu {

namespace {

bool contributory(uint8_t v) {
  return v == vec::kDE || v == vec::kTS || v == vec::kNP || v == vec::kSS || v == vec::kGP;
}

bool has_error_code(uint8_t v) {
  return v == vec::kDF || (v >= vec::kTS && v <= vec::kPF) || v == vec::kAC;
}

[[noreturn]] void stop_unsupported(Cpu& c, const std::string& what) {
  c.exit = Exit{};
  c.exit.reason = ExitReason::kUnsupported;
  c.exit.detail = what;
  throw StopRun{};
}

} // namespace

void Cpu::load_flags(uint64_t value, unsigned osize, bool iret) {
  uint64_t old = rflags();
  const unsigned iopl = (old >> 12) & 3;
  uint64_t mask = rflags::kCF | rflags::kPF | rflags::kAF | rflags::kZF | rflags::kSF |
                  rflags::kTF | rflags::kDF | rflags::kOF | rflags::kNT | rflags::kAC | rflags::kID;
  if (iret) mask |= rflags::kRF;
  const bool prot = cr0 & cr0::kPE;
  if (!prot || cpl == 0) {
    mask |= rflags::kIOPL;
    if (iret && prot) mask |= rflags::kVIF | rflags::kVIP;
  }
  if (!prot || cpl <= iopl) mask |= rflags::kIF;
  if (osize == 2) mask &= 0xffff;
  set_rflags((old & ~mask) | (value & mask));
}

void Cpu::deliver(uint8_t vector, EventKind kind, std::optional<uint32_t> error,
                  uint64_t return_rip) {
  const uint32_t ext = kind == EventKind::kExternal ? 1 : 0;
  const uint32_t idt_error = uint32_t(vector) * 8 + 2 + ext;
  const uint64_t flags = rflags();
  halted = false;

  if (!(cr0 & cr0::kPE)) {
    if (uint32_t(vector) * 4 + 3 > idt.limit) fault(vec::kGP, 0);
    uint16_t ip = read_sys<uint16_t>(idt.base + vector * 4);
    uint16_t cs = read_sys<uint16_t>(idt.base + vector * 4 + 2);
    push<uint16_t>(uint16_t(flags));
    push<uint16_t>(seg[kCS].selector);
    push<uint16_t>(uint16_t(return_rip));
    set_rflags(flags & ~(rflags::kIF | rflags::kTF | rflags::kAC | rflags::kRF));
    set_real_segment(kCS, cs);
    rip = next_rip = ip;
    return;
  }
  if (flags & rflags::kVM) stop_unsupported(*this, "interrupt delivery in virtual-8086 mode");

  const bool lma = efer & efer::kLMA;
  const unsigned gate_size = lma ? 16 : 8;
  if (uint32_t(vector) * gate_size + gate_size - 1 > idt.limit) fault(vec::kGP, idt_error);
  uint64_t lo = read_sys<uint64_t>((idt.base + vector * gate_size) & lin_mask);
  uint64_t hi = lma ? read_sys<uint64_t>((idt.base + vector * gate_size + 8) & lin_mask) : 0;
  const unsigned type = (lo >> 40) & 0x1f, gate_dpl = (lo >> 45) & 3;
  if (type == 0x5)
    stop_unsupported(*this, "task gate in IDT vector " + std::to_string(vector) +
                                " (hardware task switching is not implemented)");
  const bool gate32 = type == 0xe || type == 0xf, gate16 = type == 0x6 || type == 0x7;
  if (lma ? !gate32 : !(gate32 || gate16)) fault(vec::kGP, idt_error);
  const bool trap_gate = type & 1;
  if ((kind == EventKind::kSoftware || kind == EventKind::kSoftwareException) && gate_dpl < cpl)
    fault(vec::kGP, idt_error);
  if (!((lo >> 47) & 1)) fault(vec::kNP, idt_error);
  const uint16_t sel = uint16_t(lo >> 16);
  uint64_t target = (lo & 0xffff) | (gate16 ? 0 : ((lo >> 48) & 0xffff) << 16) | (hi << 32);
  if ((sel & 0xfffc) == 0) fault(vec::kGP, ext);
  const uint64_t d = read_descriptor(sel, vec::kGP);
  Segment cs = unpack_descriptor(sel, d);
  const bool conforming = cs.type & 4;
  if (!cs.s || !(cs.type & 8) || cs.dpl > cpl) fault(vec::kGP, (sel & 0xfffc) + ext);
  if (lma && (!cs.l || cs.db)) fault(vec::kGP, (sel & 0xfffc) + ext);
  if (!cs.present) fault(vec::kNP, (sel & 0xfffc) + ext);
  const unsigned new_cpl = conforming ? cpl : cs.dpl;
  const bool inner = new_cpl < cpl;

  if (lma) {
    const unsigned ist = (lo >> 32) & 7;
    uint64_t sp = gpr[kRsp];
    if (ist)
      sp = read_sys<uint64_t>(tr.base + 0x24 + (ist - 1) * 8);
    else if (inner)
      sp = read_sys<uint64_t>(tr.base + 4 + new_cpl * 8);
    sp &= ~0xfull;
    uint64_t frame[6];
    unsigned n = 0;
    if (error) frame[n++] = *error;
    frame[n++] = return_rip;
    frame[n++] = seg[kCS].selector;
    frame[n++] = flags;
    frame[n++] = gpr[kRsp];
    frame[n++] = seg[kSS].selector;
    for (unsigned i = 0; i < n; ++i)
      write_sys<uint64_t>(sp - 8 * (n - i), frame[i]);
    write_descriptor_accessed(sel, d);
    if (inner) seg[kSS] = null_segment(uint16_t(new_cpl), new_cpl);
    gpr[kRsp] = sp - 8 * n;
    cs.type |= 1;
    set_cs(cs, new_cpl);
  } else {
    const unsigned w = gate32 ? 4 : 2;
    Segment ss = seg[kSS];
    uint64_t sp = gpr[kRsp];
    if (inner) {
      const bool tss32 = tr.type == 0x9 || tr.type == 0xb;
      uint16_t ss_sel;
      if (tss32) {
        sp = read_sys<uint32_t>((tr.base + 4 + new_cpl * 8) & lin_mask);
        ss_sel = read_sys<uint16_t>((tr.base + 8 + new_cpl * 8) & lin_mask);
      } else {
        sp = read_sys<uint16_t>((tr.base + 2 + new_cpl * 4) & lin_mask);
        ss_sel = read_sys<uint16_t>((tr.base + 4 + new_cpl * 4) & lin_mask);
      }
      if ((ss_sel & 0xfffc) == 0) fault(vec::kTS, ext);
      const uint64_t sd = read_descriptor(ss_sel, vec::kTS);
      ss = unpack_descriptor(ss_sel, sd);
      if ((ss_sel & 3) != new_cpl || ss.dpl != new_cpl || !ss.s || (ss.type & 8) || !(ss.type & 2))
        fault(vec::kTS, (ss_sel & 0xfffc) + ext);
      if (!ss.present) fault(vec::kSS, (ss_sel & 0xfffc) + ext);
      write_descriptor_accessed(ss_sel, sd);
      ss.type |= 1;
    }
    const uint64_t spm = ss.db ? 0xffffffffull : 0xffffull;
    uint64_t frame[6];
    unsigned n = 0;
    if (error) frame[n++] = *error;
    frame[n++] = return_rip;
    frame[n++] = seg[kCS].selector;
    frame[n++] = flags;
    if (inner) {
      frame[n++] = gpr[kRsp];
      frame[n++] = seg[kSS].selector;
    }
    const uint64_t ss_base = ss.base & 0xffffffff;
    for (unsigned i = 0; i < n; ++i) {
      uint64_t la = (ss_base + ((sp - w * (n - i)) & spm)) & 0xffffffff;
      if (w == 4)
        write_sys<uint32_t>(la, uint32_t(frame[i]));
      else
        write_sys<uint16_t>(la, uint16_t(frame[i]));
    }
    write_descriptor_accessed(sel, d);
    if (inner) seg[kSS] = ss;
    gpr[kRsp] = inner ? (sp - w * n) & spm : (gpr[kRsp] & ~spm) | ((sp - w * n) & spm);
    cs.type |= 1;
    set_cs(cs, new_cpl);
    if (!gate32) target &= 0xffff;
  }
  uint64_t nf = flags & ~(rflags::kTF | rflags::kNT | rflags::kRF | rflags::kVM);
  if (!trap_gate) nf &= ~rflags::kIF;
  set_rflags(nf);
  refresh_mode();
  rip = next_rip = target;
}

bool Cpu::raise(const GuestFault& first) {
  GuestFault f = first;
  for (;;) {
    try {
      deliver(f.vector, EventKind::kException,
              has_error_code(f.vector) ? std::optional<uint32_t>(f.error) : std::nullopt, rip);
      return true;
    } catch (const GuestFault& g) {
      if (f.vector == vec::kDF) return false;
      const bool df = (contributory(f.vector) && contributory(g.vector)) ||
                      (f.vector == vec::kPF && (contributory(g.vector) || g.vector == vec::kPF));
      f = df ? GuestFault{vec::kDF, 0} : g;
    }
  }
}

} // namespace rrvm::emu
