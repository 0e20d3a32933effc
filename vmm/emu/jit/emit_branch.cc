#include "vmm/emu/jit/emitter.h"

namespace rrvm::emu {

// A block ending in a branch back to its own start (a loop) jumps to its top when execute()'s
// path to the next block would lead here again: chaining allowed, no kick, shadow or TF, room
// under the limit, and the code page's TLB entry still the one mapping it where this block was
// decoded (the block is live: nothing invalidated it, or the loop would have stopped). RIP is in
// rax.
void Emitter::loop_to_self(const Block& b) {
  if (b.spans()) return; // next_translation checks its second page too
  Xbyak::Label no;
  const uint64_t page = (b.key & ((1ull << 62) - 1)) >> 12;
  cmp(rax, r14);
  jne(no, T_NEAR);
  mov(rcx, reinterpret_cast<uint64_t>(chaining_));
  cmp(byte[rcx], 0);
  je(no, T_NEAR);
  cmp(byte[rbx + l_.kicked], 0);
  jne(no, T_NEAR);
  cmp(byte[rbx + l_.interrupt_shadow], 0);
  jne(no, T_NEAR);
  test(qword[rbx + l_.flags_raw], int32_t(rflags::kTF));
  jnz(no, T_NEAR);
  mov(rcx, qword[rbx + l_.limit]);
  sub(rcx, qword[rbx + l_.icount]);
  cmp(rcx, int32_t(b.insns.size()));
  jb(no, T_NEAR);
  add(rax, qword[rbx + l_.seg_base + int32_t(kCS) * 8]);
  and_(rax, qword[rbx + l_.lin_mask]);
  shr(rax, 12);
  mov(edx, eax);
  and_(edx, uint32_t(Cpu::tlb_entries() - 1));
  imul(edx, edx, int(sizeof(TlbEntry)));
  lea(rdx, ptr[rbx + rdx + l_.tlb]);
  cmp(qword[rdx + int32_t(offsetof(TlbEntry, vpn))], rax);
  jne(no, T_NEAR);
  mov(rcx, page);
  cmp(qword[rdx + int32_t(offsetof(TlbEntry, ppn))], rcx);
  jne(no, T_NEAR);
  mov(cl, byte[rbx + l_.acc_exec]);
  test(byte[rdx + int32_t(offsetof(TlbEntry, perm))], cl);
  jz(no, T_NEAR);
  mov(dword[rbx + l_.inputs_next], 0); // as execute() starts each block
  jmp(top_, T_NEAR);
  L(no);
}

// op_jcc<CC> for ZF and SF conditions after an inline flag writer (lazy.op is not kNone, so ZF
// is lazy.r == 0 and SF its top bit): RIP becomes the target or the next instruction.
void Emitter::emit_jcc(const Insn& in, uint8_t cc) {
  lea(rax, ptr[r14 + offset_ + in.len]); // next_rip
  lea(rcx, ptr[rax + int32_t(in.op[0].disp)]);
  if (in.osize == 4)
    mov(ecx, ecx);
  else if (in.osize == 2)
    movzx(ecx, cx);
  mov(rdx, qword[rbx + l_.lazy_r]);
  if (cc == 4 || cc == 5) {
    test(rdx, rdx);
    if (cc == 4)
      cmovz(rax, rcx);
    else
      cmovnz(rax, rcx);
  } else {
    bt(rdx, known_bits_ - 1);
    if (cc == 8)
      cmovc(rax, rcx);
    else
      cmovnc(rax, rcx);
  }
  mov(qword[rbx + l_.rip], rax);
  add(qword[rbx + l_.icount], pending_ + 1);
  pending_ = 0;
}

} // namespace rrvm::emu
