// Integer arithmetic, logic, shifts and rotates, multiply/divide, bit operations and BCD, with
// the flags the SDM defines. Where the SDM leaves a flag undefined we pick a fixed value so the
// engine stays deterministic (documented per family; the differential tests mask those flags).
#include <bit>

#include "vmm/emu/cpu.h"
#include "vmm/emu/handlers.h"

namespace rrvm::emu {

namespace {

using rflags::kAF, rflags::kCF, rflags::kOF, rflags::kPF, rflags::kSF, rflags::kZF;

template <typename T> constexpr unsigned kBits = sizeof(T) * 8;
template <typename T> bool msb(T v) {
  return (v >> (kBits<T> - 1)) & 1;
}
template <typename T> using Signed = std::make_signed_t<T>;

// SF, ZF and PF of a result.
template <typename T> uint64_t szp(T r) {
  uint64_t f = 0;
  if (msb(r)) f |= kSF;
  if (r == 0) f |= kZF;
  if (!__builtin_parity(uint8_t(r))) f |= kPF;
  return f;
}

// Operand access with the operand kind fixed at compile time, for the hot forms.
template <typename T, OpKind K> T get(Cpu& c, const Operand& o, const Insn& in) {
  if constexpr (K == OpKind::kReg)
    return c.reg<T>(o);
  else if constexpr (K == OpKind::kImm)
    return T(o.disp);
  else
    return c.read<T>(c.linear(o, in, sizeof(T), Cpu::Access::kRead));
}

enum class Alu { kAdd, kOr, kAdc, kSbb, kAnd, kSub, kXor, kCmp, kTest, kMov };

template <Alu Op, typename T> T compute(Cpu& c, T a, T b) {
  if constexpr (Op == Alu::kAdd) {
    T r = a + b;
    c.lazy_set<T>(FlagOp::kAdd, a, b, r);
    return r;
  } else if constexpr (Op == Alu::kAdc) {
    T r = T(a + b + T(c.cf()));
    c.lazy_set<T>(FlagOp::kAdd, a, b, r);
    return r;
  } else if constexpr (Op == Alu::kSub || Op == Alu::kCmp) {
    T r = a - b;
    c.lazy_set<T>(FlagOp::kSub, a, b, r);
    return r;
  } else if constexpr (Op == Alu::kSbb) {
    T r = T(a - b - T(c.cf()));
    c.lazy_set<T>(FlagOp::kSub, a, b, r);
    return r;
  } else if constexpr (Op == Alu::kAnd || Op == Alu::kTest) {
    T r = a & b;
    c.lazy_set<T>(FlagOp::kLogic, a, b, r);
    return r;
  } else if constexpr (Op == Alu::kOr) {
    T r = a | b;
    c.lazy_set<T>(FlagOp::kLogic, a, b, r);
    return r;
  } else if constexpr (Op == Alu::kXor) {
    T r = a ^ b;
    c.lazy_set<T>(FlagOp::kLogic, a, b, r);
    return r;
  } else {
    (void)c;
    (void)a;
    return b;
  }
}

// Both forms read memory (the source, or the destination to modify) before changing anything, so
// an MMIO read with no value yet returns unretired (RetryableRead) instead of throwing.
template <Alu Op, typename T, OpKind D, OpKind S> void alu2(Cpu& c, const Insn& in) {
  constexpr bool kWrites = Op != Alu::kCmp && Op != Alu::kTest;
  T b;
  if constexpr (S == OpKind::kMem) {
    RetryableRead retryable(c);
    b = get<T, S>(c, in.op[1], in);
    if (c.unretired) [[unlikely]]
      return;
  } else {
    b = get<T, S>(c, in.op[1], in);
  }
  if constexpr (D == OpKind::kReg) {
    T a = Op == Alu::kMov ? T(0) : c.reg<T>(in.op[0]);
    T r = compute<Op, T>(c, a, b);
    if constexpr (kWrites) c.set_reg<T>(in.op[0], r);
  } else {
    // CMP and TEST only read; every other form writes its destination.
    uint64_t la =
        c.linear(in.op[0], in, sizeof(T), kWrites ? Cpu::Access::kWrite : Cpu::Access::kRead);
    T a = T(0);
    if constexpr (Op != Alu::kMov) {
      RetryableRead retryable(c);
      a = c.read<T>(la);
      if (c.unretired) [[unlikely]]
        return;
    }
    T r = compute<Op, T>(c, a, b);
    if constexpr (kWrites) c.write<T>(la, r);
  }
}

template <Alu Op, typename T> Handler pick_forms(OpKind d, OpKind s) {
  if (d == OpKind::kReg) {
    if (s == OpKind::kReg) return alu2<Op, T, OpKind::kReg, OpKind::kReg>;
    if (s == OpKind::kImm) return alu2<Op, T, OpKind::kReg, OpKind::kImm>;
    if (s == OpKind::kMem) return alu2<Op, T, OpKind::kReg, OpKind::kMem>;
  } else if (d == OpKind::kMem) {
    if (s == OpKind::kReg) return alu2<Op, T, OpKind::kMem, OpKind::kReg>;
    if (s == OpKind::kImm) return alu2<Op, T, OpKind::kMem, OpKind::kImm>;
  }
  return nullptr;
}

template <Alu Op> Handler pick_alu(const Insn& in) {
  switch (in.op[0].size) {
  case 1:
    return pick_forms<Op, uint8_t>(in.op[0].kind, in.op[1].kind);
  case 2:
    return pick_forms<Op, uint16_t>(in.op[0].kind, in.op[1].kind);
  case 4:
    return pick_forms<Op, uint32_t>(in.op[0].kind, in.op[1].kind);
  case 8:
    return pick_forms<Op, uint64_t>(in.op[0].kind, in.op[1].kind);
  }
  return nullptr;
}

// Read-modify-write helper: applies `f` to operand 0, writing back when f returns a value.
template <typename T, typename F> void rmw(Cpu& c, const Insn& in, F f) {
  const Operand& o = in.op[0];
  if (o.kind == OpKind::kReg) {
    c.set_reg<T>(o, f(c.reg<T>(o)));
  } else {
    uint64_t la = c.linear(o, in, sizeof(T), Cpu::Access::kWrite);
    c.write<T>(la, f(c.read<T>(la)));
  }
}

template <typename T> void op_inc(Cpu& c, const Insn& in) {
  rmw<T>(c, in, [&](T a) {
    T r = a + 1;
    c.lazy_incdec<T>(FlagOp::kInc, a, r);
    return r;
  });
}
template <typename T> void op_dec(Cpu& c, const Insn& in) {
  rmw<T>(c, in, [&](T a) {
    T r = a - 1;
    c.lazy_incdec<T>(FlagOp::kDec, a, r);
    return r;
  });
}
template <typename T> void op_neg(Cpu& c, const Insn& in) {
  rmw<T>(c, in, [&](T a) {
    T r = T(0) - a;
    c.lazy_set<T>(FlagOp::kSub, 0, a, r);
    return r;
  });
}
template <typename T> void op_not(Cpu& c, const Insn& in) {
  rmw<T>(c, in, [](T a) { return T(~a); });
}

// ---- shifts and rotates ----
// Undefined flags: AF=0 after shifts; OF after multi-bit shifts/rotates follows the 1-bit formula.

enum class Sh { kRol, kRor, kRcl, kRcr, kShl, kShr, kSar };

template <Sh Op, typename T> void shift(Cpu& c, const Insn& in) {
  unsigned raw = in.op[1].kind == OpKind::kNone ? 1 : unsigned(c.get<uint8_t>(in.op[1], in));
  unsigned n = raw & (kBits<T> == 64 ? 63 : 31);
  rmw<T>(c, in, [&](T a) -> T {
    if (n == 0) return a;
    constexpr unsigned B = kBits<T>;
    T r;
    bool cf, of;
    if constexpr (Op == Sh::kShl) {
      r = n < B ? T(a << n) : T(0);
      cf = n <= B ? (a >> (B - n)) & 1 : false;
      of = msb(r) != cf;
      c.set_arith(kArithFlags, szp(r) | (cf ? kCF : 0) | (of ? kOF : 0));
      return r;
    } else if constexpr (Op == Sh::kShr) {
      r = n < B ? T(a >> n) : T(0);
      cf = n <= B ? (a >> (n - 1)) & 1 : false;
      of = msb(a);
      c.set_arith(kArithFlags, szp(r) | (cf ? kCF : 0) | (of ? kOF : 0));
      return r;
    } else if constexpr (Op == Sh::kSar) {
      unsigned m = n < B ? n : B - 1;
      r = T(Signed<T>(a) >> m);
      cf = (Signed<T>(a) >> (n - 1 < B ? n - 1 : B - 1)) & 1;
      c.set_arith(kArithFlags, szp(r) | (cf ? kCF : 0));
      return r;
    } else if constexpr (Op == Sh::kRol) {
      unsigned m = n % B;
      r = m ? T((a << m) | (a >> (B - m))) : a;
      cf = r & 1;
      of = msb(r) != cf;
      c.set_arith(kCF | kOF, (cf ? kCF : 0) | (of ? kOF : 0));
      return r;
    } else if constexpr (Op == Sh::kRor) {
      unsigned m = n % B;
      r = m ? T((a >> m) | (a << (B - m))) : a;
      cf = msb(r);
      of = msb(r) != ((r >> (B - 2)) & 1);
      c.set_arith(kCF | kOF, (cf ? kCF : 0) | (of ? kOF : 0));
      return r;
    } else {
      unsigned m = B < 32 ? n % (B + 1) : n;
      if (m == 0) return a;
      // Rotate the (B+1)-bit value CF:a.
      unsigned __int128 v = (unsigned __int128)(c.cf() ? 1 : 0) << B | a;
      unsigned __int128 full = ((unsigned __int128)1 << (B + 1)) - 1;
      if constexpr (Op == Sh::kRcl)
        v = ((v << m) | (v >> (B + 1 - m))) & full;
      else
        v = ((v >> m) | (v << (B + 1 - m))) & full;
      r = T(v);
      cf = (v >> B) & 1;
      if constexpr (Op == Sh::kRcl)
        of = msb(r) != cf;
      else
        of = msb(r) != ((r >> (B - 2)) & 1);
      c.set_arith(kCF | kOF, (cf ? kCF : 0) | (of ? kOF : 0));
      return r;
    }
  });
}

// SHLD/SHRD; for 16-bit operands with counts above 16 (undefined) bits come from src then dst
// again, as on Intel CPUs.
template <typename T, bool Left> void shift_double(Cpu& c, const Insn& in) {
  constexpr unsigned B = kBits<T>;
  unsigned n = unsigned(c.get<uint8_t>(in.op[2], in)) & (B == 64 ? 63 : 31);
  T b = c.reg<T>(in.op[1]);
  rmw<T>(c, in, [&](T a) -> T {
    if (n == 0) return a;
    T r;
    bool cf;
    if constexpr (B == 16) {
      if constexpr (Left) {
        uint64_t v = uint64_t(a) << 32 | uint64_t(b) << 16 | a;
        r = T(v >> (32 - n));
        cf = (v >> (48 - n)) & 1;
      } else {
        uint64_t v = uint64_t(a) | uint64_t(b) << 16 | uint64_t(a) << 32;
        r = T(v >> n);
        cf = (v >> (n - 1)) & 1;
      }
    } else if constexpr (Left) {
      r = T((a << n) | (b >> (B - n)));
      cf = (a >> (B - n)) & 1;
    } else {
      r = T((a >> n) | (b << (B - n)));
      cf = (a >> (n - 1)) & 1;
    }
    bool of = msb(r) != msb(a);
    c.set_arith(kArithFlags, szp(r) | (cf ? kCF : 0) | (of ? kOF : 0));
    return r;
  });
}

// ---- multiply and divide ----
// MUL/IMUL leave SF, ZF, PF from the low half of the result and AF=0 (undefined in the SDM).

template <typename T> void op_mul(Cpu& c, const Insn& in) {
  constexpr unsigned B = kBits<T>;
  T b = c.get<T>(in.op[0], in);
  T lo, hi;
  if constexpr (B == 64) {
    unsigned __int128 p = (unsigned __int128)c.gpr[kRax] * b;
    lo = T(p);
    hi = T(p >> 64);
  } else {
    uint64_t p = uint64_t(c.reg<T>(kRax)) * b;
    lo = T(p);
    hi = T(p >> B);
  }
  if constexpr (B == 8) {
    c.set_reg<uint16_t>(kRax, uint16_t(hi << 8 | lo));
  } else {
    c.set_reg<T>(kRax, lo);
    c.set_reg<T>(kRdx, hi);
  }
  c.set_arith(kArithFlags, szp(lo) | (hi ? kCF | kOF : 0));
}

template <typename T> void op_imul1(Cpu& c, const Insn& in) {
  constexpr unsigned B = kBits<T>;
  Signed<T> b = Signed<T>(c.get<T>(in.op[0], in));
  T lo, hi;
  if constexpr (B == 64) {
    __int128 p = (__int128)int64_t(c.gpr[kRax]) * b;
    lo = T(p);
    hi = T(uint64_t(p >> 64));
  } else {
    int64_t p = int64_t(Signed<T>(c.reg<T>(kRax))) * b;
    lo = T(p);
    hi = T(uint64_t(p) >> B);
  }
  if constexpr (B == 8) {
    c.set_reg<uint16_t>(kRax, uint16_t(hi << 8 | lo));
  } else {
    c.set_reg<T>(kRax, lo);
    c.set_reg<T>(kRdx, hi);
  }
  bool ovf = hi != T(Signed<T>(lo) >> (B - 1));
  c.set_arith(kArithFlags, szp(lo) | (ovf ? kCF | kOF : 0));
}

// IMUL r, r/m (, imm): the destination is operand 0; sources are 0 and 1, or 1 and 2.
template <typename T> void op_imul2(Cpu& c, const Insn& in) {
  bool three = in.op[2].kind != OpKind::kNone;
  Signed<T> a = Signed<T>(c.get<T>(in.op[three ? 1 : 0], in));
  Signed<T> b = Signed<T>(c.get<T>(in.op[three ? 2 : 1], in));
  __int128 p = (__int128)a * b;
  T lo = T(p);
  bool ovf = p != (__int128)Signed<T>(lo);
  c.set_reg<T>(in.op[0], lo);
  c.set_arith(kArithFlags, szp(lo) | (ovf ? kCF | kOF : 0));
}

// DIV/IDIV leave the flags unchanged (undefined in the SDM).
template <typename T> void op_div(Cpu& c, const Insn& in) {
  constexpr unsigned B = kBits<T>;
  T d = c.get<T>(in.op[0], in);
  if (d == 0) Cpu::fault(vec::kDE);
  unsigned __int128 n;
  if constexpr (B == 8)
    n = c.reg<uint16_t>(kRax);
  else
    n = (unsigned __int128)c.reg<T>(kRdx) << B | c.reg<T>(kRax);
  unsigned __int128 q = n / d, r = n % d;
  if (q >> B) Cpu::fault(vec::kDE);
  if constexpr (B == 8) {
    c.set_reg<uint16_t>(kRax, uint16_t(uint16_t(r) << 8 | uint8_t(q)));
  } else {
    c.set_reg<T>(kRax, T(q));
    c.set_reg<T>(kRdx, T(r));
  }
}

template <typename T> void op_idiv(Cpu& c, const Insn& in) {
  constexpr unsigned B = kBits<T>;
  __int128 d = Signed<T>(c.get<T>(in.op[0], in));
  if (d == 0) Cpu::fault(vec::kDE);
  __int128 n;
  if constexpr (B == 8)
    n = int16_t(c.reg<uint16_t>(kRax));
  else if constexpr (B == 64)
    n = (__int128)((unsigned __int128)c.gpr[kRdx] << 64 | c.gpr[kRax]);
  else if constexpr (B == 16)
    n = int32_t(uint32_t(c.reg<T>(kRdx)) << 16 | c.reg<T>(kRax));
  else
    n = int64_t(uint64_t(c.reg<T>(kRdx)) << 32 | c.reg<T>(kRax));
  if constexpr (B == 64) {
    // The quotient of INT128_MIN / -1 does not fit even in 128 bits.
    if (d == -1 && n == (__int128)((unsigned __int128)1 << 127)) Cpu::fault(vec::kDE);
  }
  __int128 q = n / d, r = n % d;
  if (q != (__int128)Signed<T>(T(q))) Cpu::fault(vec::kDE);
  if constexpr (B == 8) {
    c.set_reg<uint16_t>(kRax, uint16_t(uint16_t(uint8_t(r)) << 8 | uint8_t(q)));
  } else {
    c.set_reg<T>(kRax, T(q));
    c.set_reg<T>(kRdx, T(r));
  }
}

// ---- bit operations ----
// BT*: CF is the bit; OF, SF, AF, PF (undefined) and ZF are left unchanged.

enum class Bt { kTest, kSet, kReset, kComplement };

template <typename T, Bt Op> void bit_test(Cpu& c, const Insn& in) {
  constexpr unsigned B = kBits<T>;
  const Operand& dst = in.op[0];
  T src = c.get<T>(in.op[1], in);
  auto apply = [&](T v, unsigned bit) -> T {
    T m = T(T(1) << bit);
    c.set_arith(kCF, (v & m) ? kCF : 0);
    if constexpr (Op == Bt::kSet) return v | m;
    if constexpr (Op == Bt::kReset) return v & T(~m);
    if constexpr (Op == Bt::kComplement) return v ^ m;
    return v;
  };
  if (dst.kind == OpKind::kReg) {
    T r = apply(c.reg<T>(dst), unsigned(src) % B);
    if constexpr (Op != Bt::kTest) c.set_reg<T>(dst, r);
    return;
  }
  uint64_t off = c.offset(dst, in);
  unsigned bit;
  if (in.op[1].kind == OpKind::kImm) {
    bit = unsigned(src) % B;
  } else {
    // A register bit offset is signed and may address memory outside the operand.
    int64_t s = int64_t(Signed<T>(src));
    off += uint64_t((s >> (std::countr_zero(B))) * int64_t(sizeof(T)));
    off &= Cpu::amask(in.asize);
    bit = unsigned(uint64_t(s) & (B - 1));
  }
  uint64_t la =
      c.linear(dst.seg, off, sizeof(T), Op == Bt::kTest ? Cpu::Access::kRead : Cpu::Access::kWrite);
  T r = apply(c.read<T>(la), bit);
  if constexpr (Op != Bt::kTest) c.write<T>(la, r);
}

// BSF/BSR: a zero source sets ZF and leaves the destination unchanged (as real CPUs do);
// CF, OF, SF, AF, PF (undefined) are left unchanged.
template <typename T, bool Reverse> void bit_scan(Cpu& c, const Insn& in) {
  T v = c.get<T>(in.op[1], in);
  if (v == 0) {
    c.set_arith(kZF, kZF);
    return;
  }
  unsigned idx = Reverse ? kBits<T> - 1 - std::countl_zero(v) : std::countr_zero(v);
  c.set_reg<T>(in.op[0], T(idx));
  c.set_arith(kZF, 0);
}

template <typename T> void op_popcnt(Cpu& c, const Insn& in) {
  T v = c.get<T>(in.op[1], in);
  c.set_reg<T>(in.op[0], T(std::popcount(v)));
  c.set_arith(kArithFlags, v == 0 ? kZF : 0);
}

// ---- BCD (16/32-bit modes only) ----
// Undefined flags: DAA/DAS OF=0; AAA/AAS SF/ZF/PF from AL, OF=0; AAM/AAD CF/AF/OF=0.

void op_daa(Cpu& c, const Insn&) {
  uint8_t al = c.reg<uint8_t>(kRax), old = al;
  bool cf = c.cf(), af = c.rflags() & kAF;
  bool ncf = false, naf = false;
  if ((al & 0xf) > 9 || af) {
    al += 6;
    ncf = cf || old > 0xf9;
    naf = true;
  }
  if (old > 0x99 || cf) {
    al += 0x60;
    ncf = true;
  }
  c.set_reg<uint8_t>(kRax, al);
  c.set_arith(kArithFlags, szp(al) | (ncf ? kCF : 0) | (naf ? kAF : 0));
}

void op_das(Cpu& c, const Insn&) {
  uint8_t al = c.reg<uint8_t>(kRax), old = al;
  bool cf = c.cf(), af = c.rflags() & kAF;
  bool ncf = false, naf = false;
  if ((al & 0xf) > 9 || af) {
    al -= 6;
    ncf = cf || old < 6;
    naf = true;
  }
  if (old > 0x99 || cf) {
    al -= 0x60;
    ncf = true;
  }
  c.set_reg<uint8_t>(kRax, al);
  c.set_arith(kArithFlags, szp(al) | (ncf ? kCF : 0) | (naf ? kAF : 0));
}

template <bool Add> void op_aaa(Cpu& c, const Insn&) {
  uint16_t ax = c.reg<uint16_t>(kRax);
  bool adj = (ax & 0xf) > 9 || (c.rflags() & kAF);
  if (adj) ax = Add ? uint16_t(ax + 0x106) : uint16_t(ax - 0x106);
  ax &= 0xff0f;
  c.set_reg<uint16_t>(kRax, ax);
  c.set_arith(kArithFlags, szp(uint8_t(ax)) | (adj ? kCF | kAF : 0));
}

void op_aam(Cpu& c, const Insn& in) {
  uint8_t base = uint8_t(in.op[0].disp), al = c.reg<uint8_t>(kRax);
  if (base == 0) Cpu::fault(vec::kDE);
  uint8_t r = al % base;
  c.set_reg<uint16_t>(kRax, uint16_t((al / base) << 8 | r));
  c.set_arith(kArithFlags, szp(r));
}

void op_aad(Cpu& c, const Insn& in) {
  uint8_t base = uint8_t(in.op[0].disp);
  uint8_t r = uint8_t(c.reg<uint8_t>(kRax) + c.reg<uint8_t>(kRax, true) * base);
  c.set_reg<uint16_t>(kRax, r);
  c.set_arith(kArithFlags, szp(r));
}

Handler sized(unsigned size, Handler h8, Handler h16, Handler h32, Handler h64) {
  return size == 1 ? h8 : size == 2 ? h16 : size == 4 ? h32 : size == 8 ? h64 : nullptr;
}

template <Sh Op> Handler pick_shift(unsigned size) {
  return sized(size, shift<Op, uint8_t>, shift<Op, uint16_t>, shift<Op, uint32_t>,
               shift<Op, uint64_t>);
}
template <Bt Op> Handler pick_bt(unsigned size) {
  return sized(size, nullptr, bit_test<uint16_t, Op>, bit_test<uint32_t, Op>,
               bit_test<uint64_t, Op>);
}
template <bool Rev> Handler pick_scan(unsigned size) {
  return sized(size, nullptr, bit_scan<uint16_t, Rev>, bit_scan<uint32_t, Rev>,
               bit_scan<uint64_t, Rev>);
}
template <bool Left> Handler pick_shd(unsigned size) {
  return sized(size, nullptr, shift_double<uint16_t, Left>, shift_double<uint32_t, Left>,
               shift_double<uint64_t, Left>);
}

} // namespace

Handler select_alu(const ZydisDecodedInstruction& zi, Insn& in) {
  const unsigned s = in.op[0].size;
  switch (zi.mnemonic) {
  case ZYDIS_MNEMONIC_ADD:
    return pick_alu<Alu::kAdd>(in);
  case ZYDIS_MNEMONIC_OR:
    return pick_alu<Alu::kOr>(in);
  case ZYDIS_MNEMONIC_ADC:
    return pick_alu<Alu::kAdc>(in);
  case ZYDIS_MNEMONIC_SBB:
    return pick_alu<Alu::kSbb>(in);
  case ZYDIS_MNEMONIC_AND:
    return pick_alu<Alu::kAnd>(in);
  case ZYDIS_MNEMONIC_SUB:
    return pick_alu<Alu::kSub>(in);
  case ZYDIS_MNEMONIC_XOR:
    return pick_alu<Alu::kXor>(in);
  case ZYDIS_MNEMONIC_CMP:
    return pick_alu<Alu::kCmp>(in);
  case ZYDIS_MNEMONIC_TEST:
    return pick_alu<Alu::kTest>(in);
  case ZYDIS_MNEMONIC_MOV:
    if (in.op[0].kind == OpKind::kReg || in.op[0].kind == OpKind::kMem)
      if (in.op[1].kind == OpKind::kReg || in.op[1].kind == OpKind::kImm ||
          in.op[1].kind == OpKind::kMem)
        return pick_alu<Alu::kMov>(in);
    return nullptr;
  case ZYDIS_MNEMONIC_INC:
    return RRVM_EMU_BY_SIZE(op_inc, s);
  case ZYDIS_MNEMONIC_DEC:
    return RRVM_EMU_BY_SIZE(op_dec, s);
  case ZYDIS_MNEMONIC_NEG:
    return RRVM_EMU_BY_SIZE(op_neg, s);
  case ZYDIS_MNEMONIC_NOT:
    return RRVM_EMU_BY_SIZE(op_not, s);
  case ZYDIS_MNEMONIC_ROL:
    return pick_shift<Sh::kRol>(s);
  case ZYDIS_MNEMONIC_ROR:
    return pick_shift<Sh::kRor>(s);
  case ZYDIS_MNEMONIC_RCL:
    return pick_shift<Sh::kRcl>(s);
  case ZYDIS_MNEMONIC_RCR:
    return pick_shift<Sh::kRcr>(s);
  case ZYDIS_MNEMONIC_SHL:
    return pick_shift<Sh::kShl>(s);
  case ZYDIS_MNEMONIC_SHR:
    return pick_shift<Sh::kShr>(s);
  case ZYDIS_MNEMONIC_SAR:
    return pick_shift<Sh::kSar>(s);
  case ZYDIS_MNEMONIC_SHLD:
    return pick_shd<true>(s);
  case ZYDIS_MNEMONIC_SHRD:
    return pick_shd<false>(s);
  case ZYDIS_MNEMONIC_MUL:
    return RRVM_EMU_BY_SIZE(op_mul, s);
  case ZYDIS_MNEMONIC_IMUL:
    if (in.op[1].kind == OpKind::kNone) return RRVM_EMU_BY_SIZE(op_imul1, s);
    return RRVM_EMU_BY_SIZE(op_imul2, s);
  case ZYDIS_MNEMONIC_DIV:
    return RRVM_EMU_BY_SIZE(op_div, s);
  case ZYDIS_MNEMONIC_IDIV:
    return RRVM_EMU_BY_SIZE(op_idiv, s);
  case ZYDIS_MNEMONIC_BT:
    return pick_bt<Bt::kTest>(s);
  case ZYDIS_MNEMONIC_BTS:
    return pick_bt<Bt::kSet>(s);
  case ZYDIS_MNEMONIC_BTR:
    return pick_bt<Bt::kReset>(s);
  case ZYDIS_MNEMONIC_BTC:
    return pick_bt<Bt::kComplement>(s);
  case ZYDIS_MNEMONIC_BSF:
    return pick_scan<false>(s);
  case ZYDIS_MNEMONIC_BSR:
    return pick_scan<true>(s);
  case ZYDIS_MNEMONIC_POPCNT:
    return RRVM_EMU_BY_SIZE(op_popcnt, s);
  case ZYDIS_MNEMONIC_DAA:
    return op_daa;
  case ZYDIS_MNEMONIC_DAS:
    return op_das;
  case ZYDIS_MNEMONIC_AAA:
    return op_aaa<true>;
  case ZYDIS_MNEMONIC_AAS:
    return op_aaa<false>;
  case ZYDIS_MNEMONIC_AAM:
    return op_aam;
  case ZYDIS_MNEMONIC_AAD:
    return op_aad;
  default:
    return nullptr;
  }
}

} // namespace rrvm::emu
