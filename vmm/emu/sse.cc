// SSE through SSE4.2 and MMX: the checks the SDM puts around each instruction, and the host stub
// (simd_stub.h) that computes it.
#include <Zydis/Zydis.h>

#include "vmm/emu/cpu.h"
#include "vmm/emu/handlers.h"
#include "vmm/emu/simd.h"
#include "vmm/emu/simd_stub.h"

namespace rrvm::emu {

namespace {

void read_bytes(Cpu& c, uint64_t la, unsigned size, uint8_t* out) {
  switch (size) {
  case 1:
    *out = c.read<uint8_t>(la);
    return;
  case 2: {
    uint16_t v = c.read<uint16_t>(la);
    std::memcpy(out, &v, 2);
    return;
  }
  case 4: {
    uint32_t v = c.read<uint32_t>(la);
    std::memcpy(out, &v, 4);
    return;
  }
  case 8: {
    uint64_t v = c.read<uint64_t>(la);
    std::memcpy(out, &v, 8);
    return;
  }
  default: {
    Bytes16 v = c.read<Bytes16>(la);
    std::memcpy(out, v.b, 16);
  }
  }
}

void write_bytes(Cpu& c, uint64_t la, unsigned size, const uint8_t* in) {
  switch (size) {
  case 1:
    c.write<uint8_t>(la, *in);
    return;
  case 2: {
    uint16_t v;
    std::memcpy(&v, in, 2);
    c.write<uint16_t>(la, v);
    return;
  }
  case 4: {
    uint32_t v;
    std::memcpy(&v, in, 4);
    c.write<uint32_t>(la, v);
    return;
  }
  case 8: {
    uint64_t v;
    std::memcpy(&v, in, 8);
    c.write<uint64_t>(la, v);
    return;
  }
  default: {
    Bytes16 v;
    std::memcpy(v.b, in, 16);
    c.write<Bytes16>(la, v);
  }
  }
}

void op_simd(Cpu& c, const Insn& in) {
  const SimdOp& op = *reinterpret_cast<const SimdOp*>(in.extra);
  if (op.uses_xmm) check_sse(c);
  if (op.mm_used) check_mmx(c);
  SimdFrame f;
  uint64_t la = 0;
  if (op.mem_size) {
    la = c.linear(in.op[0], in, op.mem_size,
                  op.mem_write ? Cpu::Access::kWrite : Cpu::Access::kRead);
    if (op.aligned && (la & 15)) Cpu::fault(vec::kGP, 0);
    if (op.mem_read) read_bytes(c, la, op.mem_size, f.mem);
  }
  for (unsigned k = 0; k < kSimdExplicitGprs; ++k)
    if (op.gpr_read >> k & 1) f.gpr[k] = c.gpr[in.op[1 + k].reg] >> (in.op[1 + k].high ? 8 : 0);
  if (op.gpr_read >> kSimdRax & 1) f.gpr[kSimdRax] = c.gpr[kRax];
  if (op.gpr_read >> kSimdRcx & 1) f.gpr[kSimdRcx] = c.gpr[kRcx];
  if (op.gpr_read >> kSimdRdx & 1) f.gpr[kSimdRdx] = c.gpr[kRdx];
  for (unsigned i = 0; i < 8; ++i)
    if (op.mm_used >> i & 1) f.mm[i] = read_mm(c.fpu, i);
  auto* xmm = xmm_file(c);
  if (op.uses_mxcsr) {
    bool trapped;
    const uint32_t raised = run_fp(op, xmm, &f, c.fpu.mxcsr & ~mxcsr::kFlags, &trapped);
    c.fpu.mxcsr |= raised;
    if (trapped) [[unlikely]]
      Cpu::fault((c.cr4 & cr4::kOSXMMEXCPT) ? vec::kXM : vec::kUD);
  } else {
    op.stub(xmm, &f);
  }
  if (op.mem_write) write_bytes(c, la, op.mem_size, f.mem);
  for (unsigned k = 0; k < kSimdExplicitGprs; ++k)
    if (op.gpr_written >> k & 1) c.set_reg_sized(in.op[1 + k].reg, 8, f.gpr[k]);
  if (op.gpr_written >> kSimdRax & 1) c.gpr[kRax] = f.gpr[kSimdRax];
  if (op.gpr_written >> kSimdRcx & 1) c.gpr[kRcx] = f.gpr[kSimdRcx];
  if (op.gpr_written >> kSimdRdx & 1) c.gpr[kRdx] = f.gpr[kSimdRdx];
  if (op.flags) c.set_arith(op.flags, f.rflags);
  if (op.mm_used) {
    enter_mmx_mode(c.fpu);
    for (unsigned i = 0; i < 8; ++i)
      if (op.mm_written >> i & 1) write_mm(c.fpu, i, f.mm[i]);
  }
}

// The common shape, integer SIMD on XMM registers only (shuffles, byte shifts, SSSE3/SSE4.1
// arithmetic): nothing to check or carry but the stub call itself.
void op_simd_registers(Cpu& c, const Insn& in) {
  check_sse(c);
  SimdFrame f;
  reinterpret_cast<const SimdOp*>(in.extra)->stub(xmm_file(c), &f);
}

// The same with a memory source operand.
void op_simd_load(Cpu& c, const Insn& in) {
  check_sse(c);
  const SimdOp& op = *reinterpret_cast<const SimdOp*>(in.extra);
  const uint64_t la = c.linear(in.op[0], in, op.mem_size, Cpu::Access::kRead);
  if (op.aligned && (la & 15)) Cpu::fault(vec::kGP, 0);
  SimdFrame f;
  read_bytes(c, la, op.mem_size, f.mem);
  op.stub(xmm_file(c), &f);
}

// Floating point on XMM registers and at most a memory source: the stub under the guest's
// MXCSR, its flags merged, #XM (or #UD) for an unmasked exception.
template <bool kLoad> void op_fp_plain(Cpu& c, const Insn& in) {
  check_sse(c);
  const SimdOp& op = *reinterpret_cast<const SimdOp*>(in.extra);
  SimdFrame f;
  if (kLoad) {
    const uint64_t la = c.linear(in.op[0], in, op.mem_size, Cpu::Access::kRead);
    if (op.aligned && (la & 15)) Cpu::fault(vec::kGP, 0);
    read_bytes(c, la, op.mem_size, f.mem);
  }
  bool trapped;
  c.fpu.mxcsr |= run_fp(op, xmm_file(c), &f, c.fpu.mxcsr & ~mxcsr::kFlags, &trapped);
  if (trapped) [[unlikely]]
    Cpu::fault((c.cr4 & cr4::kOSXMMEXCPT) ? vec::kXM : vec::kUD);
}

// EMMS resets TOP like every MMX instruction, then tags every register empty.
void op_emms(Cpu& c, const Insn&) {
  check_mmx(c);
  enter_mmx_mode(c.fpu);
  c.fpu.ftw = 0;
}

// MASKMOVQ/MASKMOVDQU: byte stores to DS:rDI selected by the mask's top bits. op[1]/op[2] carry
// the data and mask register numbers, `cc` the width.
void op_maskmov(Cpu& c, const Insn& in) {
  const bool mmx = in.cc == 8;
  if (mmx)
    check_mmx(c);
  else
    check_sse(c);
  uint8_t data[16], mask[16];
  if (mmx) {
    uint64_t d = read_mm(c.fpu, in.op[1].reg), m = read_mm(c.fpu, in.op[2].reg);
    std::memcpy(data, &d, 8);
    std::memcpy(mask, &m, 8);
  } else {
    std::memcpy(data, c.fpu.xmm[in.op[1].reg].data(), 16);
    std::memcpy(mask, c.fpu.xmm[in.op[2].reg].data(), 16);
  }
  const uint64_t off = c.offset(in.op[0], in);
  c.linear(in.op[0].seg, off, in.cc, Cpu::Access::kWrite); // segment checks for the whole operand
  for (unsigned i = 0; i < in.cc; ++i)
    if (mask[i] & 0x80)
      c.write<uint8_t>(c.linear(in.op[0].seg, (off + i) & Cpu::amask(in.asize)), data[i]);
  if (mmx) enter_mmx_mode(c.fpu);
}

template <typename T> void op_movnti(Cpu& c, const Insn& in) {
  c.put<T>(in.op[0], in, c.reg<T>(in.op[1]));
}

// CLFLUSH has no architectural effect on a coherent machine beyond its address checks.
void op_clflush(Cpu& c, const Insn& in) {
  c.read<uint8_t>(c.linear(in.op[0], in, 1, Cpu::Access::kRead));
}

void op_ldmxcsr(Cpu& c, const Insn& in) {
  check_sse(c);
  const uint32_t v = c.read<uint32_t>(c.linear(in.op[0], in, 4, Cpu::Access::kRead));
  if (v & ~mxcsr::kWritable) Cpu::fault(vec::kGP, 0);
  c.fpu.mxcsr = v;
}

void op_stmxcsr(Cpu& c, const Insn& in) {
  check_sse(c);
  c.write<uint32_t>(c.linear(in.op[0], in, 4, Cpu::Access::kWrite), c.fpu.mxcsr);
}

// Instruction sets CPUID hides: their legacy encodings raise #UD like on a CPU without them.
bool hidden_isa(ZydisISASet s) {
  switch (s) {
  case ZYDIS_ISA_SET_AES:
  case ZYDIS_ISA_SET_PCLMULQDQ:
  case ZYDIS_ISA_SET_SHA:
  case ZYDIS_ISA_SET_SSE4A:
  case ZYDIS_ISA_SET_AMD3DNOW:
  case ZYDIS_ISA_SET_XSAVE:
  case ZYDIS_ISA_SET_XSAVEC:
  case ZYDIS_ISA_SET_XSAVEOPT:
  case ZYDIS_ISA_SET_XSAVES:
  case ZYDIS_ISA_SET_MOVBE:
  case ZYDIS_ISA_SET_ADOX_ADCX:
    return true;
  default:
    return false;
  }
}

bool simd_isa(ZydisISASet s) {
  switch (s) {
  case ZYDIS_ISA_SET_SSE:
  case ZYDIS_ISA_SET_SSE2:
  case ZYDIS_ISA_SET_SSE2MMX:
  case ZYDIS_ISA_SET_SSE3:
  case ZYDIS_ISA_SET_SSSE3:
  case ZYDIS_ISA_SET_SSSE3MMX:
  case ZYDIS_ISA_SET_SSE4:
  case ZYDIS_ISA_SET_SSE42:
  case ZYDIS_ISA_SET_PENTIUMMMX:
  case ZYDIS_ISA_SET_SSEMXCSR:
  case ZYDIS_ISA_SET_CLFSH:
    return true;
  default:
    return false;
  }
}

Handler select(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops, Insn& in,
               ConvertOperand convert) {
  // VEX, EVEX, XOP and 3DNow! encodings belong to extensions CPUID hides.
  if (zi.encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY) return invalid_opcode;
  if (hidden_isa(zi.meta.isa_set)) return invalid_opcode;
  if (zi.meta.isa_set == ZYDIS_ISA_SET_FXSAVE || zi.meta.isa_set == ZYDIS_ISA_SET_FXSAVE64)
    return select_fxsave(zi, ops, in, convert);
  // FISTTP is SSE3 by CPUID but an x87 instruction: x87.cc's.
  if (!simd_isa(zi.meta.isa_set) || zi.mnemonic == ZYDIS_MNEMONIC_FISTTP) return nullptr;
  for (auto& o : in.op)
    o = Operand{};
  switch (zi.mnemonic) {
  case ZYDIS_MNEMONIC_LFENCE:
  case ZYDIS_MNEMONIC_MFENCE:
  case ZYDIS_MNEMONIC_SFENCE:
  case ZYDIS_MNEMONIC_PAUSE:
    return nullptr; // data.cc's no-ops
  case ZYDIS_MNEMONIC_EMMS:
    return op_emms;
  case ZYDIS_MNEMONIC_CLFLUSH:
    return convert(ops[0], in.op[0], in) ? op_clflush : nullptr;
  case ZYDIS_MNEMONIC_LDMXCSR:
    return convert(ops[0], in.op[0], in) ? op_ldmxcsr : nullptr;
  case ZYDIS_MNEMONIC_STMXCSR:
    return convert(ops[0], in.op[0], in) ? op_stmxcsr : nullptr;
  case ZYDIS_MNEMONIC_MOVNTI:
    if (!convert(ops[0], in.op[0], in) || !convert(ops[1], in.op[1], in)) return nullptr;
    return in.op[0].size == 8 ? op_movnti<uint64_t> : op_movnti<uint32_t>;
  case ZYDIS_MNEMONIC_MASKMOVQ:
  case ZYDIS_MNEMONIC_MASKMOVDQU: {
    const bool mmx = zi.mnemonic == ZYDIS_MNEMONIC_MASKMOVQ;
    const ZydisRegister base = mmx ? ZYDIS_REGISTER_MM0 : ZYDIS_REGISTER_XMM0;
    in.op[1].reg = uint8_t(ops[0].reg.value - base);
    in.op[2].reg = uint8_t(ops[1].reg.value - base);
    in.cc = mmx ? 8 : 16;
    for (unsigned i = 2; i < zi.operand_count; ++i)
      if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY)
        return convert(ops[i], in.op[0], in) ? op_maskmov : nullptr;
    return nullptr;
  }
  default:
    break;
  }
  if (Handler fast = select_sse_fast(zi, ops, in, convert)) return fast;
  for (auto& o : in.op)
    o = Operand{};
  const SimdOp* op = simd_op(zi, ops);
  if (!op) return nullptr;
  unsigned gprs = 0;
  for (unsigned i = 0; i < zi.operand_count_visible; ++i) {
    const ZydisDecodedOperand& o = ops[i];
    if (o.type == ZYDIS_OPERAND_TYPE_MEMORY) {
      if (!convert(o, in.op[0], in)) return nullptr;
    } else if (o.type == ZYDIS_OPERAND_TYPE_REGISTER) {
      const ZydisRegisterClass cls = ZydisRegisterGetClass(o.reg.value);
      if (cls >= ZYDIS_REGCLASS_GPR8 && cls <= ZYDIS_REGCLASS_GPR64 &&
          !convert(o, in.op[1 + gprs++], in))
        return nullptr;
    }
  }
  in.extra = reinterpret_cast<uint64_t>(op);
  const bool plain = op->uses_xmm && !op->gpr_read && !op->gpr_written && !op->mm_used &&
                     !op->flags && !op->mem_write;
  if (plain && op->uses_mxcsr) return op->mem_size ? op_fp_plain<true> : op_fp_plain<false>;
  if (plain) return op->mem_size ? op_simd_load : op_simd_registers;
  return op_simd;
}

} // namespace

Handler select_simd(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops, Insn& in,
                    ConvertOperand convert) {
  // The operands are rewritten here; an instruction left to the other selectors keeps the ones
  // decode() converted for them.
  const Insn decoded = in;
  Handler h = select(zi, ops, in, convert);
  if (!h) in = decoded;
  return h;
}

} // namespace rrvm::emu
