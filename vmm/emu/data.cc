// Data movement: MOVZX/MOVSX, LEA, XCHG/CMPXCHG/XADD, BSWAP, SETcc/CMOVcc, conversions, the
// stack (PUSH/POP/PUSHA/POPA/ENTER/LEAVE) and the flag-bit instructions.
#include "vmm/emu/cpu.h"
#include "vmm/emu/handlers.h"

namespace rrvm::emu {

namespace {

template <typename T> using Signed = std::make_signed_t<T>;

uint64_t get_sized(Cpu& c, const Operand& o, const Insn& in) {
  switch (o.size) {
  case 1:
    return c.get<uint8_t>(o, in);
  case 2:
    return c.get<uint16_t>(o, in);
  case 4:
    return c.get<uint32_t>(o, in);
  default:
    return c.get<uint64_t>(o, in);
  }
}

int64_t sext(uint64_t v, unsigned bytes) {
  switch (bytes) {
  case 1:
    return int8_t(v);
  case 2:
    return int16_t(v);
  case 4:
    return int32_t(v);
  default:
    return int64_t(v);
  }
}

// The source read comes first: an MMIO read with no value yet returns unretired (RetryableRead).
void op_movzx(Cpu& c, const Insn& in) {
  uint64_t v;
  {
    RetryableRead retryable(c);
    v = get_sized(c, in.op[1], in);
  }
  if (c.unretired) [[unlikely]]
    return;
  c.set_reg_sized(in.op[0].reg, in.op[0].size, v);
}
void op_movsx(Cpu& c, const Insn& in) {
  uint64_t v;
  {
    RetryableRead retryable(c);
    v = get_sized(c, in.op[1], in);
  }
  if (c.unretired) [[unlikely]]
    return;
  c.set_reg_sized(in.op[0].reg, in.op[0].size, uint64_t(sext(v, in.op[1].size)));
}
void op_lea(Cpu& c, const Insn& in) {
  c.set_reg_sized(in.op[0].reg, in.op[0].size, c.offset(in.op[1], in));
}

template <typename T> void op_xchg(Cpu& c, const Insn& in) {
  const Operand& a = in.op[0];
  const Operand& b = in.op[1];
  if (a.kind == OpKind::kMem || b.kind == OpKind::kMem) {
    const Operand& m = a.kind == OpKind::kMem ? a : b;
    const Operand& r = a.kind == OpKind::kMem ? b : a;
    uint64_t la = c.linear(m, in, sizeof(T), Cpu::Access::kWrite);
    T old = c.read<T>(la);
    c.write<T>(la, c.reg<T>(r));
    c.set_reg<T>(r, old);
    return;
  }
  T x = c.reg<T>(a), y = c.reg<T>(b);
  c.set_reg<T>(a, y);
  c.set_reg<T>(b, x);
}

template <typename T> void op_cmpxchg(Cpu& c, const Insn& in) {
  const Operand& d = in.op[0];
  T acc = c.reg<T>(kRax);
  T src = c.reg<T>(in.op[1]);
  uint64_t la = d.kind == OpKind::kMem ? c.linear(d, in, sizeof(T), Cpu::Access::kWrite) : 0;
  T cur = d.kind == OpKind::kMem ? c.read<T>(la) : c.reg<T>(d);
  c.lazy_set<T>(FlagOp::kSub, acc, cur, T(acc - cur));
  if (acc == cur) {
    if (d.kind == OpKind::kMem)
      c.write<T>(la, src);
    else
      c.set_reg<T>(d, src);
  } else {
    // The destination is written back unchanged (a locked cycle always writes).
    if (d.kind == OpKind::kMem) c.write<T>(la, cur);
    c.set_reg<T>(kRax, cur);
  }
}

template <typename T> void op_xadd(Cpu& c, const Insn& in) {
  const Operand& d = in.op[0];
  T src = c.reg<T>(in.op[1]);
  uint64_t la = d.kind == OpKind::kMem ? c.linear(d, in, sizeof(T), Cpu::Access::kWrite) : 0;
  T cur = d.kind == OpKind::kMem ? c.read<T>(la) : c.reg<T>(d);
  T sum = T(cur + src);
  if (d.kind == OpKind::kMem) c.write<T>(la, sum);
  c.set_reg<T>(in.op[1], cur);
  if (d.kind == OpKind::kReg) c.set_reg<T>(d, sum);
  c.lazy_set<T>(FlagOp::kAdd, cur, src, sum);
}

template <bool Wide> void op_cmpxchg_n(Cpu& c, const Insn& in) {
  uint64_t la = c.linear(in.op[0], in, Wide ? 16 : 8, Cpu::Access::kWrite);
  if constexpr (Wide) {
    if (la & 15) Cpu::fault(vec::kGP, 0);
    uint64_t lo = c.read<uint64_t>(la), hi = c.read<uint64_t>(la + 8);
    if (lo == c.gpr[kRax] && hi == c.gpr[kRdx]) {
      c.write<uint64_t>(la, c.gpr[kRbx]);
      c.write<uint64_t>(la + 8, c.gpr[kRcx]);
      c.set_arith(rflags::kZF, rflags::kZF);
    } else {
      c.write<uint64_t>(la, lo);
      c.write<uint64_t>(la + 8, hi);
      c.gpr[kRax] = lo;
      c.gpr[kRdx] = hi;
      c.set_arith(rflags::kZF, 0);
    }
  } else {
    uint64_t cur = c.read<uint64_t>(la);
    uint64_t exp = uint64_t(uint32_t(c.gpr[kRdx])) << 32 | uint32_t(c.gpr[kRax]);
    if (cur == exp) {
      c.write<uint64_t>(la, uint64_t(uint32_t(c.gpr[kRcx])) << 32 | uint32_t(c.gpr[kRbx]));
      c.set_arith(rflags::kZF, rflags::kZF);
    } else {
      c.write<uint64_t>(la, cur);
      c.set_reg<uint32_t>(kRax, uint32_t(cur));
      c.set_reg<uint32_t>(kRdx, uint32_t(cur >> 32));
      c.set_arith(rflags::kZF, 0);
    }
  }
}

// BSWAP of a 16-bit register is undefined; it clears the register, as Intel and AMD CPUs do.
void op_bswap(Cpu& c, const Insn& in) {
  const Operand& o = in.op[0];
  switch (o.size) {
  case 2:
    c.set_reg<uint16_t>(o, 0);
    break;
  case 4:
    c.set_reg<uint32_t>(o, __builtin_bswap32(c.reg<uint32_t>(o)));
    break;
  default:
    c.set_reg<uint64_t>(o, __builtin_bswap64(c.reg<uint64_t>(o)));
    break;
  }
}

void op_setcc(Cpu& c, const Insn& in) {
  c.put<uint8_t>(in.op[0], in, c.cond(in.cc) ? 1 : 0);
}

template <typename T> void op_cmovcc(Cpu& c, const Insn& in) {
  T v = c.get<T>(in.op[1], in); // the source is read (and may fault) whatever the condition
  if (c.cond(in.cc))
    c.set_reg<T>(in.op[0], v);
  else if constexpr (sizeof(T) == 4)
    c.set_reg<uint32_t>(in.op[0], c.reg<uint32_t>(in.op[0])); // still zero-extends
}

void op_cbw(Cpu& c, const Insn& in) {
  switch (in.osize) {
  case 2:
    c.set_reg<uint16_t>(kRax, uint16_t(int8_t(c.gpr[kRax])));
    break;
  case 4:
    c.set_reg<uint32_t>(kRax, uint32_t(int16_t(c.gpr[kRax])));
    break;
  default:
    c.gpr[kRax] = uint64_t(int64_t(int32_t(c.gpr[kRax])));
    break;
  }
}
void op_cwd(Cpu& c, const Insn& in) {
  switch (in.osize) {
  case 2:
    c.set_reg<uint16_t>(kRdx, int16_t(c.gpr[kRax]) < 0 ? 0xffff : 0);
    break;
  case 4:
    c.set_reg<uint32_t>(kRdx, int32_t(c.gpr[kRax]) < 0 ? 0xffffffff : 0);
    break;
  default:
    c.gpr[kRdx] = int64_t(c.gpr[kRax]) < 0 ? ~0ull : 0;
    break;
  }
}

void op_nop(Cpu&, const Insn&) {}

void op_clc(Cpu& c, const Insn&) {
  c.set_arith(rflags::kCF, 0);
}
void op_stc(Cpu& c, const Insn&) {
  c.set_arith(rflags::kCF, rflags::kCF);
}
void op_cmc(Cpu& c, const Insn&) {
  c.set_arith(rflags::kCF, c.cf() ? 0 : rflags::kCF);
}
void op_cld(Cpu& c, const Insn&) {
  c.flags_raw &= ~rflags::kDF;
}
void op_std(Cpu& c, const Insn&) {
  c.flags_raw |= rflags::kDF;
}
void op_lahf(Cpu& c, const Insn&) {
  c.set_reg<uint8_t>(kRax, uint8_t(c.rflags()), true);
}
void op_sahf(Cpu& c, const Insn&) {
  constexpr uint64_t m = rflags::kSF | rflags::kZF | rflags::kAF | rflags::kPF | rflags::kCF;
  c.set_arith(m, c.reg<uint8_t>(kRax, true));
}

void op_xlat(Cpu& c, const Insn& in) {
  uint64_t off = (c.gpr[kRbx] + c.reg<uint8_t>(kRax)) & Cpu::amask(in.asize);
  c.set_reg<uint8_t>(kRax, c.read<uint8_t>(c.linear(in.op[0].seg, off, 1, Cpu::Access::kRead)));
}

// ---- stack ----

void op_push(Cpu& c, const Insn& in) {
  const Operand& o = in.op[0];
  uint64_t v = o.kind == OpKind::kImm ? uint64_t(o.disp) : get_sized(c, o, in);
  c.push_sized(in.osize, v);
}

void op_push_reg64(Cpu& c, const Insn& in) {
  c.push<uint64_t>(c.gpr[in.op[0].reg]);
}

void op_pop(Cpu& c, const Insn& in) {
  const Operand& o = in.op[0];
  if (o.kind == OpKind::kReg) {
    uint64_t v = c.pop_sized(in.osize);
    c.set_reg_sized(o.reg, in.osize, v);
    return;
  }
  // POP to memory computes the address after incrementing RSP; a fault restores RSP.
  uint64_t saved = c.gpr[kRsp];
  uint64_t v = c.pop_sized(in.osize);
  try {
    c.write_sized(c.linear(o, in, in.osize, Cpu::Access::kWrite), in.osize, v);
  } catch (const GuestFault&) {
    c.gpr[kRsp] = saved;
    throw;
  }
}

void op_pop_reg64(Cpu& c, const Insn& in) {
  uint64_t v = c.pop<uint64_t>();
  c.gpr[in.op[0].reg] = v;
}

// PUSHA/POPA write and read all slots before committing ESP so a fault leaves no trace.
void op_pusha(Cpu& c, const Insn& in) {
  unsigned n = in.osize;
  uint64_t m = c.sp_mask(), sp = c.gpr[kRsp];
  for (unsigned i = 0; i < 8; ++i) {
    uint64_t v = c.gpr[i] & Cpu::amask(n);
    c.write_sized(c.linear(kSS, (sp - (i + 1) * n) & m, n, Cpu::Access::kWrite), n, v);
  }
  c.gpr[kRsp] = (sp & ~m) | ((sp - 8 * n) & m);
}

void op_popa(Cpu& c, const Insn& in) {
  unsigned n = in.osize;
  uint64_t vals[8];
  for (unsigned i = 0; i < 8; ++i)
    vals[7 - i] = c.stack_peek(n, i);
  for (unsigned i = 0; i < 8; ++i)
    if (i != kRsp) c.set_reg_sized(i, n, vals[i]);
  uint64_t m = c.sp_mask();
  c.gpr[kRsp] = (c.gpr[kRsp] & ~m) | ((c.gpr[kRsp] + 8 * n) & m);
}

void op_enter(Cpu& c, const Insn& in) {
  unsigned n = in.osize;
  uint64_t size = uint16_t(in.op[0].disp);
  unsigned level = unsigned(in.op[1].disp) & 31;
  uint64_t m = c.sp_mask();
  uint64_t bp_mask = c.mode64 ? ~0ull : m;
  uint64_t sp = c.gpr[kRsp];
  uint64_t bp = c.gpr[kRbp];
  sp = (sp - n) & m;
  c.write_sized(c.linear(kSS, sp, n, Cpu::Access::kWrite), n, bp);
  uint64_t frame = sp;
  for (unsigned i = 1; i < level; ++i) {
    bp = (bp - n) & bp_mask;
    uint64_t v = c.read_sized(c.linear(kSS, bp, n, Cpu::Access::kRead), n);
    sp = (sp - n) & m;
    c.write_sized(c.linear(kSS, sp, n, Cpu::Access::kWrite), n, v);
  }
  if (level > 0) {
    sp = (sp - n) & m;
    c.write_sized(c.linear(kSS, sp, n, Cpu::Access::kWrite), n, frame);
  }
  sp = (sp - size) & m;
  c.read<uint8_t>(c.linear(kSS, sp, 1, Cpu::Access::kRead)); // the new stack top must be accessible
  c.set_reg_sized(kRbp, n, frame);
  c.gpr[kRsp] = (c.gpr[kRsp] & ~m) | sp;
}

void op_leave(Cpu& c, const Insn& in) {
  uint64_t m = c.sp_mask();
  uint64_t bp = c.gpr[kRbp] & m;
  uint64_t v = c.read_sized(c.linear(kSS, bp, in.osize, Cpu::Access::kRead), in.osize);
  c.gpr[kRsp] = (c.gpr[kRsp] & ~m) | ((bp + in.osize) & m);
  c.set_reg_sized(kRbp, in.osize, v);
}

} // namespace

Handler select_data(const ZydisDecodedInstruction& zi, Insn& in) {
  const unsigned s = in.op[0].size;
  switch (zi.mnemonic) {
  case ZYDIS_MNEMONIC_MOVZX:
    return op_movzx;
  case ZYDIS_MNEMONIC_MOVSX:
  case ZYDIS_MNEMONIC_MOVSXD:
    return op_movsx;
  case ZYDIS_MNEMONIC_LEA:
    return in.op[1].kind == OpKind::kMem ? op_lea : nullptr;
  case ZYDIS_MNEMONIC_XCHG:
    return RRVM_EMU_BY_SIZE(op_xchg, s);
  case ZYDIS_MNEMONIC_CMPXCHG:
    return RRVM_EMU_BY_SIZE(op_cmpxchg, s);
  case ZYDIS_MNEMONIC_XADD:
    return RRVM_EMU_BY_SIZE(op_xadd, s);
  case ZYDIS_MNEMONIC_CMPXCHG8B:
    return op_cmpxchg_n<false>;
  case ZYDIS_MNEMONIC_CMPXCHG16B:
    return op_cmpxchg_n<true>;
  case ZYDIS_MNEMONIC_BSWAP:
    return op_bswap;
  case ZYDIS_MNEMONIC_CBW:
  case ZYDIS_MNEMONIC_CWDE:
  case ZYDIS_MNEMONIC_CDQE:
    return op_cbw;
  case ZYDIS_MNEMONIC_CWD:
  case ZYDIS_MNEMONIC_CDQ:
  case ZYDIS_MNEMONIC_CQO:
    return op_cwd;
  case ZYDIS_MNEMONIC_NOP:
  case ZYDIS_MNEMONIC_PAUSE:
  case ZYDIS_MNEMONIC_LFENCE:
  case ZYDIS_MNEMONIC_MFENCE:
  case ZYDIS_MNEMONIC_SFENCE:
  case ZYDIS_MNEMONIC_PREFETCHNTA:
  case ZYDIS_MNEMONIC_PREFETCHT0:
  case ZYDIS_MNEMONIC_PREFETCHT1:
  case ZYDIS_MNEMONIC_PREFETCHT2:
  case ZYDIS_MNEMONIC_PREFETCHW:
  case ZYDIS_MNEMONIC_ENDBR32:
  case ZYDIS_MNEMONIC_ENDBR64:
    return op_nop;
  case ZYDIS_MNEMONIC_CLC:
    return op_clc;
  case ZYDIS_MNEMONIC_STC:
    return op_stc;
  case ZYDIS_MNEMONIC_CMC:
    return op_cmc;
  case ZYDIS_MNEMONIC_CLD:
    return op_cld;
  case ZYDIS_MNEMONIC_STD:
    return op_std;
  case ZYDIS_MNEMONIC_LAHF:
    return op_lahf;
  case ZYDIS_MNEMONIC_SAHF:
    return op_sahf;
  case ZYDIS_MNEMONIC_XLAT:
    return op_xlat;
  case ZYDIS_MNEMONIC_PUSH:
    if (in.op[0].kind == OpKind::kSreg) return nullptr;
    if (in.op[0].kind == OpKind::kReg && in.osize == 8) return op_push_reg64;
    return op_push;
  case ZYDIS_MNEMONIC_POP:
    if (in.op[0].kind == OpKind::kSreg) return nullptr;
    if (in.op[0].kind == OpKind::kReg && in.osize == 8) return op_pop_reg64;
    return op_pop;
  case ZYDIS_MNEMONIC_PUSHA:
  case ZYDIS_MNEMONIC_PUSHAD:
    return op_pusha;
  case ZYDIS_MNEMONIC_POPA:
  case ZYDIS_MNEMONIC_POPAD:
    return op_popa;
  case ZYDIS_MNEMONIC_ENTER:
    return op_enter;
  case ZYDIS_MNEMONIC_LEAVE:
    return op_leave;
  default:
    break;
  }
  if (zi.opcode_map == ZYDIS_OPCODE_MAP_0F && (zi.opcode & 0xf0) == 0x90) {
    in.cc = zi.opcode & 0xf;
    return op_setcc;
  }
  if (zi.opcode_map == ZYDIS_OPCODE_MAP_0F && (zi.opcode & 0xf0) == 0x40) {
    in.cc = zi.opcode & 0xf;
    return RRVM_EMU_BY_SIZE(op_cmovcc, s);
  }
  return nullptr;
}

} // namespace rrvm::emu
