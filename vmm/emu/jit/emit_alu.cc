#include "vmm/emu/jit/emitter.h"

namespace rrvm::emu {

namespace {

constexpr uint32_t kHostSzp = rflags::kSF | rflags::kZF | rflags::kPF; // as LAHF gives them

// Cpu::commit_flags for code that cannot know the flags' writer: a direct call.
void commit_flags_of(Cpu* c) noexcept {
  c->commit_flags();
}

// The host instruction of an inline ALU operation on `r` and `s` (a register, or an immediate
// the host sign-extends to the width; the result in `r`, but for CMP and TEST, which leave it
// alone only in the guest), and how flags.cc derives its flags.
template <typename Source>
FlagOp alu_op(Xbyak::CodeGenerator& g, InlineAlu op, const Xbyak::Reg& r, const Source& s) {
  switch (op) {
  case InlineAlu::kAdd:
    g.add(r, s);
    return FlagOp::kAdd;
  case InlineAlu::kAdc: // alu.cc records the carry-in only in the result
    g.adc(r, s);
    return FlagOp::kAdd;
  case InlineAlu::kSbb:
    g.sbb(r, s);
    return FlagOp::kSub;
  case InlineAlu::kSub:
  case InlineAlu::kCmp:
    g.sub(r, s);
    return FlagOp::kSub;
  case InlineAlu::kAnd:
  case InlineAlu::kTest:
    g.and_(r, s);
    return FlagOp::kLogic;
  case InlineAlu::kOr:
    g.or_(r, s);
    return FlagOp::kLogic;
  case InlineAlu::kXor:
    g.xor_(r, s);
    return FlagOp::kLogic;
  case InlineAlu::kMov:
    break;
  }
  return FlagOp::kNone;
}

// An immediate of `size` bytes as the host's instructions take it: sign-extended to 32 bits (so
// a byte or word fits its short encodings; a quadword's is a 32-bit one sign-extended already).
uint32_t host_immediate(uint64_t value, unsigned size) {
  switch (size) {
  case 1:
    return uint32_t(int32_t(int8_t(value)));
  case 2:
    return uint32_t(int32_t(int16_t(value)));
  default:
    return uint32_t(value);
  }
}

} // namespace

// A register operand where the Cpu keeps it: little-endian in its gpr slot, so a byte or word
// store merges as the x86 partial-register rules do (AH..BH one byte up). The cache's copy is
// written back first, so that the Cpu's is the register's value.
Xbyak::Address Emitter::gpr_at(const Operand& o) {
  write_back_gpr(o.reg);
  const int32_t at = l_.gpr + int32_t(o.reg) * 8 + (o.high ? 1 : 0);
  switch (o.size) {
  case 1:
    return byte[rbx + at];
  case 2:
    return word[rbx + at];
  case 4:
    return dword[rbx + at];
  default:
    return qword[rbx + at];
  }
}

// Cpu::reg<T>: the operand zero-extended into `to` (a 32- or 64-bit one from the cache).
void Emitter::load_zx(const Xbyak::Reg64& to, const Operand& o) {
  if (o.size == 8)
    mov(to, cached_gpr(o.reg));
  else if (o.size == 4)
    mov(to.cvt32(), cached_gpr(o.reg).cvt32());
  else
    movzx(to.cvt32(), gpr_at(o));
}

// Cpu::set_reg<T> from `from`, which holds the value zero-extended when the operand has 32 bits.
// A byte or word merges into the Cpu's copy, which the cache then no longer matches.
void Emitter::store_reg(const Operand& o, const Xbyak::Reg64& from) {
  if (o.size >= 4) {
    set_gpr(o.reg, from);
  } else {
    mov(gpr_at(o), sized(from, o.size));
    forget_gpr(o.reg);
  }
}

// The lazy record's width lies in the byte after its operation, so one store writes both.
constexpr int32_t kBitsAfterOp = int32_t(offsetof(LazyFlags, bits) - offsetof(LazyFlags, op));
static_assert(kBitsAfterOp == 1);

// lazy_set<T>(op, a, b, r) from registers holding the values zero-extended from `size` bytes.
// flags.cc derives nothing from a and b after logic operations (AF is left clear there), so
// those records keep the result alone.
void Emitter::record_flags(FlagOp op, unsigned size, const Xbyak::Reg64& a, const Xbyak::Reg64& b,
                           const Xbyak::Reg64& r) {
  if (flags_live_ && op != FlagOp::kLogic) {
    mov(qword[rbx + l_.lazy_a], a);
    mov(qword[rbx + l_.lazy_b], b);
  }
  record_result(op, size, r);
}

// The rest of lazy_set<T> once a and b are in the record (or need not be): the result, zero-
// extended in `r`, and the operation with its width. Only moves, which keep the host's flags.
void Emitter::record_result(FlagOp op, unsigned size, const Xbyak::Reg64& r) {
  known_op_ = op;
  known_bits_ = size * 8;
  if (!flags_live_) return;
  mov(qword[rbx + l_.lazy_r], r);
  mov(word[rbx + l_.lazy_op], uint16_t(unsigned(op) | size * 8 << 8 * kBitsAfterOp));
}

// A lazy record's operand field set to `value`: an immediate store when it fits one.
void Emitter::record_constant(int32_t field, uint64_t value) {
  if (int64_t(value) == int64_t(int32_t(value))) {
    mov(qword[rbx + field], int32_t(value));
  } else {
    mov(rcx, value);
    mov(qword[rbx + field], rcx);
  }
}

// Operand a of a lazy record: `v` (the operand's register as operand_in_place() gave it, or rax
// zero-extended) stored zero-extended from `size` bytes.
void Emitter::record_first(unsigned size, const Xbyak::Reg64& v) {
  if (!flags_live_) return;
  if (size == 8 || v == rax) {
    mov(qword[rbx + l_.lazy_a], v);
  } else {
    mov(edx, v.cvt32());
    mov(qword[rbx + l_.lazy_a], rdx);
  }
}

// The register an in-place operation on register operand `d` works on: its cached host register
// at 32 and 64 bits (a 32-bit operation there clears the upper half, as the guest's does), else
// rax holding it zero-extended. store_in_place() completes the write.
Xbyak::Reg64 Emitter::operand_in_place(const Operand& d) {
  if (d.size >= 4) return cached_gpr(d.reg);
  load_zx(rax, d);
  return rax;
}

void Emitter::store_in_place(const Operand& d, const Xbyak::Reg64& v) {
  if (d.size >= 4)
    wrote_gpr(d.reg);
  else
    store_reg(d, v);
}

// alu_op() on registers, for emit_alu_mem.
FlagOp Emitter::emit_alu_op(InlineAlu op, const Xbyak::Reg& r, const Xbyak::Reg& s) {
  return alu_op(*this, op, r, s);
}

// alu2<Op, T, kReg, kReg|kImm>: the result, and lazy_set<T>(op, a, b, r) with a, b and r
// zero-extended from T. A memory source is in rcx already (emit_alu_load). At 32 and 64 bits the
// operation works on the destination's cached host register with the source's (or the
// immediate) as its operand; a and b go to the record before it, so that the operation's host
// flags are the last written (flags_in_host_).
void Emitter::emit_alu(const Insn& in, InlineAlu op) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  const bool imm = s.kind == OpKind::kImm;
  // ADC and SBB take the guest's CF in the host's: only moves come between here and them.
  const bool carries = takes_carry(op);
  if (carries) carry_to_host();
  Xbyak::Reg64 src = rcx; // zero-extended, but for a cached register's
  if (s.kind == OpKind::kReg) {
    if (s.size >= 4)
      src = cached_gpr(s.reg);
    else
      load_zx(rcx, s);
  }
  if (op == InlineAlu::kMov) {
    emit_move(d, s, src);
    return;
  }
  const bool writes = op != InlineAlu::kCmp && op != InlineAlu::kTest;
  Xbyak::Reg64 r = rax;
  if (writes)
    r = operand_in_place(d);
  else
    load_zx(rax, d);
  const bool logic =
      op != InlineAlu::kAdd && op != InlineAlu::kSub && op != InlineAlu::kCmp && !carries;
  if (flags_live_ && !logic) {
    record_first(d.size, r);
    if (imm) {
      record_constant(l_.lazy_b, uint64_t(s.disp) & (~0ull >> (64 - d.size * 8)));
    } else if (d.size == 8 || src == rcx) {
      mov(qword[rbx + l_.lazy_b], src);
    } else {
      mov(ecx, src.cvt32());
      mov(qword[rbx + l_.lazy_b], rcx);
    }
  }
  // An 8- or 16-bit operation leaves the zeros above it: r is the result zero-extended.
  const FlagOp kind = imm ? alu_op(*this, op, sized(r, d.size), host_immediate(s.disp, d.size))
                          : alu_op(*this, op, sized(r, d.size), sized(src, d.size));
  if (writes) store_in_place(d, r);
  record_result(kind, d.size, r);
  // The host's flags are the guest's, but host_flags() could not redo them from the record,
  // which leaves the carry-in out.
  if (carries) known_op_.reset();
}

// alu2<kMov, T, kReg, kReg|kImm>, the source in `src` unless an immediate: at 32 and 64 bits
// straight into the destination's host register.
void Emitter::emit_move(const Operand& d, const Operand& s, const Xbyak::Reg64& src) {
  const bool imm = s.kind == OpKind::kImm;
  if (d.size < 4) {
    if (imm)
      mov(gpr_at(d), uint64_t(s.disp) & (~0ull >> (64 - d.size * 8)));
    else
      mov(gpr_at(d), sized(src, d.size));
    forget_gpr(d.reg);
    return;
  }
  const Xbyak::Reg64 h = claim_gpr(d.reg);
  if (imm && d.size == 8)
    mov(h, uint64_t(s.disp));
  else if (imm)
    mov(h.cvt32(), uint32_t(s.disp));
  else if (d.size == 4)
    mov(h.cvt32(), src.cvt32());
  else if (h != src)
    mov(h, src);
}

// lazy_incdec's CF, frozen into flags_raw, when the block cannot know the flags' writer: Cpu::cf()
// on the record. ADD and SUB (ADC and SBB too, which record a carry-in) take carry_of's rule at
// the record's width; logic operations clear CF; kNone, INC and DEC have it in flags_raw already.
void Emitter::freeze_recorded_carry() {
  Xbyak::Label add_rule, sub_rule, carry, done;
  movzx(eax, byte[rbx + l_.lazy_op]);
  cmp(al, uint8_t(FlagOp::kAdd));
  je(add_rule);
  cmp(al, uint8_t(FlagOp::kSub));
  je(sub_rule);
  cmp(al, uint8_t(FlagOp::kLogic));
  jne(done);
  and_(qword[rbx + l_.flags_raw], ~int32_t(rflags::kCF));
  jmp(done);
  L(sub_rule);
  mov(rax, qword[rbx + l_.lazy_a]); // (~a & b) | ((~a | b) & r)
  not_(rax);
  mov(rcx, qword[rbx + l_.lazy_b]);
  mov(rdx, rax);
  and_(rdx, rcx);
  or_(rax, rcx);
  and_(rax, qword[rbx + l_.lazy_r]);
  or_(rax, rdx);
  jmp(carry);
  L(add_rule);
  mov(rax, qword[rbx + l_.lazy_a]); // (a & b) | ((a | b) & ~r)
  mov(rcx, qword[rbx + l_.lazy_b]);
  mov(rdx, rax);
  and_(rdx, rcx);
  or_(rax, rcx);
  mov(rcx, qword[rbx + l_.lazy_r]);
  not_(rcx);
  and_(rax, rcx);
  or_(rax, rdx);
  L(carry);
  movzx(ecx, byte[rbx + l_.lazy_op + kBitsAfterOp]); // the width: its top bit is the carry out
  dec(ecx);
  shr(rax, cl);
  and_(eax, 1); // CF is bit 0
  and_(qword[rbx + l_.flags_raw], ~int32_t(rflags::kCF));
  or_(qword[rbx + l_.flags_raw], rax);
  L(done);
}

// op_inc/op_dec on a register: lazy_incdec<T>, whose CF comes from the flags' last writer: a
// logic operation (CF clear), INC/DEC (CF already frozen in flags_raw), ADD/SUB of this block
// (CF derived on the host's flags), or one the block cannot know (freeze_recorded_carry).
void Emitter::emit_inc_dec(const Insn& in, bool dec) {
  const Operand& d = in.op[0];
  if (!flags_live_) {
    // Nothing sees CF before a later instruction overwrites it.
  } else if (!known_op_) {
    freeze_recorded_carry();
  } else if (known_op_ == FlagOp::kAdd || known_op_ == FlagOp::kSub) {
    host_flags();
    setc(cl);
    movzx(ecx, cl);
    and_(qword[rbx + l_.flags_raw], ~int32_t(rflags::kCF));
    or_(qword[rbx + l_.flags_raw], rcx);
  } else if (known_op_ == FlagOp::kLogic) {
    and_(qword[rbx + l_.flags_raw], ~int32_t(rflags::kCF));
  }
  const Xbyak::Reg64 v = operand_in_place(d);
  record_first(d.size, v);
  if (flags_live_) mov(qword[rbx + l_.lazy_b], 1);
  if (dec)
    this->dec(sized(v, d.size));
  else
    inc(sized(v, d.size));
  store_in_place(d, v);
  record_result(dec ? FlagOp::kDec : FlagOp::kInc, d.size, v);
}

// op_neg: lazy_set<T>(kSub, 0, a, -a).
void Emitter::emit_neg(const Insn& in) {
  const Operand& d = in.op[0];
  load_zx(rcx, d);
  xor_(edx, edx);
  xor_(eax, eax);
  sub(sized(rax, d.size), sized(rcx, d.size)); // NEG's result and flags
  record_flags(FlagOp::kSub, d.size, rdx, rcx, rax);
  store_reg(d, rax);
}

// op_not: no flags.
void Emitter::emit_not(const Insn& in) {
  const Operand& d = in.op[0];
  load_zx(rax, d);
  not_(sized(rax, d.size));
  store_reg(d, rax);
}

// op_movzx/op_movsx (and MOVSXD) on registers: set_reg_sized(dst, size, the source extended).
void Emitter::emit_extend(const Insn& in, bool sign) {
  const Operand& d = in.op[0];
  const Operand& s = in.op[1];
  if (sign && s.size < d.size) {
    if (s.size == 4)
      movsxd(rax, cached_gpr(s.reg).cvt32());
    else
      movsx(rax, gpr_at(s));
    if (d.size == 4) mov(eax, eax);
  } else {
    load_zx(rax, s);
  }
  store_reg(d, rax);
}

// op_lea: set_reg_sized(dst, size, offset(src)) on a 32- or 64-bit destination, straight into
// the destination's host register.
void Emitter::emit_lea(const Insn& in) {
  const Operand& d = in.op[0];
  const Operand& m = in.op[1];
  const bool narrow = in.asize == 4 || d.size == 4;
  const std::optional<Xbyak::RegExp> sum = address_sum(m, in, narrow);
  if (!sum) {
    address_by_steps(rax, m, in, narrow);
    set_gpr(d.reg, rax);
    return;
  }
  const Xbyak::Reg64 h = claim_gpr(d.reg); // not the sum's registers: they were used last
  lea(narrow ? Xbyak::Reg(h.cvt32()) : Xbyak::Reg(h), ptr[*sum]);
}

// For each instruction of a block planned as `plans`, whether the flags it leaves can be seen
// before a later inline instruction of the block overwrites them all: by a reader, a call, a
// memory access (whose slow path runs the handler, which may fault) or the block's exit. Where
// they cannot, their writer need not compute or record them.
std::vector<bool> Emitter::flags_live_after(const Block& b, const std::vector<InsnPlan>& plans) {
  std::vector<bool> live(b.insns.size());
  bool seen = true; // at the exit
  for (size_t i = b.insns.size(); i-- > 0;) {
    live[i] = seen;
    switch (flag_use(b.insns[i], plans[i])) {
    case FlagUse::kOverwrites:
      seen = false;
      break;
    case FlagUse::kSeen:
      seen = true;
      break;
    case FlagUse::kUntouched:
    case FlagUse::kMerges:
      break;
    }
  }
  return live;
}

// set_arith(kArithFlags, ...): `bits` (arithmetic flags only) replace flags_raw's and the lazy
// record is done with.
void Emitter::flags_to_raw(const Xbyak::Reg64& bits) {
  mov(r9, qword[rbx + l_.flags_raw]);
  and_(r9, ~int32_t(kArithFlags));
  or_(r9, bits);
  mov(qword[rbx + l_.flags_raw], r9);
  mov(byte[rbx + l_.lazy_op], uint8_t(FlagOp::kNone));
  known_op_ = FlagOp::kNone;
}

// alu.cc's szp() of the result in `result` into `to` (clobbers rax's second byte: LAHF).
void Emitter::host_szp_to(const Xbyak::Reg64& to, unsigned size, const Xbyak::Reg64& result) {
  test(sized(result, size), sized(result, size));
  lahf();
  movzx(to.cvt32(), ah);
  and_(to.cvt32(), kHostSzp);
}

// Cpu::commit_flags: the lazy record materialized into flags_raw (host_flags() redoes the
// operation; AF is the host's but after logic operations, where flags.cc leaves it clear).
void Emitter::commit_flags() {
  if (known_op_ == FlagOp::kNone) return;
  if (!known_op_) {
    spill_call_clobbered();
    mov(rdi, rbx);
    mov(rax, reinterpret_cast<uint64_t>(&commit_flags_of));
    call(rax);
    known_op_ = FlagOp::kNone;
    return;
  }
  const bool logic = known_op_ == FlagOp::kLogic;
  host_flags();
  lahf();
  seto(cl);
  movzx(edx, ah);
  and_(edx, kHostSzp | rflags::kCF | (logic ? 0 : rflags::kAF));
  movzx(ecx, cl);
  shl(ecx, 11); // OF
  or_(edx, ecx);
  flags_to_raw(rdx);
}

// shift<Op, T> by an immediate count n (1 when none): no change but the 32-bit zero-extension
// when n is 0; SHL/SHR/SAR (n within the width) set every arithmetic flag, CF from the host, OF
// by alu.cc's rule and AF clear; ROL/ROR set CF and OF from the result on committed flags.
void Emitter::emit_shift(const Insn& in, InlineShift op) {
  const Operand& d = in.op[0];
  const unsigned bits = d.size * 8;
  const unsigned count = in.op[1].kind == OpKind::kImm ? unsigned(in.op[1].disp) : 1;
  const unsigned n = count & (d.size == 8 ? 63 : 31);
  if (n == 0) {
    if (d.size == 4) {
      const Xbyak::Reg64 v = operand_in_place(d);
      mov(v.cvt32(), v.cvt32());
      store_in_place(d, v);
    }
    return;
  }
  if (op == InlineShift::kRol || op == InlineShift::kRor) {
    if (flags_live_) commit_flags();
    const Xbyak::Reg64 v = operand_in_place(d);
    const Xbyak::Reg r = sized(v, d.size);
    const unsigned m = n % bits;
    if (m) {
      if (op == InlineShift::kRol)
        rol(r, uint8_t(m));
      else
        ror(r, uint8_t(m));
    }
    store_in_place(d, v);
    if (!flags_live_) return;
    // ROL: CF the low bit, OF CF ^ the top bit; ROR: CF the top bit, OF CF ^ the next one.
    mov(rcx, v);
    mov(r8, v);
    if (op == InlineShift::kRol) {
      and_(ecx, 1);
      shr(r8, uint8_t(bits - 1));
    } else {
      shr(rcx, uint8_t(bits - 1));
      and_(ecx, 1);
      shr(r8, uint8_t(bits - 2));
    }
    xor_(r8d, ecx);
    and_(r8d, 1);
    shl(r8d, 11);
    or_(ecx, r8d);
    mov(r9, qword[rbx + l_.flags_raw]);
    and_(r9, ~int32_t(rflags::kCF | rflags::kOF));
    or_(r9, rcx);
    mov(qword[rbx + l_.flags_raw], r9);
    return;
  }
  const Xbyak::Reg64 v = operand_in_place(d);
  const Xbyak::Reg r = sized(v, d.size);
  if (op == InlineShift::kShr && flags_live_) { // OF: the operand's top bit
    if (d.size == 8)
      mov(r8, v);
    else
      mov(r8d, v.cvt32());
    shr(r8, uint8_t(bits - 1));
  }
  if (op == InlineShift::kShl)
    shl(r, uint8_t(n));
  else if (op == InlineShift::kShr)
    shr(r, uint8_t(n));
  else
    sar(r, uint8_t(n));
  store_in_place(d, v); // a move: CF stays the shift's
  if (!flags_live_) return;
  setc(cl);
  movzx(ecx, cl);
  if (op == InlineShift::kShl) {
    mov(r8, v); // OF: the result's top bit ^ CF
    shr(r8, uint8_t(bits - 1));
    and_(r8d, 1);
    xor_(r8d, ecx);
  } else if (op == InlineShift::kSar) {
    xor_(r8d, r8d);
  }
  shl(r8d, 11);
  or_(ecx, r8d);
  host_szp_to(rdx, d.size, v);
  or_(rdx, rcx);
  flags_to_raw(rdx);
}

// op_imul2<T>: the low half, CF and OF on a signed overflow, SF, ZF and PF of the result. At 32
// and 64 bits in the destination's host register (with the immediate as the operand of IMUL's
// three-operand form).
void Emitter::emit_imul(const Insn& in) {
  const Operand& d = in.op[0];
  const bool three = in.op[2].kind != OpKind::kNone;
  const Operand& f = in.op[three ? 1 : 0];
  const Operand& s = in.op[three ? 2 : 1];
  Xbyak::Reg64 r = rax;
  if (d.size >= 4 && s.kind == OpKind::kImm) {
    const Xbyak::Reg64 first = cached_gpr(f.reg);
    r = claim_gpr(d.reg); // not first's: it was used last, unless it is d
    imul(sized(r, d.size), sized(first, d.size), int(uint32_t(s.disp)));
  } else if (d.size >= 4) { // the two-operand form: f is d
    const Xbyak::Reg64 second = cached_gpr(s.reg);
    r = cached_gpr(f.reg);
    imul(sized(r, d.size), sized(second, d.size));
    wrote_gpr(d.reg);
  } else {
    load_zx(rax, f);
    if (s.kind == OpKind::kImm)
      mov(rcx, uint64_t(s.disp));
    else
      load_zx(rcx, s);
    imul(sized(rax, d.size), sized(rcx, d.size));
    store_reg(d, rax); // a move: OF stays the multiply's
  }
  if (!flags_live_) return;
  seto(cl);
  movzx(ecx, cl);
  imul(ecx, ecx, int(rflags::kCF | rflags::kOF));
  host_szp_to(rdx, d.size, r);
  or_(rdx, rcx);
  flags_to_raw(rdx);
}

} // namespace rrvm::emu
