#include "vmm/emu/jit/emitter.h"

namespace rrvm::emu {

// The stack slot Cpu::push (or pop) of `size` bytes accesses, as a host address in rax. 8-byte
// slots exist only in 64-bit mode, whose stack pointer is unmasked; 4-byte slots take the fast path
// only on a 32-bit stack (SS.B), the 16-bit one masks SP to 16 bits. The stack pointer itself is
// left for the caller to commit after the access, as Cpu::push does.
void Emitter::emit_stack_address(unsigned size, bool push, Xbyak::Label& miss) {
  if (size == 4) {
    cmp(byte[rbx + l_.ss_db], 0);
    je(miss, T_NEAR);
  }
  mov(rax, gpr64(kRsp));
  if (push) sub(rax, size);
  if (size == 4) mov(eax, eax);
  emit_linear(kSS, size, miss); // an 8-byte slot in 64-bit mode, a 4-byte one on a 32-bit stack
  emit_tlb_hit(size, push, miss);
}

// op_push / op_push_reg64 of a register or an immediate, 4 or 8 bytes.
void Emitter::emit_push(const Insn& in) {
  const Operand& s = in.op[0];
  SlowAccess& slow = slow_access(in);
  emit_stack_address(in.osize, true, slow.entry);
  if (s.kind == OpKind::kImm) {
    if (in.osize == 8)
      mov(qword[rax], int32_t(s.disp)); // sign-extended, as decoded
    else
      mov(dword[rax], uint32_t(s.disp));
  } else {
    mov(rcx, gpr64(s.reg)); // RSP's value before the push, for PUSH RSP
    if (in.osize == 8)
      mov(qword[rax], rcx);
    else
      mov(dword[rax], ecx);
  }
  if (in.osize == 8)
    sub(gpr64(kRsp), 8);
  else
    sub(gpr32(kRsp), 4); // the upper half stays, as Cpu::push keeps the bits outside SP's mask
  L(slow.resume);
}

// op_pop / op_pop_reg64 to a register, 4 or 8 bytes: RSP moves first, so POP RSP loads the value.
void Emitter::emit_pop(const Insn& in) {
  const Operand& d = in.op[0];
  SlowAccess& slow = slow_access(in);
  emit_stack_address(in.osize, false, slow.entry);
  if (in.osize == 8) {
    mov(rcx, qword[rax]);
    add(gpr64(kRsp), 8);
  } else {
    mov(ecx, dword[rax]);
    add(gpr32(kRsp), 4);
  }
  mov(gpr64(d.reg), rcx); // a 32-bit register is zero-extended, as set_reg_sized does
  L(slow.resume);
}

// op_call_rel: the return address pushed, next_rip the target.
void Emitter::emit_call(const Insn& in) {
  SlowAccess& slow = slow_access(in);
  emit_stack_address(in.osize, true, slow.entry);
  lea(rcx, ptr[r14 + offset_ + in.len]);
  if (in.osize == 8)
    mov(qword[rax], rcx);
  else
    mov(dword[rax], ecx);
  if (in.osize == 8)
    sub(gpr64(kRsp), 8);
  else
    sub(gpr32(kRsp), 4);
  lea(rax, ptr[r14 + offset_ + in.len]);
  mov(rcx, uint64_t(in.op[0].disp));
  add(rax, rcx);
  if (in.osize == 4) mov(eax, eax);
  mov(qword[rbx + l_.next_rip], rax);
  L(slow.resume);
  retire_branch();
}

// op_ret without an immediate: next_rip popped.
void Emitter::emit_ret(const Insn& in) {
  SlowAccess& slow = slow_access(in);
  emit_stack_address(in.osize, false, slow.entry);
  if (in.osize == 8) {
    mov(rcx, qword[rax]);
    add(gpr64(kRsp), 8);
  } else {
    mov(ecx, dword[rax]);
    add(gpr32(kRsp), 4);
  }
  mov(qword[rbx + l_.next_rip], rcx);
  L(slow.resume);
  retire_branch();
}

// A block's last instruction, a branch, retires: RIP becomes next_rip (the fast path's or the
// handler's), and the count takes it and the inline instructions before it.
void Emitter::retire_branch() {
  mov(rax, qword[rbx + l_.next_rip]);
  mov(qword[rbx + l_.rip], rax);
  add(qword[rbx + l_.icount], pending_ + 1);
  pending_ = 0;
}

} // namespace rrvm::emu
