// String instructions with REP prefixes. Each iteration of a REP-prefixed instruction counts as
// one retired instruction (a REP with a zero count counts once); the run can stop between
// iterations with RIP still at the instruction, exactly where a real CPU takes an interrupt, so
// an interrupted REP resumes from its registers. Port I/O moves one element per execution.
#include "vmm/emu/cpu.h"
#include "vmm/emu/handlers.h"

namespace rrvm::emu {

namespace {

struct StrCtx {
  uint64_t am;
  int64_t step;
  uint8_t src_seg;
};

StrCtx ctx(Cpu& c, const Insn& in, unsigned size) {
  return {Cpu::amask(in.asize), c.df() ? -int64_t(size) : int64_t(size), in.cc};
}

void advance(Cpu& c, unsigned r, const StrCtx& x) {
  c.gpr[r] = (c.gpr[r] & ~x.am) | ((c.gpr[r] + uint64_t(x.step)) & x.am);
}

// Runs `body` once, or under REP until RCX is exhausted, `done` says stop, or the run must
// pause between iterations.
template <typename Body, typename Done> void repeat(Cpu& c, const Insn& in, Body body, Done done) {
  if (in.rep == rep::kNone) {
    body();
    return;
  }
  const uint64_t am = Cpu::amask(in.asize);
  for (;;) {
    if ((c.gpr[kRcx] & am) == 0) return;
    body();
    c.gpr[kRcx] = (c.gpr[kRcx] & ~am) | ((c.gpr[kRcx] - 1) & am);
    if ((c.gpr[kRcx] & am) == 0 || done()) return;
    if (c.icount + 1 >= c.limit || c.stop || c.kicked.load(std::memory_order_relaxed)) {
      // Pause between iterations: RIP stays at the instruction, and the block loop must not run
      // the instructions after it.
      c.next_rip = c.rip;
      c.stop = true;
      return;
    }
    ++c.icount;
  }
}

constexpr auto kNever = [] { return false; };

template <typename T> void op_movs(Cpu& c, const Insn& in) {
  StrCtx x = ctx(c, in, sizeof(T));
  repeat(
      c, in,
      [&] {
        T v = c.read<T>(c.linear(x.src_seg, c.gpr[kRsi] & x.am, sizeof(T), Cpu::Access::kRead));
        c.write<T>(c.linear(kES, c.gpr[kRdi] & x.am, sizeof(T), Cpu::Access::kWrite), v);
        advance(c, kRsi, x);
        advance(c, kRdi, x);
      },
      kNever);
}

template <typename T> void op_stos(Cpu& c, const Insn& in) {
  StrCtx x = ctx(c, in, sizeof(T));
  T v = c.reg<T>(kRax);
  repeat(
      c, in,
      [&] {
        c.write<T>(c.linear(kES, c.gpr[kRdi] & x.am, sizeof(T), Cpu::Access::kWrite), v);
        advance(c, kRdi, x);
      },
      kNever);
}

template <typename T> void op_lods(Cpu& c, const Insn& in) {
  StrCtx x = ctx(c, in, sizeof(T));
  repeat(
      c, in,
      [&] {
        c.set_reg<T>(kRax, c.read<T>(c.linear(x.src_seg, c.gpr[kRsi] & x.am, sizeof(T),
                                              Cpu::Access::kRead)));
        advance(c, kRsi, x);
      },
      kNever);
}

template <typename T> void op_cmps(Cpu& c, const Insn& in) {
  StrCtx x = ctx(c, in, sizeof(T));
  repeat(
      c, in,
      [&] {
        T a = c.read<T>(c.linear(x.src_seg, c.gpr[kRsi] & x.am, sizeof(T), Cpu::Access::kRead));
        T b = c.read<T>(c.linear(kES, c.gpr[kRdi] & x.am, sizeof(T), Cpu::Access::kRead));
        c.lazy_set<T>(FlagOp::kSub, a, b, T(a - b));
        advance(c, kRsi, x);
        advance(c, kRdi, x);
      },
      [&] { return c.zf() != (in.rep == rep::kRepe); });
}

template <typename T> void op_scas(Cpu& c, const Insn& in) {
  StrCtx x = ctx(c, in, sizeof(T));
  T a = c.reg<T>(kRax);
  repeat(
      c, in,
      [&] {
        T b = c.read<T>(c.linear(kES, c.gpr[kRdi] & x.am, sizeof(T), Cpu::Access::kRead));
        c.lazy_set<T>(FlagOp::kSub, a, b, T(a - b));
        advance(c, kRdi, x);
      },
      [&] { return c.zf() != (in.rep == rep::kRepe); });
}

// One element of INS/OUTS per execution; under REP the instruction re-executes for the next.
void finish_io_element(Cpu& c, const Insn& in) {
  if (in.rep == rep::kNone) return;
  const uint64_t am = Cpu::amask(in.asize);
  c.gpr[kRcx] = (c.gpr[kRcx] & ~am) | ((c.gpr[kRcx] - 1) & am);
  if (c.gpr[kRcx] & am) c.next_rip = c.rip;
}

template <typename T> void op_ins(Cpu& c, const Insn& in) {
  StrCtx x = ctx(c, in, sizeof(T));
  if (in.rep != rep::kNone && (c.gpr[kRcx] & Cpu::amask(in.asize)) == 0) return;
  uint16_t port = uint16_t(c.gpr[kRdx]);
  c.check_io_permission(port, sizeof(T));
  uint64_t la = c.linear(kES, c.gpr[kRdi] & x.am, sizeof(T), Cpu::Access::kWrite);
  uint64_t value;
  if (!c.take_input(true, port, sizeof(T), &value)) {
    c.read<T>(la); // fault on the destination before asking the device
    c.exit = Exit{};
    c.exit.reason = ExitReason::kIo;
    std::memset(c.io_buffer, 0, sizeof c.io_buffer);
    c.exit.io = IoExit{port, uint8_t(sizeof(T)), false, 1, c.io_buffer};
    c.stop_unretired();
    return;
  }
  c.write<T>(la, T(value));
  advance(c, kRdi, x);
  finish_io_element(c, in);
}

template <typename T> void op_outs(Cpu& c, const Insn& in) {
  StrCtx x = ctx(c, in, sizeof(T));
  if (in.rep != rep::kNone && (c.gpr[kRcx] & Cpu::amask(in.asize)) == 0) return;
  uint16_t port = uint16_t(c.gpr[kRdx]);
  c.check_io_permission(port, sizeof(T));
  T v = c.read<T>(c.linear(x.src_seg, c.gpr[kRsi] & x.am, sizeof(T), Cpu::Access::kRead));
  advance(c, kRsi, x);
  finish_io_element(c, in);
  c.exit = Exit{};
  c.exit.reason = ExitReason::kIo;
  std::memcpy(c.io_buffer, &v, sizeof(T));
  c.exit.io = IoExit{port, uint8_t(sizeof(T)), true, 1, c.io_buffer};
  c.exit_pending = true;
  c.stop = true;
}

uint8_t source_segment(const ZydisDecodedInstruction& zi) {
  const auto a = zi.attributes;
  if (a & ZYDIS_ATTRIB_HAS_SEGMENT_ES) return kES;
  if (a & ZYDIS_ATTRIB_HAS_SEGMENT_CS) return kCS;
  if (a & ZYDIS_ATTRIB_HAS_SEGMENT_SS) return kSS;
  if (a & ZYDIS_ATTRIB_HAS_SEGMENT_FS) return kFS;
  if (a & ZYDIS_ATTRIB_HAS_SEGMENT_GS) return kGS;
  return kDS;
}

} // namespace

Handler select_string(const ZydisDecodedInstruction& zi, Insn& in) {
  // MOVSD/CMPSD share mnemonics with SSE instructions; only the one-byte-map forms are strings.
  if (zi.opcode_map != ZYDIS_OPCODE_MAP_DEFAULT) return nullptr;
  in.cc = source_segment(zi);
  in.rep = (zi.attributes & ZYDIS_ATTRIB_HAS_REPNE)                           ? rep::kRepne
           : (zi.attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE)) ? rep::kRepe
                                                                              : rep::kNone;
  switch (zi.mnemonic) {
  case ZYDIS_MNEMONIC_MOVSB:
    return op_movs<uint8_t>;
  case ZYDIS_MNEMONIC_MOVSW:
    return op_movs<uint16_t>;
  case ZYDIS_MNEMONIC_MOVSD:
    return op_movs<uint32_t>;
  case ZYDIS_MNEMONIC_MOVSQ:
    return op_movs<uint64_t>;
  case ZYDIS_MNEMONIC_STOSB:
    return op_stos<uint8_t>;
  case ZYDIS_MNEMONIC_STOSW:
    return op_stos<uint16_t>;
  case ZYDIS_MNEMONIC_STOSD:
    return op_stos<uint32_t>;
  case ZYDIS_MNEMONIC_STOSQ:
    return op_stos<uint64_t>;
  case ZYDIS_MNEMONIC_LODSB:
    return op_lods<uint8_t>;
  case ZYDIS_MNEMONIC_LODSW:
    return op_lods<uint16_t>;
  case ZYDIS_MNEMONIC_LODSD:
    return op_lods<uint32_t>;
  case ZYDIS_MNEMONIC_LODSQ:
    return op_lods<uint64_t>;
  case ZYDIS_MNEMONIC_CMPSB:
    return op_cmps<uint8_t>;
  case ZYDIS_MNEMONIC_CMPSW:
    return op_cmps<uint16_t>;
  case ZYDIS_MNEMONIC_CMPSD:
    return op_cmps<uint32_t>;
  case ZYDIS_MNEMONIC_CMPSQ:
    return op_cmps<uint64_t>;
  case ZYDIS_MNEMONIC_SCASB:
    return op_scas<uint8_t>;
  case ZYDIS_MNEMONIC_SCASW:
    return op_scas<uint16_t>;
  case ZYDIS_MNEMONIC_SCASD:
    return op_scas<uint32_t>;
  case ZYDIS_MNEMONIC_SCASQ:
    return op_scas<uint64_t>;
  case ZYDIS_MNEMONIC_INSB:
    in.ends_block = true;
    return op_ins<uint8_t>;
  case ZYDIS_MNEMONIC_INSW:
    in.ends_block = true;
    return op_ins<uint16_t>;
  case ZYDIS_MNEMONIC_INSD:
    in.ends_block = true;
    return op_ins<uint32_t>;
  case ZYDIS_MNEMONIC_OUTSB:
    in.ends_block = true;
    return op_outs<uint8_t>;
  case ZYDIS_MNEMONIC_OUTSW:
    in.ends_block = true;
    return op_outs<uint16_t>;
  case ZYDIS_MNEMONIC_OUTSD:
    in.ends_block = true;
    return op_outs<uint32_t>;
  default:
    in.rep = rep::kNone;
    in.cc = 0;
    return nullptr;
  }
}

} // namespace rrvm::emu
