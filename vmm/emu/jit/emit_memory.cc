#include <bit>

#include "vmm/emu/jit/emitter.h"

namespace rrvm::emu {

// A memory access's slow path record: the instruction, where it lies in the block, and the
// register cache where the fast path may jump to the stub. Take it once the address's registers
// are loaded (they may push another register out of the cache) and before the first jump there.
Emitter::SlowAccess& Emitter::slow_access(const Insn& in) {
  SlowAccess& slow = slow_accesses_.emplace_back();
  slow.in = &in;
  slow.offset = offset_;
  slow.pending = pending_;
  slow.cached_at_entry = cached_;
  slow.dirty_at_entry = dirty_;
  return slow;
}

// Cpu::offset: the operand's effective address in rax, by one LEA where address_sum() can.
void Emitter::emit_offset(const Operand& m, const Insn& in) {
  const bool narrow = in.asize == 4;
  if (const std::optional<Xbyak::RegExp> sum = address_sum(m, in, narrow))
    lea(narrow ? Xbyak::Reg(eax) : Xbyak::Reg(rax), ptr[*sum]);
  else
    address_by_steps(rax, m, in, narrow);
}

// Cpu::offset's sum of base, index << scale and displacement as one host address on the cached
// registers (r14 plus the instruction's end for a RIP base), if it has a register and its
// displacement fits 32 bits signed; at `narrow` (32-bit) width only the low 32 bits count, so any
// displacement does. The registers are loaded here: use the sum at once.
std::optional<Xbyak::RegExp> Emitter::address_sum(const Operand& m, const Insn& in, bool narrow) {
  if (m.base < 0 && m.index < 0) return std::nullopt;
  int64_t disp = int64_t(m.disp);
  if (m.base == kRipBase) disp += offset_ + in.len;
  if (narrow) disp = int32_t(uint32_t(disp));
  if (disp != int64_t(int32_t(disp))) return std::nullopt;
  Xbyak::RegExp sum{size_t(disp)};
  if (m.base == kRipBase)
    sum = sum + r14;
  else if (m.base >= 0)
    sum = sum + cached_gpr(unsigned(m.base));
  if (m.index >= 0) sum = sum + cached_gpr(unsigned(m.index)) * (1 << m.scale);
  return sum;
}

// Cpu::offset into `to` where address_sum() cannot: an absolute address, or a 64-bit
// displacement (rcx clobbered).
void Emitter::address_by_steps(const Xbyak::Reg64& to, const Operand& m, const Insn& in,
                               bool narrow) {
  mov(to, uint64_t(m.disp));
  if (m.base == kRipBase) {
    lea(rcx, ptr[r14 + offset_ + in.len]);
    add(to, rcx);
  } else if (m.base >= 0) {
    add(to, cached_gpr(unsigned(m.base)));
  }
  if (m.index >= 0) lea(to, ptr[to + cached_gpr(unsigned(m.index)) * (1 << m.scale)]);
  if (narrow) mov(to.cvt32(), to.cvt32());
}

// Cpu::linear's unchecked case: offset rax (zero-extended at 4 bytes) in segment `seg` to a
// linear address in rax. Segments with limit or type checks, alignment checking, and ES..DS with
// a base that is not 0 go to `miss`, the handler's (Cpu::inline_checks). Inline accesses have 4-
// or 8-byte addresses: through ES..DS the offset is then the linear address, in either mode (64-bit
// mode's bases there are zero); FS and GS add their base, wrapped to 32 bits outside 64-bit mode.
void Emitter::emit_linear(unsigned seg, unsigned asize, Xbyak::Label& miss) {
  test(byte[rbx + l_.inline_checks], uint8_t(1u << seg));
  jnz(miss, T_NEAR);
  if (seg < kFS) return;
  add(rax, qword[rbx + l_.seg_base + int32_t(seg) * 8]);
  if (asize == 4) and_(rax, qword[rbx + l_.lin_mask]);
}

// read_as/write_as's TLB hit for `size` bytes at linear rax: the host address in rax (rcx, rdx,
// r8 clobbered). The tag of the access's kind in the slot of its first byte must be the page of
// its last: a miss, an access the entry does not allow to the fast path (code pages and pages not
// yet marked written have no write tags, so self-modifying code takes the slow path that
// invalidates, and a first write the one that marks the page) or a page-crossing access goes to
// `miss`. Watched pages have no tags; MMIO never enters the TLB.
void Emitter::emit_tlb_hit(unsigned size, bool write, Xbyak::Label& miss) {
  mov(rcx, rax);
  shr(rcx, 12);
  and_(ecx, uint32_t(Cpu::tlb_entries() - 1));
  lea(rdx, ptr[rax + int32_t(size - 1)]);
  and_(rdx, int32_t(~0xfff));
  mov(r8, qword[rbx + (write ? l_.write_tags : l_.read_tags)]);
  cmp(rdx, qword[r8 + rcx * 8]);
  jne(miss, T_NEAR);
  add(rax, qword[rbx + rcx * 8 + l_.tlb_addends]);
}

// alu2<kMov, T, kReg, kMem> for 32- and 64-bit registers.
void Emitter::emit_load(const Insn& in) {
  const Operand& m = in.op[1];
  const Operand& d = in.op[0];
  emit_offset(m, in);
  SlowAccess& slow = slow_access(in);
  emit_linear(m.seg, in.asize, slow.entry);
  emit_tlb_hit(d.size, false, slow.entry);
  if (d.size == 8)
    mov(rax, qword[rax]);
  else
    mov(eax, dword[rax]);
  set_gpr(d.reg, rax);
  resume(slow);
}

// op_movzx / op_movsx from memory to a 32- or 64-bit register: set_reg_sized of the value
// extended from its size (a 32-bit register's upper half cleared).
void Emitter::emit_load_extend(const Insn& in, bool sign) {
  const Operand& m = in.op[1];
  const Operand& d = in.op[0];
  emit_offset(m, in);
  SlowAccess& slow = slow_access(in);
  emit_linear(m.seg, in.asize, slow.entry);
  emit_tlb_hit(m.size, false, slow.entry);
  const Xbyak::Address at = m.size == 1 ? byte[rax] : m.size == 2 ? word[rax] : dword[rax];
  if (!sign)
    movzx(eax, at); // MOVZX reads 1 or 2 bytes
  else if (m.size == 4)
    movsxd(rax, at);
  else if (d.size == 8)
    movsx(rax, at);
  else
    movsx(eax, at);
  set_gpr(d.reg, rax);
  resume(slow);
}

// alu2<Op, T, kReg, kMem> for 32- and 64-bit registers: the load, then the register form's code
// on the loaded value (in rcx).
void Emitter::emit_alu_load(const Insn& in, InlineAlu op) {
  const Operand& m = in.op[1];
  emit_offset(m, in);
  SlowAccess& slow = slow_access(in);
  emit_linear(m.seg, in.asize, slow.entry);
  emit_tlb_hit(m.size, false, slow.entry);
  if (m.size == 8)
    mov(rcx, qword[rax]);
  else
    mov(ecx, dword[rax]);
  emit_alu(in, op);
  resume(slow);
}

// alu2<Op, T, kMem, kReg|kImm> for 4 and 8 bytes, and for a byte with an immediate: read_as,
// lazy_set<T>(op, a, b, r) and, but for CMP and TEST, write_as of the result through the one TLB
// hit. The record's operands and result are zero-extended.
void Emitter::emit_alu_mem(const Insn& in, InlineAlu op) {
  const Operand& m = in.op[0];
  const Operand& s = in.op[1];
  const bool writes = op != InlineAlu::kCmp && op != InlineAlu::kTest;
  emit_offset(m, in);
  SlowAccess& slow = slow_access(in);
  emit_linear(m.seg, in.asize, slow.entry);
  emit_tlb_hit(m.size, writes, slow.entry); // a write tag implies the read tag
  const Xbyak::Reg64 b = rcx, r = r9;
  const Xbyak::Address at = m.size == 1 ? byte[rax] : m.size == 4 ? dword[rax] : qword[rax];
  if (m.size == 1)
    movzx(r.cvt32(), at);
  else
    mov(sized(r, m.size), at);
  if (s.kind == OpKind::kImm)
    mov(b, uint64_t(s.disp) & (~0ull >> (64 - m.size * 8)));
  else
    mov(sized(b, m.size), sized(cached_gpr(s.reg), m.size));
  if (flags_live_) mov(r8, r);
  record_flags(emit_alu_op(op, sized(r, m.size), sized(b, m.size)), m.size, r8, b, r);
  if (writes) mov(at, sized(r, m.size));
  resume(slow);
}

// alu2<kMov, T, kMem, kReg|kImm>: write_as's fast path.
void Emitter::emit_store(const Insn& in) {
  const Operand& m = in.op[0];
  const Operand& s = in.op[1];
  emit_offset(m, in);
  SlowAccess& slow = slow_access(in);
  emit_linear(m.seg, in.asize, slow.entry);
  emit_tlb_hit(m.size, true, slow.entry);
  if (s.kind == OpKind::kImm) {
    switch (m.size) {
    case 1:
      mov(byte[rax], uint8_t(s.disp));
      break;
    case 2:
      mov(word[rax], uint16_t(s.disp));
      break;
    case 4:
      mov(dword[rax], uint32_t(s.disp));
      break;
    default:
      mov(qword[rax], int32_t(s.disp)); // sign-extended, as decoded
      break;
    }
  } else {
    mov(rcx, cached_gpr(s.reg));
    if (s.high) shr(rcx, 8);
    switch (m.size) {
    case 1:
      mov(byte[rax], cl);
      break;
    case 2:
      mov(word[rax], cx);
      break;
    case 4:
      mov(dword[rax], ecx);
      break;
    default:
      mov(qword[rax], rcx);
      break;
    }
  }
  resume(slow);
}

// The end of a memory access's fast path, where its slow path comes back.
void Emitter::resume(SlowAccess& s) {
  L(s.resume);
  s.cached_at_resume = cached_;
}

void Emitter::emit_slow_access(SlowAccess& s) {
  Xbyak::Label stopped;
  L(s.entry);
  if (s.pending) add(qword[rbx + l_.icount], s.pending);
  lea(rax, ptr[r14 + s.offset]);
  mov(qword[rbx + l_.rip], rax);
  lea(rax, ptr[r14 + s.offset + s.in->len]);
  mov(qword[rbx + l_.next_rip], rax);
  cached_ = s.cached_at_entry; // so that the call writes back what the fast path left dirty
  dirty_ = s.dirty_at_entry;
  call_trampoline(*s.in);
  test(al, al);
  jnz(out_, T_NEAR);
  // A watchpoint hit, or a write to code that invalidated blocks (this one, maybe), stops after
  // the instruction, as in the interpreter's loop.
  cmp(byte[rbx + l_.stop], 0);
  jne(stopped);
  if (s.pending) sub(qword[rbx + l_.icount], s.pending); // the fast path's view again
  reload_gprs(s.cached_at_resume);
  if (s.next_rip_in_rax) mov(rax, qword[rbx + l_.next_rip]);
  jmp(s.resume, T_NEAR);
  L(stopped);
  mov(rax, qword[rbx + l_.next_rip]);
  mov(qword[rbx + l_.rip], rax);
  add(qword[rbx + l_.icount], 1);
  jmp(done_, T_NEAR);
}

} // namespace rrvm::emu
