#include "vmm/emu/cpu.h"

#include <Zydis/Zydis.h>

#include <cstdio>

#include "vmm/emu/code_cache.h"
#include "vmm/emu/handlers.h"

namespace rrvm::emu {

Cpu::Cpu(GuestMemory& memory, CpuidTable table)
    : mem(memory), cpuid(std::move(table)),
      code(std::make_unique<CodeCache>(*this, memory.size())) {
  put_state(CpuState{});
  mem.on_clear_written([this] { drop_write_tags(); });
}

Cpu::~Cpu() {
  mem.on_clear_written(nullptr);
}

bool Cpu::take_input(bool io, uint64_t address, unsigned size, uint64_t* value) {
  if (inputs.icount != icount || inputs.next >= inputs.count) return false;
  const DeviceInput& in = inputs.entries[inputs.next];
  if (in.msr || in.io != io || in.address != address || in.size != size) return false;
  ++inputs.next;
  *value = in.value;
  return true;
}

const DeviceInput* Cpu::take_msr_input(uint32_t index) {
  if (inputs.icount != icount || inputs.next >= inputs.count) return nullptr;
  const DeviceInput& in = inputs.entries[inputs.next];
  if (!in.msr || in.address != index) return nullptr;
  ++inputs.next;
  return &in;
}

std::string Cpu::describe(const Insn& in) {
  char head[96];
  std::snprintf(head, sizeof head, "%s at %04x:%llx (%s), bytes",
                ZydisMnemonicGetString(ZydisMnemonic(in.mnemonic)), seg[kCS].selector,
                static_cast<unsigned long long>(rip), get_state().mode_name());
  std::string s = head;
  for (unsigned i = 0; i < in.len; ++i) {
    uint64_t la = linear(kCS, rip + i);
    char b[4];
    try {
      std::snprintf(b, sizeof b, " %02x", read_as<uint8_t>(la, acc_exec));
    } catch (const GuestFault&) {
      std::snprintf(b, sizeof b, " ??");
    }
    s += b;
  }
  return s;
}

void Cpu::unsupported(const Insn& in, const char* why) {
  Exit e;
  e.reason = ExitReason::kUnsupported;
  e.detail = "unsupported instruction " + describe(in);
  if (why) e.detail += std::string(": ") + why;
  exit = std::move(e);
  throw StopRun{};
}

void not_implemented(Cpu& c, const Insn& in) {
  c.unsupported(in);
}
void invalid_opcode(Cpu&, const Insn&) {
  Cpu::fault(vec::kUD);
}

CpuState Cpu::get_state() {
  CpuState s;
  for (unsigned i = 0; i < 16; ++i)
    s.gpr[i] = gpr[i];
  s.rip = rip;
  s.rflags = rflags();
  s.es = seg[kES];
  s.cs = seg[kCS];
  s.ss = seg[kSS];
  s.ds = seg[kDS];
  s.fs = seg[kFS];
  s.gs = seg[kGS];
  s.ldtr = ldtr;
  s.tr = tr;
  s.gdt = gdt;
  s.idt = idt;
  s.cr0 = cr0;
  s.cr2 = cr2;
  s.cr3 = cr3;
  s.cr4 = cr4;
  s.cr8 = cr8;
  s.efer = efer;
  for (unsigned i = 0; i < 4; ++i)
    s.dr[i] = dr[i];
  s.dr6 = dr6;
  s.dr7 = dr7;
  s.msr = msr;
  s.fpu = fpu;
  s.interrupt_shadow = interrupt_shadow;
  s.halted = halted;
  return s;
}

void Cpu::put_state(const CpuState& s) {
  for (unsigned i = 0; i < 16; ++i)
    gpr[i] = s.gpr[i];
  rip = next_rip = s.rip;
  set_rflags(s.rflags);
  seg[kES] = s.es;
  seg[kCS] = s.cs;
  seg[kSS] = s.ss;
  seg[kDS] = s.ds;
  seg[kFS] = s.fs;
  seg[kGS] = s.gs;
  ldtr = s.ldtr;
  tr = s.tr;
  gdt = s.gdt;
  idt = s.idt;
  cr0 = s.cr0;
  cr2 = s.cr2;
  cr3 = s.cr3;
  cr4 = s.cr4;
  cr8 = s.cr8;
  efer = s.efer;
  for (unsigned i = 0; i < 4; ++i)
    dr[i] = s.dr[i];
  dr6 = s.dr6;
  dr7 = s.dr7;
  msr = s.msr;
  fpu = s.fpu;
  interrupt_shadow = s.interrupt_shadow;
  halted = s.halted;
  // The privilege level is SS.DPL, as KVM reports it.
  cpl = !(cr0 & cr0::kPE) ? 0 : (s.rflags & rflags::kVM) ? 3 : s.ss.dpl;
  flush_tlb();
  refresh_mode();
}

} // namespace rrvm::emu
