// The SSE2 moves and integer instructions that compilers and C libraries run most (glibc's string
// functions, vectorized loops), computed inline with host intrinsics instead of through a stub
// call: per instruction they must cost no more than an integer ALU instruction. Everything else
// takes the stub path in sse.cc; the differential tests cover both.
#include <Zydis/Zydis.h>
#include <immintrin.h>

#include <array>
#include <utility>

#include "vmm/emu/cpu.h"
#include "vmm/emu/handlers.h"
#include "vmm/emu/simd.h"

namespace rrvm::emu {

namespace {

// The operand layout these handlers use: op[0] the memory operand if any, op[1].reg the XMM
// destination (or GPR), op[2].reg the XMM source when it is a register.
constexpr unsigned kMem = 0, kDst = 1, kSrc = 2;

inline __m128i xmm(const Cpu& c, unsigned r) {
  return _mm_load_si128(reinterpret_cast<const __m128i*>(c.fpu.xmm[r].data()));
}
inline void set_xmm(Cpu& c, unsigned r, __m128i v) {
  _mm_store_si128(reinterpret_cast<__m128i*>(c.fpu.xmm[r].data()), v);
}

template <bool kAligned> uint64_t address(Cpu& c, const Insn& in, Cpu::Access a) {
  const uint64_t la = c.linear(in.op[kMem], in, 16, a);
  if (kAligned && (la & 15)) Cpu::fault(vec::kGP, 0);
  return la;
}

template <bool kAligned> __m128i source(Cpu& c, const Insn& in) {
  if (in.op[kMem].kind != OpKind::kMem) return xmm(c, in.op[kSrc].reg);
  const Bytes16 v = c.read<Bytes16>(address<kAligned>(c, in, Cpu::Access::kRead));
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(v.b));
}

template <auto F, bool kAligned = true> void op_binary(Cpu& c, const Insn& in) {
  check_sse(c);
  const __m128i b = source<kAligned>(c, in);
  set_xmm(c, in.op[kDst].reg, F(xmm(c, in.op[kDst].reg), b));
}

template <bool kAligned> void op_load(Cpu& c, const Insn& in) {
  check_sse(c);
  set_xmm(c, in.op[kDst].reg, source<kAligned>(c, in));
}

template <bool kAligned> void op_store(Cpu& c, const Insn& in) {
  check_sse(c);
  Bytes16 v;
  _mm_storeu_si128(reinterpret_cast<__m128i*>(v.b), xmm(c, in.op[kSrc].reg));
  c.write<Bytes16>(address<kAligned>(c, in, Cpu::Access::kWrite), v);
}

// PSHUFD's order is an immediate of the host instruction too: one handler per value.
template <uint8_t kOrder> void op_pshufd(Cpu& c, const Insn& in) {
  check_sse(c);
  set_xmm(c, in.op[kDst].reg, _mm_shuffle_epi32(source<true>(c, in), kOrder));
}

template <size_t... kOrders>
constexpr std::array<Handler, 256> pshufd_table(std::index_sequence<kOrders...>) {
  return {op_pshufd<uint8_t(kOrders)>...};
}
constexpr std::array<Handler, 256> kPshufd = pshufd_table(std::make_index_sequence<256>());

void op_pmovmskb(Cpu& c, const Insn& in) {
  check_sse(c);
  c.gpr[in.op[kDst].reg] = uint32_t(_mm_movemask_epi8(xmm(c, in.op[kSrc].reg)));
}

// MOVD/MOVQ xmm, r/m32/64: zero-extends into the register.
template <typename T> void op_movd_to_xmm(Cpu& c, const Insn& in) {
  check_sse(c);
  const T v = in.op[kMem].kind == OpKind::kMem ? c.get<T>(in.op[kMem], in) : c.reg<T>(in.op[kSrc]);
  set_xmm(c, in.op[kDst].reg, _mm_cvtsi64_si128(int64_t(uint64_t(v))));
}

// MOVD/MOVQ r/m32/64, xmm.
template <typename T> void op_movd_from_xmm(Cpu& c, const Insn& in) {
  check_sse(c);
  const T v = T(_mm_cvtsi128_si64(xmm(c, in.op[kSrc].reg)));
  if (in.op[kMem].kind == OpKind::kMem)
    c.put<T>(in.op[kMem], in, v);
  else
    c.set_reg_sized(in.op[kDst].reg, sizeof(T), v);
}

// MOVQ xmm, xmm/m64: the low quadword, the high one cleared.
void op_movq_load(Cpu& c, const Insn& in) {
  check_sse(c);
  const uint64_t v = in.op[kMem].kind == OpKind::kMem
                         ? c.read<uint64_t>(c.linear(in.op[kMem], in, 8, Cpu::Access::kRead))
                         : uint64_t(_mm_cvtsi128_si64(xmm(c, in.op[kSrc].reg)));
  set_xmm(c, in.op[kDst].reg, _mm_cvtsi64_si128(int64_t(v)));
}

// MOVQ m64, xmm.
void op_movq_store(Cpu& c, const Insn& in) {
  check_sse(c);
  c.write<uint64_t>(c.linear(in.op[kMem], in, 8, Cpu::Access::kWrite),
                    uint64_t(_mm_cvtsi128_si64(xmm(c, in.op[kSrc].reg))));
}

bool is_xmm(const ZydisDecodedOperand& o) {
  return o.type == ZYDIS_OPERAND_TYPE_REGISTER &&
         ZydisRegisterGetClass(o.reg.value) == ZYDIS_REGCLASS_XMM;
}
bool is_gpr(const ZydisDecodedOperand& o) {
  if (o.type != ZYDIS_OPERAND_TYPE_REGISTER) return false;
  const ZydisRegisterClass k = ZydisRegisterGetClass(o.reg.value);
  return k == ZYDIS_REGCLASS_GPR32 || k == ZYDIS_REGCLASS_GPR64;
}
bool is_mem(const ZydisDecodedOperand& o, unsigned bits) {
  return o.type == ZYDIS_OPERAND_TYPE_MEMORY && o.size == bits;
}

// The 16-byte two-operand integer and logic instructions handled here.
Handler binary(ZydisMnemonic m) {
  switch (m) {
  case ZYDIS_MNEMONIC_PXOR:
  case ZYDIS_MNEMONIC_XORPS:
  case ZYDIS_MNEMONIC_XORPD:
    return op_binary<[](__m128i a, __m128i b) { return _mm_xor_si128(a, b); }>;
  case ZYDIS_MNEMONIC_POR:
  case ZYDIS_MNEMONIC_ORPS:
  case ZYDIS_MNEMONIC_ORPD:
    return op_binary<[](__m128i a, __m128i b) { return _mm_or_si128(a, b); }>;
  case ZYDIS_MNEMONIC_PAND:
  case ZYDIS_MNEMONIC_ANDPS:
  case ZYDIS_MNEMONIC_ANDPD:
    return op_binary<[](__m128i a, __m128i b) { return _mm_and_si128(a, b); }>;
  case ZYDIS_MNEMONIC_PANDN:
  case ZYDIS_MNEMONIC_ANDNPS:
  case ZYDIS_MNEMONIC_ANDNPD:
    return op_binary<[](__m128i a, __m128i b) { return _mm_andnot_si128(a, b); }>;
  case ZYDIS_MNEMONIC_PADDB:
    return op_binary<[](__m128i a, __m128i b) { return _mm_add_epi8(a, b); }>;
  case ZYDIS_MNEMONIC_PADDW:
    return op_binary<[](__m128i a, __m128i b) { return _mm_add_epi16(a, b); }>;
  case ZYDIS_MNEMONIC_PADDD:
    return op_binary<[](__m128i a, __m128i b) { return _mm_add_epi32(a, b); }>;
  case ZYDIS_MNEMONIC_PADDQ:
    return op_binary<[](__m128i a, __m128i b) { return _mm_add_epi64(a, b); }>;
  case ZYDIS_MNEMONIC_PSUBB:
    return op_binary<[](__m128i a, __m128i b) { return _mm_sub_epi8(a, b); }>;
  case ZYDIS_MNEMONIC_PSUBW:
    return op_binary<[](__m128i a, __m128i b) { return _mm_sub_epi16(a, b); }>;
  case ZYDIS_MNEMONIC_PSUBD:
    return op_binary<[](__m128i a, __m128i b) { return _mm_sub_epi32(a, b); }>;
  case ZYDIS_MNEMONIC_PSUBQ:
    return op_binary<[](__m128i a, __m128i b) { return _mm_sub_epi64(a, b); }>;
  case ZYDIS_MNEMONIC_PCMPEQB:
    return op_binary<[](__m128i a, __m128i b) { return _mm_cmpeq_epi8(a, b); }>;
  case ZYDIS_MNEMONIC_PCMPEQW:
    return op_binary<[](__m128i a, __m128i b) { return _mm_cmpeq_epi16(a, b); }>;
  case ZYDIS_MNEMONIC_PCMPEQD:
    return op_binary<[](__m128i a, __m128i b) { return _mm_cmpeq_epi32(a, b); }>;
  case ZYDIS_MNEMONIC_PCMPGTB:
    return op_binary<[](__m128i a, __m128i b) { return _mm_cmpgt_epi8(a, b); }>;
  case ZYDIS_MNEMONIC_PCMPGTW:
    return op_binary<[](__m128i a, __m128i b) { return _mm_cmpgt_epi16(a, b); }>;
  case ZYDIS_MNEMONIC_PCMPGTD:
    return op_binary<[](__m128i a, __m128i b) { return _mm_cmpgt_epi32(a, b); }>;
  case ZYDIS_MNEMONIC_PMINUB:
    return op_binary<[](__m128i a, __m128i b) { return _mm_min_epu8(a, b); }>;
  case ZYDIS_MNEMONIC_PMAXUB:
    return op_binary<[](__m128i a, __m128i b) { return _mm_max_epu8(a, b); }>;
  case ZYDIS_MNEMONIC_PUNPCKLBW:
    return op_binary<[](__m128i a, __m128i b) { return _mm_unpacklo_epi8(a, b); }>;
  case ZYDIS_MNEMONIC_PUNPCKLQDQ:
    return op_binary<[](__m128i a, __m128i b) { return _mm_unpacklo_epi64(a, b); }>;
  default:
    return nullptr;
  }
}

} // namespace

Handler select_sse_fast(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops, Insn& in,
                        ConvertOperand convert) {
  if (zi.operand_count_visible < 2 || zi.operand_count_visible > 3) return nullptr;
  const ZydisDecodedOperand &a = ops[0], &b = ops[1];
  // Registers by number; the memory operand converted into op[0].
  auto xmm_number = [](const ZydisDecodedOperand& o) {
    return uint8_t(o.reg.value - ZYDIS_REGISTER_XMM0);
  };
  const bool three = zi.operand_count_visible == 3;
  if (three &&
      !(zi.mnemonic == ZYDIS_MNEMONIC_PSHUFD && ops[2].type == ZYDIS_OPERAND_TYPE_IMMEDIATE))
    return nullptr;
  if (is_xmm(a) && (is_xmm(b) || is_mem(b, 128))) {
    if (is_mem(b, 128) && !convert(b, in.op[kMem], in)) return nullptr;
    in.op[kDst].reg = xmm_number(a);
    if (is_xmm(b)) in.op[kSrc].reg = xmm_number(b);
    switch (zi.mnemonic) {
    case ZYDIS_MNEMONIC_MOVDQA:
    case ZYDIS_MNEMONIC_MOVAPS:
    case ZYDIS_MNEMONIC_MOVAPD:
      return op_load<true>;
    case ZYDIS_MNEMONIC_MOVDQU:
    case ZYDIS_MNEMONIC_MOVUPS:
    case ZYDIS_MNEMONIC_MOVUPD:
      return op_load<false>;
    case ZYDIS_MNEMONIC_PSHUFD:
      return kPshufd[ops[2].imm.value.u & 0xff];
    default:
      return three ? nullptr : binary(zi.mnemonic);
    }
  }
  if (three) return nullptr;
  if (is_mem(a, 128) && is_xmm(b)) {
    if (!convert(a, in.op[kMem], in)) return nullptr;
    in.op[kSrc].reg = xmm_number(b);
    switch (zi.mnemonic) {
    case ZYDIS_MNEMONIC_MOVDQA:
    case ZYDIS_MNEMONIC_MOVAPS:
    case ZYDIS_MNEMONIC_MOVAPD:
      return op_store<true>;
    case ZYDIS_MNEMONIC_MOVDQU:
    case ZYDIS_MNEMONIC_MOVUPS:
    case ZYDIS_MNEMONIC_MOVUPD:
      return op_store<false>;
    default:
      return nullptr;
    }
  }
  const bool movd = zi.mnemonic == ZYDIS_MNEMONIC_MOVD || zi.mnemonic == ZYDIS_MNEMONIC_MOVQ;
  if (zi.mnemonic == ZYDIS_MNEMONIC_PMOVMSKB && is_gpr(a) && is_xmm(b)) {
    if (!convert(a, in.op[kDst], in)) return nullptr;
    in.op[kSrc].reg = xmm_number(b);
    return op_pmovmskb;
  }
  if (movd && is_xmm(a) && (is_gpr(b) || is_mem(b, 32) || is_mem(b, 64))) {
    in.op[kDst].reg = xmm_number(a);
    if (!convert(b, in.op[is_gpr(b) ? kSrc : kMem], in)) return nullptr;
    if (zi.mnemonic == ZYDIS_MNEMONIC_MOVQ && is_mem(b, 64)) return op_movq_load;
    return b.size == 64 ? op_movd_to_xmm<uint64_t> : op_movd_to_xmm<uint32_t>;
  }
  if (movd && is_xmm(b) && (is_gpr(a) || is_mem(a, 32) || is_mem(a, 64))) {
    in.op[kSrc].reg = xmm_number(b);
    if (!convert(a, in.op[is_gpr(a) ? kDst : kMem], in)) return nullptr;
    if (zi.mnemonic == ZYDIS_MNEMONIC_MOVQ && is_mem(a, 64)) return op_movq_store;
    return a.size == 64 ? op_movd_from_xmm<uint64_t> : op_movd_from_xmm<uint32_t>;
  }
  if (zi.mnemonic == ZYDIS_MNEMONIC_MOVQ && is_xmm(a) && is_xmm(b)) {
    in.op[kDst].reg = xmm_number(a);
    in.op[kSrc].reg = xmm_number(b);
    return op_movq_load;
  }
  return nullptr;
}

} // namespace rrvm::emu
