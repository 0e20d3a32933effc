#include "vmm/emu/jit/handler_forms.h"

#include <xbyak/xbyak.h>

#include <functional>
#include <span>
#include <vector>

namespace rrvm::emu {

namespace {

using Xbyak::CodeGenerator;

// The handler the 64-bit decoder gives the instruction `emit` assembles. Into a buffer of ours:
// xbyak's own would be a mapping made executable and unmapped again, three system calls for each
// of the few hundred reference instructions of every start-up (~10 ms on a PVM host).
Handler handler_of(CodeCache& cache, const std::function<void(CodeGenerator&)>& emit) {
  uint8_t code[64];
  CodeGenerator g(sizeof code, code);
  emit(g);
  Insn in;
  if (!cache.decode(g.getCode(), g.getSize(), 64, in)) return nullptr;
  return in.fn;
}

Handler handler_of_bytes(CodeCache& cache, std::vector<uint8_t> bytes) {
  bytes.resize(15, 0x90);
  Insn in;
  return cache.decode(bytes.data(), bytes.size(), 64, in) ? in.fn : nullptr;
}

} // namespace

HandlerForms::HandlerForms(CodeCache& cache) {
  using G = CodeGenerator;
  const Xbyak::Reg32 r32a = Xbyak::util::eax, r32b = Xbyak::util::ecx;
  const Xbyak::Reg64 r64a = Xbyak::util::rax, r64b = Xbyak::util::rcx;
  const Xbyak::Reg16 r16a = Xbyak::util::ax, r16b = Xbyak::util::cx;
  const Xbyak::Reg8 r8a = Xbyak::util::al, r8b = Xbyak::util::cl;
  using Reg = Xbyak::Reg;
  using TwoOp = void (G::*)(const Xbyak::Operand&, const Xbyak::Operand&);
  using WithImm = void (G::*)(const Xbyak::Operand&, uint32_t);
  struct AluRef {
    InlineAlu op;
    TwoOp rr;
    WithImm ri;
  };
  const AluRef alu[] = {
      {InlineAlu::kAdd, &G::add, &G::add},   {InlineAlu::kOr, &G::or_, &G::or_},
      {InlineAlu::kAnd, &G::and_, &G::and_}, {InlineAlu::kSub, &G::sub, &G::sub},
      {InlineAlu::kXor, &G::xor_, &G::xor_}, {InlineAlu::kCmp, &G::cmp, &G::cmp},
  };
  // Register forms only: emit_alu takes the carry in before it loads anything, which a memory
  // operand's TLB check would clobber.
  const AluRef carry_alu[] = {{InlineAlu::kAdc, &G::adc, &G::adc},
                              {InlineAlu::kSbb, &G::sbb, &G::sbb}};
  const Reg* pairs[4][2] = {{&r8a, &r8b}, {&r16a, &r16b}, {&r32a, &r32b}, {&r64a, &r64b}};
  for (const auto& p : pairs) {
    const Reg& r = *p[0];
    const Reg& s = *p[1];
    const uint32_t imm = r.getBit() == 8 ? 0x45 : 0x1234;
    for (std::span<const AluRef> forms :
         {std::span<const AluRef>(alu), std::span<const AluRef>(carry_alu)})
      for (const AluRef& a : forms) {
        alu_[handler_of(cache, [&](G& g) { (g.*a.rr)(r, s); })] = a.op;
        alu_[handler_of(cache, [&](G& g) { (g.*a.ri)(r, imm); })] = a.op;
      }
    alu_[handler_of(cache, [&](G& g) { g.test(r, s); })] = InlineAlu::kTest;
    alu_[handler_of(cache, [&](G& g) { g.test(r, imm); })] = InlineAlu::kTest;
    alu_[handler_of(cache, [&](G& g) { g.mov(r, s); })] = InlineAlu::kMov;
    alu_[handler_of(cache, [&](G& g) { g.mov(r, imm); })] = InlineAlu::kMov;
    inc_dec_[handler_of(cache, [&](G& g) { g.inc(r); })] = false;
    inc_dec_[handler_of(cache, [&](G& g) { g.dec(r); })] = true;
    unary_[handler_of(cache, [&](G& g) { g.neg(r); })] = InsnPlan::Kind::kNeg;
    unary_[handler_of(cache, [&](G& g) { g.not_(r); })] = InsnPlan::Kind::kNot;
    if (r.getBit() > 8)
      unary_[handler_of(cache, [&](G& g) { g.cmovb(r, s); })] = InsnPlan::Kind::kCmovcc;
    if (r.getBit() > 8) imul_.insert(handler_of(cache, [&](G& g) { g.imul(r, s); }));
    shifts_[handler_of(cache, [&](G& g) { g.rol(r, 3); })] = InlineShift::kRol;
    shifts_[handler_of(cache, [&](G& g) { g.ror(r, 3); })] = InlineShift::kRor;
    shifts_[handler_of(cache, [&](G& g) { g.shl(r, 3); })] = InlineShift::kShl;
    shifts_[handler_of(cache, [&](G& g) { g.shr(r, 3); })] = InlineShift::kShr;
    shifts_[handler_of(cache, [&](G& g) { g.sar(r, 3); })] = InlineShift::kSar;
  }
  // xbyak writes mov(rax, 0x1234) as MOV r32: the 64-bit forms, an imm32 sign-extended (Linux
  // loads its constants so) and an imm64, are named apart.
  alu_[handler_of(cache, [&](G& g) { g.mov(r64a, uint64_t(-5)); })] = InlineAlu::kMov;
  alu_[handler_of(cache, [&](G& g) { g.mov(r64a, 0x123456789ull); })] = InlineAlu::kMov;
  unary_[handler_of(cache, [&](G& g) { g.setb(r8a); })] = InsnPlan::Kind::kSetcc;
  extend_[handler_of(cache, [&](G& g) { g.movzx(r32a, r8b); })] = false;
  extend_[handler_of(cache, [&](G& g) { g.movsx(r32a, r8b); })] = true;
  extend_[handler_of(cache, [&](G& g) { g.movsxd(r64a, r32b); })] = true;
  lea_ = handler_of(cache, [&](G& g) { g.lea(r64a, g.ptr[r64b + r64a * 4 + 8]); });
  loads_.insert(handler_of(cache, [&](G& g) { g.mov(r32a, g.dword[r64b]); }));
  loads_.insert(handler_of(cache, [&](G& g) { g.mov(r64a, g.qword[r64b]); }));
  for (const AluRef& a : alu) {
    alu_mems_[handler_of(cache, [&](G& g) { (g.*a.rr)(g.dword[r64b], r32a); })] = a.op;
    alu_mems_[handler_of(cache, [&](G& g) { (g.*a.rr)(g.qword[r64b], r64a); })] = a.op;
    alu_mems_[handler_of(cache, [&](G& g) { (g.*a.ri)(g.dword[r64b], 0x12345); })] = a.op;
    alu_mems_[handler_of(cache, [&](G& g) { (g.*a.ri)(g.qword[r64b], 0x12345); })] = a.op;
    alu_loads_[handler_of(cache, [&](G& g) { (g.*a.rr)(r32a, g.dword[r64b]); })] = a.op;
    alu_loads_[handler_of(cache, [&](G& g) { (g.*a.rr)(r64a, g.qword[r64b]); })] = a.op;
  }
  for (const AluRef& a : alu)
    alu_mems_[handler_of(cache, [&](G& g) { (g.*a.ri)(g.byte[r64b], 0x45); })] = a.op;
  alu_mems_[handler_of(cache, [&](G& g) { g.test(g.byte[r64b], 0x45); })] = InlineAlu::kTest;
  alu_mems_[handler_of(cache, [&](G& g) { g.test(g.dword[r64b], r32a); })] = InlineAlu::kTest;
  alu_mems_[handler_of(cache, [&](G& g) { g.test(g.qword[r64b], r64a); })] = InlineAlu::kTest;
  alu_mems_[handler_of(cache, [&](G& g) { g.test(g.dword[r64b], 0x12345); })] = InlineAlu::kTest;
  alu_mems_[handler_of(cache, [&](G& g) { g.test(g.qword[r64b], 0x12345); })] = InlineAlu::kTest;
  const Reg* store_sources[] = {&r8a, &r16a, &r32a, &r64a};
  for (const Reg* r : store_sources) {
    const Xbyak::AddressFrame G::*frame = r->getBit() == 8    ? &G::byte
                                          : r->getBit() == 16 ? &G::word
                                          : r->getBit() == 32 ? &G::dword
                                                              : &G::qword;
    stores_.insert(handler_of(cache, [&](G& g) { g.mov((g.*frame)[r64b], *r); }));
    stores_.insert(handler_of(cache, [&](G& g) { g.mov((g.*frame)[r64b], 0x12); }));
  }
  pushes_.insert(handler_of(cache, [&](G& g) { g.push(r64a); }));
  pushes_.insert(handler_of(cache, [&](G& g) { g.push(0x12345); }));
  pops_.insert(handler_of(cache, [&](G& g) { g.pop(r64a); }));
  pops_.insert(handler_of(cache, [&](G& g) { g.pop(g.qword[r64b]); }));
  call_rel_ = handler_of_bytes(cache, {0xe8, 0, 0, 0, 0});
  ret_ = handler_of_bytes(cache, {0xc3});
  nop_ = handler_of_bytes(cache, {0x90});
  movzx_ = handler_of(cache, [&](G& g) { g.movzx(r32a, g.byte[r64b]); });
  movsx_ = handler_of(cache, [&](G& g) { g.movsx(r32a, g.byte[r64b]); });
  for (uint8_t cc = 0; cc < 16; ++cc)
    jcc_[handler_of_bytes(cache, {uint8_t(0x70 + cc), 0})] = cc;
  jmp_rel_.insert(handler_of_bytes(cache, {0xeb, 0}));
  jmp_rel_.insert(handler_of_bytes(cache, {0xe9, 0, 0, 0, 0}));

  // Register forms that cannot raise: arithmetic without memory, shifts and rotates, moves with
  // extension, and the near branches (whose target is computed, never checked, in 64-bit mode
  // and masked to the operand size otherwise).
  const Reg* sized[4][2] = {{&r8a, &r8b}, {&r16a, &r16b}, {&r32a, &r32b}, {&r64a, &r64b}};
  for (const auto& rs : sized) {
    const Reg& a = *rs[0];
    const Reg& b = *rs[1];
    no_throw_on_regs_.insert(handler_of(cache, [&](G& g) { g.inc(a); }));
    no_throw_on_regs_.insert(handler_of(cache, [&](G& g) { g.dec(a); }));
    no_throw_on_regs_.insert(handler_of(cache, [&](G& g) { g.neg(a); }));
    no_throw_on_regs_.insert(handler_of(cache, [&](G& g) { g.not_(a); }));
    using RegForm = std::function<void(G&, const Reg&)>;
    const RegForm shifts[] = {
        [](G& g, const Reg& r) { g.rol(r, 3); }, [](G& g, const Reg& r) { g.rol(r, g.cl); },
        [](G& g, const Reg& r) { g.ror(r, 3); }, [](G& g, const Reg& r) { g.ror(r, g.cl); },
        [](G& g, const Reg& r) { g.rcl(r, 3); }, [](G& g, const Reg& r) { g.rcl(r, g.cl); },
        [](G& g, const Reg& r) { g.rcr(r, 3); }, [](G& g, const Reg& r) { g.rcr(r, g.cl); },
        [](G& g, const Reg& r) { g.shl(r, 3); }, [](G& g, const Reg& r) { g.shl(r, g.cl); },
        [](G& g, const Reg& r) { g.shr(r, 3); }, [](G& g, const Reg& r) { g.shr(r, g.cl); },
        [](G& g, const Reg& r) { g.sar(r, 3); }, [](G& g, const Reg& r) { g.sar(r, g.cl); },
    };
    for (const RegForm& f : shifts)
      no_throw_on_regs_.insert(handler_of(cache, [&](G& g) { f(g, a); }));
    no_throw_on_regs_.insert(handler_of(cache, [&](G& g) { g.adc(a, b); }));
    no_throw_on_regs_.insert(handler_of(cache, [&](G& g) { g.sbb(a, b); }));
    no_throw_on_regs_.insert(handler_of(cache, [&](G& g) { g.adc(a, 5); }));
    no_throw_on_regs_.insert(handler_of(cache, [&](G& g) { g.sbb(a, 5); }));
    no_throw_on_regs_.insert(handler_of(cache, [&](G& g) { g.xchg(a, b); }));
  }
  no_throw_on_regs_.insert(handler_of(cache, [&](G& g) { g.movzx(r64a, r8b); }));
  no_throw_on_regs_.insert(handler_of(cache, [&](G& g) { g.movsx(r64a, r8b); }));
  no_throw_on_regs_.insert(handler_of(cache, [&](G& g) { g.movsxd(r64a, r32b); }));
  no_throw_on_regs_.insert(handler_of(cache, [&](G& g) { g.imul(r64a, r64b); }));
  no_throw_on_regs_.insert(handler_of(cache, [&](G& g) { g.imul(r32a, r32b, 7); }));
  for (uint8_t cc = 0; cc < 16; ++cc)
    no_throw_on_regs_.insert(handler_of_bytes(cache, {uint8_t(0x70 + cc), 0}));
  no_throw_on_regs_.insert(handler_of_bytes(cache, {0xeb, 0}));
  no_throw_on_regs_.erase(nullptr);
  alu_.erase(nullptr);
  inc_dec_.erase(nullptr);
  jcc_.erase(nullptr);
  jmp_rel_.erase(nullptr);
  unary_.erase(nullptr);
  shifts_.erase(nullptr);
  imul_.erase(nullptr);
  extend_.erase(nullptr);
  loads_.erase(nullptr);
  alu_loads_.erase(nullptr);
  alu_mems_.erase(nullptr);
  stores_.erase(nullptr);
  pushes_.erase(nullptr);
  pops_.erase(nullptr);
}

FlagUse flag_use(const Insn& in, const InsnPlan& p) {
  switch (p.kind) {
  case InsnPlan::Kind::kAlu:
    if (takes_carry(p.alu)) return FlagUse::kSeen;
    return p.alu == InlineAlu::kMov ? FlagUse::kUntouched : FlagUse::kOverwrites;
  case InsnPlan::Kind::kNeg:
  case InsnPlan::Kind::kImul:
    return FlagUse::kOverwrites;
  case InsnPlan::Kind::kLea:
  case InsnPlan::Kind::kNop:
  case InsnPlan::Kind::kNot:
  case InsnPlan::Kind::kExtend:
    return FlagUse::kUntouched;
  case InsnPlan::Kind::kShift: {
    const unsigned count = in.op[1].kind == OpKind::kImm ? unsigned(in.op[1].disp) : 1;
    if ((count & (in.op[0].size == 8 ? 63 : 31)) == 0) return FlagUse::kUntouched;
    return p.shift == InlineShift::kRol || p.shift == InlineShift::kRor ? FlagUse::kMerges
                                                                        : FlagUse::kOverwrites;
  }
  case InsnPlan::Kind::kIncDec:
    return FlagUse::kMerges;
  default:
    return FlagUse::kSeen;
  }
}

InsnPlan HandlerForms::plan(const Insn& in) const {
  InsnPlan p;
  if (in.fn == nop_) {
    p.kind = InsnPlan::Kind::kNop;
    return p;
  }
  const Operand& d = in.op[0];
  if (in.fn == lea_ && d.kind == OpKind::kReg && (d.size == 4 || d.size == 8) &&
      (in.asize == 4 || in.asize == 8) && in.op[1].base != kRipBase) {
    p.kind = InsnPlan::Kind::kLea;
    return p;
  }
  if (loads_.count(in.fn) && d.kind == OpKind::kReg && !d.high && (d.size == 4 || d.size == 8) &&
      in.op[1].kind == OpKind::kMem && (in.asize == 4 || in.asize == 8)) {
    p.kind = InsnPlan::Kind::kLoad;
    return p;
  }
  if (auto it = alu_loads_.find(in.fn); it != alu_loads_.end() && d.kind == OpKind::kReg &&
                                        !d.high && (d.size == 4 || d.size == 8) &&
                                        in.op[1].kind == OpKind::kMem && in.op[1].size == d.size &&
                                        (in.asize == 4 || in.asize == 8)) {
    p.kind = InsnPlan::Kind::kAluLoad;
    p.alu = it->second;
    return p;
  }
  const Operand& s = in.op[1];
  if ((in.fn == movzx_ || in.fn == movsx_) && d.kind == OpKind::kReg && !d.high &&
      (d.size == 4 || d.size == 8) && s.kind == OpKind::kMem && s.size < d.size &&
      (s.size <= 2 || in.fn == movsx_) && (in.asize == 4 || in.asize == 8)) {
    p.kind = InsnPlan::Kind::kLoadExtend;
    p.sign_extend = in.fn == movsx_;
    return p;
  }
  // Bytes with an immediate only: flag tests of Linux's structures (TEST and CMP of a byte).
  if (auto it = alu_mems_.find(in.fn);
      it != alu_mems_.end() && d.kind == OpKind::kMem && (in.asize == 4 || in.asize == 8) &&
      (s.kind == OpKind::kImm ? d.size == 1 || d.size == 4 || d.size == 8
                              : s.kind == OpKind::kReg && !s.high && s.size == d.size &&
                                    (d.size == 4 || d.size == 8))) {
    p.kind = InsnPlan::Kind::kAluMem;
    p.alu = it->second;
    return p;
  }
  if (stores_.count(in.fn) && d.kind == OpKind::kMem && (in.asize == 4 || in.asize == 8) &&
      (s.kind == OpKind::kImm || (s.kind == OpKind::kReg && s.size == d.size))) {
    p.kind = InsnPlan::Kind::kStore;
    return p;
  }
  if (in.osize == 4 || in.osize == 8) {
    const bool stack_reg = d.kind == OpKind::kReg && !d.high && d.size == in.osize;
    if (pushes_.count(in.fn) && (stack_reg || d.kind == OpKind::kImm)) {
      p.kind = InsnPlan::Kind::kPush;
      return p;
    }
    if (pops_.count(in.fn) && stack_reg) {
      p.kind = InsnPlan::Kind::kPop;
      return p;
    }
    if (in.fn == call_rel_ && d.kind == OpKind::kImm) {
      p.kind = InsnPlan::Kind::kCall;
      return p;
    }
    if (in.fn == ret_ && d.kind != OpKind::kImm) {
      p.kind = InsnPlan::Kind::kRet;
      return p;
    }
  }
  for (const Operand& o : in.op)
    if (o.kind == OpKind::kMem) return p;
  if (auto it = jcc_.find(in.fn); it != jcc_.end() && in.op[0].kind == OpKind::kImm) {
    p.kind = InsnPlan::Kind::kJcc;
    p.cc = it->second;
    return p;
  }
  if (jmp_rel_.count(in.fn) && in.op[0].kind == OpKind::kImm) {
    p.kind = InsnPlan::Kind::kJmp;
    return p;
  }
  // No operand is in memory from here on.
  if (d.kind != OpKind::kReg) {
    if (no_throw_on_regs_.count(in.fn)) p.kind = InsnPlan::Kind::kDirect;
    return p;
  }
  if (auto it = inc_dec_.find(in.fn); it != inc_dec_.end()) {
    p.kind = InsnPlan::Kind::kIncDec;
    p.dec = it->second;
    return p;
  }
  if (auto it = alu_.find(in.fn); it != alu_.end()) {
    p.kind = InsnPlan::Kind::kAlu;
    p.alu = it->second;
    return p;
  }
  if (auto it = unary_.find(in.fn); it != unary_.end()) {
    p.kind = it->second;
    return p;
  }
  if (auto it = shifts_.find(in.fn); it != shifts_.end() && in.op[1].kind != OpKind::kReg) {
    // SHL/SHR/SAR by counts of the width or more leave flags the host does not define.
    const unsigned count = in.op[1].kind == OpKind::kImm ? unsigned(in.op[1].disp) : 1;
    const unsigned n = count & (d.size == 8 ? 63 : 31);
    if (it->second == InlineShift::kRol || it->second == InlineShift::kRor || n < d.size * 8) {
      p.kind = InsnPlan::Kind::kShift;
      p.shift = it->second;
    } else if (no_throw_on_regs_.count(in.fn)) {
      p.kind = InsnPlan::Kind::kDirect;
    }
    return p;
  }
  if (imul_.count(in.fn)) {
    p.kind = InsnPlan::Kind::kImul;
    return p;
  }
  if (auto it = extend_.find(in.fn); it != extend_.end() && in.op[1].kind == OpKind::kReg) {
    p.kind = InsnPlan::Kind::kExtend;
    p.sign = it->second;
    return p;
  }
  if (no_throw_on_regs_.count(in.fn)) p.kind = InsnPlan::Kind::kDirect;
  return p;
}

} // namespace rrvm::emu
