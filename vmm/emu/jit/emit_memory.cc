#include "vmm/emu/jit/emitter.h"

namespace rrvm::emu {

// alu2<kMov, T, kReg, kMem>: Cpu::linear's unchecked case and read_as's TLB hit inline; any
// other case (segment or alignment checks, a TLB miss, a page-crossing access) runs the handler.
void Emitter::emit_load(const Insn& in) {
  const Operand& m = in.op[1];
  const Operand& d = in.op[0];
  SlowLoad& slow = slow_loads_.emplace_back();
  slow.in = &in;
  slow.offset = offset_;
  slow.pending = pending_;
  if (m.base == kRipBase) {
    lea(rax, ptr[r14 + offset_ + in.len]);
    mov(rcx, uint64_t(m.disp));
    add(rax, rcx);
  } else {
    mov(rax, uint64_t(m.disp));
    if (m.base >= 0) add(rax, gpr64(unsigned(m.base)));
  }
  if (m.index >= 0) {
    mov(rcx, gpr64(unsigned(m.index)));
    if (m.scale) shl(rcx, m.scale);
    add(rax, rcx);
  }
  if (in.asize == 4) mov(eax, eax);
  test(byte[rbx + l_.seg_checked], uint8_t(1u << m.seg));
  jnz(slow.entry, T_NEAR);
  cmp(byte[rbx + l_.align_checked], 0);
  jnz(slow.entry, T_NEAR);
  add(rax, qword[rbx + l_.seg_base + int32_t(m.seg) * 8]);
  and_(rax, qword[rbx + l_.lin_mask]);
  mov(rcx, rax);
  shr(rcx, 12);
  mov(edx, ecx);
  and_(edx, uint32_t(Cpu::tlb_entries() - 1));
  imul(edx, edx, int(sizeof(TlbEntry)));
  lea(rdx, ptr[rbx + rdx + l_.tlb]);
  cmp(qword[rdx + int32_t(offsetof(TlbEntry, vpn))], rcx);
  jne(slow.entry, T_NEAR);
  mov(cl, byte[rbx + l_.acc_read]);
  test(byte[rdx + int32_t(offsetof(TlbEntry, perm))], cl);
  jz(slow.entry, T_NEAR);
  and_(eax, 0xfff);
  cmp(eax, 0x1000 - d.size);
  ja(slow.entry, T_NEAR);
  add(rax, qword[rdx + int32_t(offsetof(TlbEntry, host))]);
  if (d.size == 8)
    mov(rax, qword[rax]);
  else
    mov(eax, dword[rax]);
  mov(gpr64(d.reg), rax);
  L(slow.resume);
}

void Emitter::emit_slow_load(SlowLoad& s) {
  Xbyak::Label stopped;
  L(s.entry);
  if (s.pending) add(qword[rbx + l_.icount], s.pending);
  lea(rax, ptr[r14 + s.offset]);
  mov(qword[rbx + l_.rip], rax);
  lea(rax, ptr[r14 + s.offset + s.in->len]);
  mov(qword[rbx + l_.next_rip], rax);
  mov(rdi, rbx);
  mov(rsi, reinterpret_cast<uint64_t>(s.in));
  mov(rdx, r12);
  call(r13);
  test(al, al);
  jnz(out_, T_NEAR);
  // A watchpoint hit stops after the load, as in the interpreter's loop.
  cmp(byte[rbx + l_.stop], 0);
  jne(stopped);
  if (s.pending) sub(qword[rbx + l_.icount], s.pending); // the fast path's view again
  jmp(s.resume, T_NEAR);
  L(stopped);
  mov(rax, qword[rbx + l_.next_rip]);
  mov(qword[rbx + l_.rip], rax);
  add(qword[rbx + l_.icount], 1);
  jmp(done_, T_NEAR);
}

} // namespace rrvm::emu
