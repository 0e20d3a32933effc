// Event delivery, split by mode as the SDM describes it: the real-mode IVT, the protected-mode IDT
// (stack switch through the 16- or 32-bit TSS) and the long-mode IDT (IST and the 64-bit TSS);
// exception escalation to #DF and triple fault from the exception table; RFLAGS reloads.
#include "vmm/emu/cpu.h"
#include "vmm/x86/tss.h"

namespace rrvm::emu {

using x86::selector::error_code;

// A gate that passed its checks and the code segment it leads to.
struct Cpu::GateTarget {
  x86::Gate gate;
  uint64_t cs_descriptor;
  Segment cs;
  unsigned new_cpl;
  bool inner;   // the handler runs at a more privileged level: the stack switches
  uint32_t ext; // the EXT bit of error codes delivery raises
};

void Cpu::stop_unsupported(std::string what) {
  exit = Exit{};
  exit.reason = ExitReason::kUnsupported;
  exit.detail = std::move(what);
  throw StopRun{};
}

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
  halted = false;
  if (!(cr0 & cr0::kPE)) return deliver_real(vector, return_rip);
  if (flags_raw & rflags::kVM) stop_unsupported("interrupt delivery in virtual-8086 mode");
  if (efer & efer::kLMA) return deliver_long(vector, kind, error, return_rip);
  deliver_protected(vector, kind, error, return_rip);
}

void Cpu::deliver_real(uint8_t vector, uint64_t return_rip) {
  if (uint32_t(vector) * 4 + 3 > idt.limit) fault(vec::kGP, 0);
  const uint32_t entry = read_sys<uint32_t>((idt.base + vector * 4) & lin_mask); // IP, then CS
  const uint64_t flags = rflags();
  push<uint16_t>(uint16_t(flags));
  push<uint16_t>(seg[kCS].selector);
  push<uint16_t>(uint16_t(return_rip));
  set_rflags(flags & ~(rflags::kIF | rflags::kTF | rflags::kAC | rflags::kRF));
  set_real_segment(kCS, uint16_t(entry >> 16));
  rip = next_rip = entry & 0xffff;
}

Cpu::GateTarget Cpu::enter_gate(uint8_t vector, EventKind kind, unsigned gate_size) {
  const bool lma = efer & efer::kLMA;
  const uint32_t ext = kind == EventKind::kExternal ? 1 : 0;
  const uint32_t idt_error = uint32_t(vector) * 8 + 2 + ext; // IDT bit set
  if (uint32_t(vector) * gate_size + gate_size - 1 > idt.limit) fault(vec::kGP, idt_error);
  const uint64_t at = idt.base + uint64_t(vector) * gate_size;
  const uint64_t lo = read_sys<uint64_t>(at & lin_mask);
  const uint64_t hi = lma ? read_sys<uint64_t>((at + 8) & lin_mask) : 0;
  const x86::Gate gate = x86::Gate::decode(lo, hi);
  if (gate.type == sys_type::kTaskGate)
    stop_unsupported("task gate in IDT vector " + std::to_string(vector) +
                     " (hardware task switching is not implemented)");
  if (lma ? !gate.is_32or64bit() : !(gate.is_32or64bit() || gate.is_16bit()))
    fault(vec::kGP, idt_error);
  const bool software = kind == EventKind::kSoftware || kind == EventKind::kSoftwareException;
  if (software && gate.dpl < cpl) fault(vec::kGP, idt_error);
  if (!gate.present) fault(vec::kNP, idt_error);
  if (x86::selector::is_null(gate.selector)) fault(vec::kGP, ext);

  const uint64_t d = read_descriptor(gate.selector, vec::kGP);
  Segment cs = unpack_descriptor(gate.selector, d);
  const uint32_t cs_error = error_code(gate.selector) + ext;
  if (!cs.s || !(cs.type & seg_type::kCode) || cs.dpl > cpl) fault(vec::kGP, cs_error);
  if (lma && (!cs.l || cs.db)) fault(vec::kGP, cs_error);
  if (!cs.present) fault(vec::kNP, cs_error);
  const unsigned new_cpl = (cs.type & seg_type::kConforming) ? cpl : cs.dpl;
  return GateTarget{gate, d, cs, new_cpl, new_cpl < cpl, ext};
}

void Cpu::enter_handler(const GateTarget& t, uint64_t flags, uint64_t target,
                        const Segment* inner_ss, uint64_t rsp) {
  write_descriptor_accessed(t.gate.selector, t.cs_descriptor); // the last thing that can fault
  if (inner_ss) seg[kSS] = *inner_ss;
  gpr[kRsp] = rsp;
  Segment cs = t.cs;
  cs.type |= seg_type::kAccessed;
  set_cs(cs, t.new_cpl);
  uint64_t nf = flags & ~(rflags::kTF | rflags::kNT | rflags::kRF | rflags::kVM);
  if (!t.gate.is_trap()) nf &= ~rflags::kIF;
  set_rflags(nf);
  refresh_mode();
  rip = next_rip = target;
}

void Cpu::deliver_protected(uint8_t vector, EventKind kind, std::optional<uint32_t> error,
                            uint64_t return_rip) {
  const GateTarget t = enter_gate(vector, kind, 8);
  const unsigned w = t.gate.is_16bit() ? 2 : 4; // frame slot size
  const uint64_t flags = rflags();
  Segment ss = seg[kSS];
  uint64_t sp = gpr[kRsp];
  if (t.inner) {
    uint16_t ss_sel;
    if (sys_type::is_tss32(tr.type)) {
      sp = read_sys<uint32_t>((tr.base + x86::tss32::esp(t.new_cpl)) & lin_mask);
      ss_sel = read_sys<uint16_t>((tr.base + x86::tss32::ss(t.new_cpl)) & lin_mask);
    } else {
      sp = read_sys<uint16_t>((tr.base + x86::tss16::sp(t.new_cpl)) & lin_mask);
      ss_sel = read_sys<uint16_t>((tr.base + x86::tss16::ss(t.new_cpl)) & lin_mask);
    }
    if (x86::selector::is_null(ss_sel)) fault(vec::kTS, t.ext);
    const uint64_t sd = read_descriptor(ss_sel, vec::kTS);
    ss = unpack_descriptor(ss_sel, sd);
    const bool writable_data =
        ss.s && !(ss.type & seg_type::kCode) && (ss.type & seg_type::kWritable);
    if ((ss_sel & x86::selector::kRplMask) != t.new_cpl || ss.dpl != t.new_cpl || !writable_data)
      fault(vec::kTS, error_code(ss_sel) + t.ext);
    if (!ss.present) fault(vec::kSS, error_code(ss_sel) + t.ext);
    write_descriptor_accessed(ss_sel, sd);
    ss.type |= seg_type::kAccessed;
  }
  const uint64_t spm = ss.db ? 0xffffffffull : 0xffffull;
  uint64_t frame[6];
  unsigned n = 0;
  if (error) frame[n++] = *error;
  frame[n++] = return_rip;
  frame[n++] = seg[kCS].selector;
  frame[n++] = flags;
  if (t.inner) {
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
  const uint64_t rsp = t.inner ? (sp - w * n) & spm : (gpr[kRsp] & ~spm) | ((sp - w * n) & spm);
  const uint64_t target = t.gate.offset & (w == 2 ? 0xffff : 0xffffffff);
  enter_handler(t, flags, target, t.inner ? &ss : nullptr, rsp);
}

void Cpu::deliver_long(uint8_t vector, EventKind kind, std::optional<uint32_t> error,
                       uint64_t return_rip) {
  const GateTarget t = enter_gate(vector, kind, 16);
  const uint64_t flags = rflags();
  uint64_t sp = gpr[kRsp];
  if (t.gate.ist)
    sp = read_sys<uint64_t>(tr.base + x86::tss64::ist(t.gate.ist));
  else if (t.inner)
    sp = read_sys<uint64_t>(tr.base + x86::tss64::rsp(t.new_cpl));
  sp &= ~0xfull; // the 64-bit frame is 16-byte aligned
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
  const Segment null_ss = null_segment(uint16_t(t.new_cpl), t.new_cpl);
  enter_handler(t, flags, t.gate.offset, t.inner ? &null_ss : nullptr, sp - 8 * n);
}

bool Cpu::raise(const GuestFault& first) {
  GuestFault f = first;
  for (;;) {
    try {
      const bool with_error = x86::exception_info(f.vector).error_code;
      deliver(f.vector, EventKind::kException,
              with_error ? std::optional<uint32_t>(f.error) : std::nullopt, rip);
      return true;
    } catch (const GuestFault& g) {
      switch (x86::escalate(f.vector, g.vector)) {
      case x86::Escalation::kShutdown:
        exit = Exit{};
        exit.reason = ExitReason::kShutdown;
        return false;
      case x86::Escalation::kDoubleFault:
        f = GuestFault{vec::kDF, 0};
        break;
      case x86::Escalation::kDeliverSecond:
        f = g;
        break;
      }
    } catch (const StopRun&) {
      return false;
    }
  }
}

bool Cpu::deliver_event(uint8_t vector, EventKind kind, std::optional<uint32_t> error,
                        uint64_t return_rip) {
  try {
    deliver(vector, kind, error, return_rip);
    return true;
  } catch (const GuestFault& f) {
    return raise(f);
  } catch (const StopRun&) {
    return false;
  }
}

} // namespace rrvm::emu
