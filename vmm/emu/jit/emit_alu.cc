#include "vmm/emu/jit/emitter.h"

namespace rrvm::emu {

// alu2<Op, T, kReg, kReg|kImm>: the result, and lazy_set<T>(op, a, b, r) with a, b and r
// zero-extended from T. A memory source is in rcx already (emit_alu_load).
void Emitter::emit_alu(const Insn& in, InlineAlu op) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  const bool wide = d.size == 8;
  const Xbyak::Reg64 a = rax, b = rcx;
  if (s.kind == OpKind::kImm) {
    if (wide)
      mov(b, uint64_t(s.disp));
    else
      mov(b.cvt32(), uint32_t(s.disp));
  } else if (s.kind == OpKind::kReg && wide) {
    mov(b, gpr64(s.reg));
  } else if (s.kind == OpKind::kReg) {
    mov(b.cvt32(), gpr32(s.reg));
  }
  if (op == InlineAlu::kMov) {
    mov(gpr64(d.reg), b); // a 32-bit move zero-extends, as b already is
    return;
  }
  if (wide)
    mov(a, gpr64(d.reg));
  else
    mov(a.cvt32(), gpr32(d.reg));
  mov(qword[rbx + l_.lazy_a], a);
  mov(qword[rbx + l_.lazy_b], b);
  const Xbyak::Reg r = wide ? static_cast<const Xbyak::Reg&>(a) : a.cvt32();
  const Xbyak::Reg s2 = wide ? static_cast<const Xbyak::Reg&>(b) : b.cvt32();
  FlagOp flag_op = FlagOp::kLogic;
  switch (op) {
  case InlineAlu::kAdd:
    add(r, s2);
    flag_op = FlagOp::kAdd;
    break;
  case InlineAlu::kSub:
  case InlineAlu::kCmp:
    sub(r, s2);
    flag_op = FlagOp::kSub;
    break;
  case InlineAlu::kAnd:
  case InlineAlu::kTest:
    and_(r, s2);
    break;
  case InlineAlu::kOr:
    or_(r, s2);
    break;
  case InlineAlu::kXor:
    xor_(r, s2);
    break;
  case InlineAlu::kMov:
    break;
  }
  mov(qword[rbx + l_.lazy_r], a);
  mov(byte[rbx + l_.lazy_op], uint8_t(flag_op));
  mov(byte[rbx + l_.lazy_bits], uint8_t(d.size * 8));
  if (op != InlineAlu::kCmp && op != InlineAlu::kTest) mov(gpr64(d.reg), a);
  known_op_ = flag_op;
  known_bits_ = d.size * 8;
}

// op_inc/op_dec on a register: lazy_incdec<T>, whose CF comes from the block's last flag
// writer: a logic operation (CF clear) or INC/DEC (CF already frozen in flags_raw).
void Emitter::emit_inc_dec(const Insn& in, bool dec) {
  const Operand& d = in.op[0];
  const bool wide = d.size == 8;
  if (wide)
    mov(rax, gpr64(d.reg));
  else
    mov(eax, gpr32(d.reg));
  if (known_op_ == FlagOp::kLogic) and_(qword[rbx + l_.flags_raw], ~int32_t(rflags::kCF));
  mov(qword[rbx + l_.lazy_a], rax);
  mov(qword[rbx + l_.lazy_b], 1);
  const Xbyak::Reg r = wide ? static_cast<const Xbyak::Reg&>(rax) : eax;
  if (dec)
    this->dec(r);
  else
    inc(r);
  mov(qword[rbx + l_.lazy_r], rax);
  const FlagOp op = dec ? FlagOp::kDec : FlagOp::kInc;
  mov(byte[rbx + l_.lazy_op], uint8_t(op));
  mov(byte[rbx + l_.lazy_bits], uint8_t(d.size * 8));
  mov(gpr64(d.reg), rax);
  known_op_ = op;
  known_bits_ = d.size * 8;
}

// op_lea: set_reg_sized(dst, size, offset(src)) on a 32- or 64-bit destination.
void Emitter::emit_lea(const Insn& in) {
  const Operand& m = in.op[1];
  mov(rax, uint64_t(m.disp));
  if (m.base >= 0) add(rax, gpr64(unsigned(m.base)));
  if (m.index >= 0) {
    mov(rcx, gpr64(unsigned(m.index)));
    if (m.scale) shl(rcx, m.scale);
    add(rax, rcx);
  }
  if (in.asize == 4 || in.op[0].size == 4) mov(eax, eax);
  mov(gpr64(in.op[0].reg), rax);
}

} // namespace rrvm::emu
