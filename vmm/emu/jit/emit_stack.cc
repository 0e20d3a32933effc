#include "vmm/emu/jit/emitter.h"

namespace rrvm::emu {

// The stack slot Cpu::push (or pop) of `size` bytes accesses, as a host address in rax, and the
// slow path's record, taken once RSP is loaded. 8-byte slots exist only in 64-bit mode, whose
// stack pointer is unmasked; 4-byte slots take the fast path only on a 32-bit stack (SS.B), the
// 16-bit one masks SP to 16 bits. The stack pointer itself is left for the caller to commit after
// the access, as Cpu::push does.
Emitter::SlowAccess& Emitter::stack_access(const Insn& in, unsigned size, bool push) {
  mov(rax, cached_gpr(kRsp));
  SlowAccess& slow = slow_access(in);
  if (size == 4) {
    cmp(byte[rbx + l_.ss_db], 0);
    je(slow.entry, T_NEAR);
  }
  if (push) sub(rax, size);
  if (size == 4) mov(eax, eax);
  // An 8-byte slot in 64-bit mode, a 4-byte one on a 32-bit stack.
  emit_linear(kSS, size, slow.entry);
  emit_tlb_hit(size, push, slow.entry);
  return slow;
}

// Cpu::push of `size` bytes: the value `load_value` puts in rcx (once the slot is found, so it
// may read RSP's value before the push), then the stack pointer moved.
template <typename LoadValue>
Emitter::SlowAccess& Emitter::stack_store(const Insn& in, unsigned size, LoadValue load_value) {
  SlowAccess& slow = stack_access(in, size, true);
  load_value();
  if (size == 8)
    mov(qword[rax], rcx);
  else
    mov(dword[rax], ecx);
  move_stack_pointer(-int32_t(size));
  return slow;
}

// Cpu::pop of `size` bytes into rcx (zero-extended): RSP moves first, so POP RSP loads the value.
Emitter::SlowAccess& Emitter::stack_load(const Insn& in, unsigned size) {
  SlowAccess& slow = stack_access(in, size, false);
  if (size == 8)
    mov(rcx, qword[rax]);
  else
    mov(ecx, dword[rax]);
  move_stack_pointer(int32_t(size));
  return slow;
}

// RSP (8-byte slots, 64-bit mode) or ESP (4-byte slots on a 32-bit stack, where the upper half
// stays, as Cpu::push keeps the bits outside SP's mask) moved by `by`, in its host register (rdx
// clobbered).
void Emitter::move_stack_pointer(int32_t by) {
  const Xbyak::Reg64 sp = cached_gpr(kRsp);
  if (by == 8 || by == -8) {
    add(sp, by);
  } else { // the low half's change, xored into the register
    mov(edx, sp.cvt32());
    add(edx, by);
    xor_(edx, sp.cvt32());
    xor_(sp, rdx);
  }
  wrote_gpr(kRsp);
}

// op_push / op_push_reg64 of a register or an immediate, 4 or 8 bytes.
void Emitter::emit_push(const Insn& in) {
  const Operand& s = in.op[0];
  SlowAccess& slow = stack_store(in, in.osize, [&] {
    if (s.kind == OpKind::kImm)
      mov(rcx, uint64_t(s.disp)); // sign-extended, as decoded
    else
      mov(rcx, cached_gpr(s.reg)); // RSP's value before the push, for PUSH RSP
  });
  resume(slow);
}

// op_pop / op_pop_reg64 to a register, 4 or 8 bytes.
void Emitter::emit_pop(const Insn& in) {
  SlowAccess& slow = stack_load(in, in.osize);
  set_gpr(in.op[0].reg, rcx); // a 32-bit register is zero-extended, as set_reg_sized does
  resume(slow);
}

// op_call_rel: the return address pushed; the block's exit to the target.
void Emitter::emit_call(const Insn& in) {
  SlowAccess& slow = stack_store(in, in.osize, [&] { lea(rcx, ptr[r14 + offset_ + in.len]); });
  lea(rax, ptr[r14 + offset_ + in.len]);
  mov(rcx, uint64_t(in.op[0].disp));
  add(rax, rcx);
  if (in.osize == 4) mov(eax, eax);
  slow.next_rip_in_rax = true;
  resume(slow);
  write_back_gprs();
  exit_link();
  retire_exit(in);
}

// op_ret without an immediate: the block's exit to the address popped.
void Emitter::emit_ret(const Insn& in) {
  SlowAccess& slow = stack_load(in, in.osize);
  mov(rax, rcx);
  slow.next_rip_in_rax = true;
  resume(slow);
  write_back_gprs();
  exit_link();
  retire_exit(in);
}

} // namespace rrvm::emu
