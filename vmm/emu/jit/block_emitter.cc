#include "vmm/emu/jit/block_emitter.h"

#include <xbyak/xbyak.h>

#include <cstddef>
#include <list>
#include <optional>

#include "vmm/emu/cpu.h"

namespace rrvm::emu {

namespace {

int32_t offset_in(const Cpu& c, const void* field) {
  return int32_t(static_cast<const char*>(field) - reinterpret_cast<const char*>(&c));
}

// Handlers report guest faults and stops by C++ exceptions, and generated code has no unwind
// information: they are caught here, before they would have to unwind through it, and handed to
// the C++ caller of the block, which rethrows them.
bool call_handler(Cpu& c, const Insn& in, std::exception_ptr* raised) noexcept {
  try {
    in.fn(c, in);
    return false;
  } catch (...) {
    *raised = std::current_exception();
    return true;
  }
}

constexpr size_t kPerInsnBound = 512, kFrameBound = 160;

// Registers while a block runs (all callee-saved, so handler calls keep them): rbx the Cpu, r12
// the exception slot, r13 the trampoline, r14 the RIP the block was entered at.
class Emitter : public Xbyak::CodeGenerator {
public:
  Emitter(uint8_t* at, size_t room, const EmitContext& ctx)
      : CodeGenerator(room, at), l_(ctx.layout), forms_(ctx.forms), raised_(ctx.raised),
        next_(ctx.next), next_arg_(ctx.next_arg), chaining_(ctx.chaining) {}

  void block(const Block& b) {
    const bool checked = !counts_one_per_insn(b);
    // Five pushes keep the stack 16-byte aligned for the calls.
    push(rbx);
    push(r12);
    push(r13);
    push(r14);
    push(r15);
    mov(rbx, rdi);
    mov(r12, reinterpret_cast<uint64_t>(raised_));
    mov(r13, reinterpret_cast<uint64_t>(&call_handler));
    mov(r14, qword[rbx + l_.rip]);
    L(top_);
    for (const Insn& in : b.insns) {
      const bool last = &in == &b.insns.back();
      InsnPlan plan = checked ? InsnPlan{} : forms_.plan(in);
      switch (plan.kind) {
      case InsnPlan::Kind::kAlu:
        emit_alu(in, plan.alu);
        retire_inline(in);
        break;
      case InsnPlan::Kind::kLea:
        emit_lea(in);
        retire_inline(in);
        break;
      case InsnPlan::Kind::kIncDec:
        if (known_op_ == FlagOp::kLogic || known_op_ == FlagOp::kInc || known_op_ == FlagOp::kDec) {
          emit_inc_dec(in, plan.dec);
          retire_inline(in);
          break;
        }
        plan.kind = InsnPlan::Kind::kDirect;
        if (!last) {
          call_direct(in);
          retire_inline(in);
          known_op_.reset();
          break;
        }
        call_insn(in, false);
        break;
      case InsnPlan::Kind::kLoad:
        emit_load(in);
        retire_inline(in);
        break;
      case InsnPlan::Kind::kJcc:
        if (last && known_op_ && (plan.cc == 4 || plan.cc == 5 || plan.cc == 8 || plan.cc == 9) &&
            in.op[0].disp == int32_t(in.op[0].disp)) {
          emit_jcc(in, plan.cc);
          if (!checked) loop_to_self(b);
          break;
        }
        call_insn(in, false);
        break;
      case InsnPlan::Kind::kDirect:
        if (!last) {
          // Not a branch (branches end blocks): it reads neither RIP nor the count and cannot
          // stop, so it retires as inline code does.
          call_direct(in);
          retire_inline(in);
          known_op_.reset();
          break;
        }
        [[fallthrough]];
      case InsnPlan::Kind::kTrampoline:
        call_insn(in, plan.kind == InsnPlan::Kind::kTrampoline);
        if (last) break;
        // The interpreter's loop condition; the limit only where a REP may have reached it.
        cmp(byte[rbx + l_.stop], 0);
        jne(done_, T_NEAR);
        if (checked) {
          cmp(rax, qword[rbx + l_.limit]);
          jae(done_, T_NEAR);
        }
        break;
      }
    }
    commit_inline();
    chain(b);
    L(done_);
    xor_(eax, eax);
    L(out_);
    pop(r15);
    pop(r14);
    pop(r13);
    pop(r12);
    pop(rbx);
    ret();
    for (SlowLoad& s : slow_loads_)
      emit_slow_load(s);
  }

private:
  // A load whose fast path missed: the handler runs it with the state the interpreter has there.
  struct SlowLoad {
    const Insn* in;
    int32_t offset, pending;
    Xbyak::Label entry, resume;
  };
  Xbyak::Address gpr64(unsigned r) { return qword[rbx + l_.gpr + int32_t(r) * 8]; }
  Xbyak::Address gpr32(unsigned r) { return dword[rbx + l_.gpr + int32_t(r) * 8]; }

  // Inline instructions count and advance RIP in bulk: the Cpu learns them before the next call
  // or exit (none of them can stop, fault or read RIP).
  void retire_inline(const Insn& in) {
    offset_ += in.len;
    ++pending_;
  }
  void commit_inline() {
    if (!pending_) return;
    add(qword[rbx + l_.icount], pending_);
    lea(rax, ptr[r14 + offset_]);
    mov(qword[rbx + l_.rip], rax);
    pending_ = 0;
  }

  // Jumps to the next block's translation, if it may run now, as a tail call: it returns to this
  // block's caller.
  void chain(const Block& b) {
    mov(rdi, rbx);
    mov(rsi, reinterpret_cast<uint64_t>(next_arg_));
    mov(rdx, reinterpret_cast<uint64_t>(&b));
    mov(rax, reinterpret_cast<uint64_t>(next_));
    call(rax);
    test(rax, rax);
    jz(done_, T_NEAR);
    mov(rdi, rbx);
    pop(r15);
    pop(r14);
    pop(r13);
    pop(r12);
    pop(rbx);
    jmp(rax);
  }

  void call_direct(const Insn& in) {
    mov(rdi, rbx);
    mov(rsi, reinterpret_cast<uint64_t>(&in));
    mov(rax, reinterpret_cast<uint64_t>(in.fn));
    call(rax);
  }

  void call_insn(const Insn& in, bool may_throw) {
    commit_inline();
    known_op_.reset();
    lea(rax, ptr[r14 + offset_ + in.len]);
    mov(qword[rbx + l_.next_rip], rax);
    if (may_throw) {
      mov(rdi, rbx);
      mov(rsi, reinterpret_cast<uint64_t>(&in));
      mov(rdx, r12);
      call(r13);
      test(al, al);
      jnz(out_, T_NEAR); // the instruction did not retire: RIP and the count stay on it
    } else {
      call_direct(in);
    }
    offset_ += in.len;
    mov(rax, qword[rbx + l_.next_rip]);
    mov(qword[rbx + l_.rip], rax);
    mov(rax, qword[rbx + l_.icount]);
    add(rax, 1);
    mov(qword[rbx + l_.icount], rax);
  }

  // alu2<Op, T, kReg, kReg|kImm>: the result, and lazy_set<T>(op, a, b, r) with a, b and r
  // zero-extended from T.
  void emit_alu(const Insn& in, InlineAlu op) {
    const Operand& d = in.op[0];
    const Operand& s = in.op[1];
    const bool wide = d.size == 8;
    const Xbyak::Reg64 a = rax, b = rcx;
    if (s.kind == OpKind::kImm) {
      if (wide)
        mov(b, uint64_t(s.disp));
      else
        mov(b.cvt32(), uint32_t(s.disp));
    } else if (wide) {
      mov(b, gpr64(s.reg));
    } else {
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
  void emit_inc_dec(const Insn& in, bool dec) {
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

  // alu2<kMov, T, kReg, kMem>: Cpu::linear's unchecked case and read_as's TLB hit inline; any
  // other case (segment or alignment checks, a TLB miss, a page-crossing access) runs the handler.
  void emit_load(const Insn& in) {
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

  void emit_slow_load(SlowLoad& s) {
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

  // A block ending in a branch back to its own start (a loop) jumps to its top when execute()'s
  // path to the next block would lead here again: chaining allowed, no kick, shadow or TF, room
  // under the limit, and the code page's TLB entry still the one mapping it where this block was
  // decoded (the block is live: nothing invalidated it, or the loop would have stopped). RIP is in
  // rax.
  void loop_to_self(const Block& b) {
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
  void emit_jcc(const Insn& in, uint8_t cc) {
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

  // op_lea: set_reg_sized(dst, size, offset(src)) on a 32- or 64-bit destination.
  void emit_lea(const Insn& in) {
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

  const CpuLayout& l_;
  const HandlerForms& forms_;
  std::exception_ptr* raised_;
  NextTranslation next_;
  void* next_arg_;
  const bool* chaining_;
  Xbyak::Label top_, done_, out_;
  int32_t offset_ = 0;  // bytes of the block retired so far
  int32_t pending_ = 0; // inline instructions retired but not yet counted in the Cpu
  // The lazy-flags operation the block's last flag-writing instruction left, when that was
  // inline code (so known here), and its width.
  std::optional<FlagOp> known_op_;
  std::list<SlowLoad> slow_loads_; // a list: labels must not move
  unsigned known_bits_ = 0;
};

} // namespace

CpuLayout::CpuLayout(const Cpu& c)
    : gpr(offset_in(c, &c.gpr[0])), rip(offset_in(c, &c.rip)), next_rip(offset_in(c, &c.next_rip)),
      icount(offset_in(c, &c.icount)), limit(offset_in(c, &c.limit)), stop(offset_in(c, &c.stop)),
      lazy_a(offset_in(c, &c.lazy.a)), lazy_b(offset_in(c, &c.lazy.b)),
      lazy_r(offset_in(c, &c.lazy.r)), lazy_op(offset_in(c, &c.lazy.op)),
      lazy_bits(offset_in(c, &c.lazy.bits)), flags_raw(offset_in(c, &c.flags_raw)),
      seg_base(offset_in(c, &c.seg_base[0])), lin_mask(offset_in(c, &c.lin_mask)),
      seg_checked(offset_in(c, &c.seg_checked)), align_checked(offset_in(c, &c.align_checked)),
      acc_read(offset_in(c, &c.acc_read)), acc_exec(offset_in(c, &c.acc_exec)),
      tlb(offset_in(c, c.tlb())), kicked(offset_in(c, &c.kicked)),
      interrupt_shadow(offset_in(c, &c.interrupt_shadow)),
      inputs_next(offset_in(c, &c.inputs.next)) {}

bool counts_one_per_insn(const Block& b) {
  for (const Insn& in : b.insns)
    if (in.rep != rep::kNone) return false;
  return true;
}

size_t emitted_size_bound(size_t insns) {
  return kFrameBound + insns * kPerInsnBound;
}

size_t emit_block(const Block& b, const EmitContext& ctx, uint8_t* at, size_t room) {
  Emitter e(at, room, ctx);
  e.block(b);
  return e.getSize();
}

} // namespace rrvm::emu
