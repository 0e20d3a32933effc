// String instructions with REP prefixes. Each iteration of a REP-prefixed instruction counts as
// one retired instruction (a REP with a zero count counts once); the run can stop between
// iterations with RIP still at the instruction, exactly where a real CPU takes an interrupt, so
// an interrupted REP resumes from its registers. Port I/O moves one element per execution.
//
// REP MOVS and REP STOS move a page's worth of elements at once when the TLB lets the fast paths
// touch every one of them (no watchpoint, no cached code written, no segment or alignment check
// due): what the iterations one by one would do, with the same pause points (see repeat()).
#include <algorithm>
#include <cstring>

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

void advance(Cpu& c, unsigned r, const StrCtx& x, uint64_t elements = 1) {
  c.gpr[r] = (c.gpr[r] & ~x.am) | ((c.gpr[r] + uint64_t(x.step) * elements) & x.am);
}

// Elements of a string operand that the fast paths may reach in one go: `n` of them from the
// host byte `first` on (the element at the register's offset), all in one page, in the direction
// of the step. A page the fast paths may write is marked written already.
struct FastRun {
  uint8_t* first = nullptr;
  uint64_t n = 0;
  // The lowest byte of the first `count` elements.
  uint8_t* low(const StrCtx& x, uint64_t count) const {
    return x.step > 0 ? first : first - (count - 1) * uint64_t(-x.step);
  }
};

// Up to `n` elements of `x` from offset `off` of segment `s`: those that lie whole in the first
// one's linear page, before the offset wraps at the address size, when the TLB grants `need` there
// to the fast paths (read_as/write_as would take their fast path for each). None when a segment
// limit or alignment check is due (each element would check it).
FastRun fast_run(const Cpu& c, unsigned s, uint64_t off, const StrCtx& x, uint64_t n,
                 uint8_t need) {
  if ((c.access_checks >> s) & 1) return {};
  const uint64_t la = c.linear(s, off);
  const uint64_t size = uint64_t(x.step > 0 ? x.step : -x.step), at = la & (kPageSize - 1);
  const size_t slot = Cpu::tlb_slot(la);
  if (c.tags_of(need)[slot] != Cpu::access_tag(la, unsigned(size))) return {}; // or crosses
  // Elements after the first that still fit in the page, and before the offset wraps.
  const uint64_t in_page = x.step > 0 ? (kPageSize - at) / size - 1 : at / size;
  const uint64_t before_wrap = x.step > 0 ? (x.am - off) / size : off / size;
  return {c.tlb_host(slot, la), std::min({n - 1, in_page, before_wrap}) + 1};
}

// Runs `body` once, or under REP until RCX is exhausted, `done` says stop, or the run must
// pause between iterations. `bulk(n)` may do up to the next n iterations at once (returning how
// many it did, 0 for none): n is at most what one by one would run before the next pause check
// that could fail (the limit), since nothing it does can set `stop`, and a kick is asynchronous
// (it lands at the next check).
template <typename Body, typename Bulk, typename Done>
void repeat(Cpu& c, const Insn& in, Body body, Bulk bulk, Done done) {
  if (in.rep == rep::kNone) {
    body();
    return;
  }
  const uint64_t am = Cpu::amask(in.asize);
  for (;;) {
    const uint64_t left = c.gpr[kRcx] & am;
    if (left == 0) return;
    // The pause check after each iteration but the last of a bulk run must pass: icount + k <
    // limit for the k-th.
    const bool pausing =
        c.icount + 1 >= c.limit || c.stop || c.kicked.load(std::memory_order_relaxed);
    uint64_t n = left > 1 && !pausing ? bulk(std::min(left, c.limit - c.icount)) : 0;
    if (n == 0) {
      body();
      n = 1;
    }
    c.icount += n - 1;
    c.gpr[kRcx] = (c.gpr[kRcx] & ~am) | ((left - n) & am);
    if (left == n || done()) return;
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
constexpr auto kOneByOne = [](uint64_t) { return uint64_t(0); };

template <typename T> void op_movs(Cpu& c, const Insn& in) {
  StrCtx x = ctx(c, in, sizeof(T));
  // Up to n elements copied in one go. Overlapping ranges copy as one by one only when each
  // element is read before any write reaches it: the destination behind the source.
  auto bulk = [&](uint64_t n) -> uint64_t {
    const FastRun from = fast_run(c, x.src_seg, c.gpr[kRsi] & x.am, x, n, c.acc_read);
    if (from.n < 2) return 0;
    const FastRun to = fast_run(c, kES, c.gpr[kRdi] & x.am, x, from.n, c.acc_write);
    n = to.n;
    if (n < 2) return 0;
    const bool behind = x.step > 0 ? to.first <= from.first : to.first >= from.first;
    uint8_t* const src = from.low(x, n);
    uint8_t* const dst = to.low(x, n);
    const uint64_t bytes = n * sizeof(T);
    if (!behind && src < dst + bytes && dst < src + bytes) return 0;
    std::memmove(dst, src, bytes);
    advance(c, kRsi, x, n);
    advance(c, kRdi, x, n);
    return n;
  };
  repeat(
      c, in,
      [&] {
        T v = c.read<T>(c.linear(x.src_seg, c.gpr[kRsi] & x.am, sizeof(T), Cpu::Access::kRead));
        c.write<T>(c.linear(kES, c.gpr[kRdi] & x.am, sizeof(T), Cpu::Access::kWrite), v);
        advance(c, kRsi, x);
        advance(c, kRdi, x);
      },
      bulk, kNever);
}

template <typename T> void op_stos(Cpu& c, const Insn& in) {
  StrCtx x = ctx(c, in, sizeof(T));
  T v = c.reg<T>(kRax);
  auto bulk = [&](uint64_t n) -> uint64_t {
    const FastRun to = fast_run(c, kES, c.gpr[kRdi] & x.am, x, n, c.acc_write);
    n = to.n;
    if (n < 2) return 0;
    uint8_t* const dst = to.low(x, n);
    uint8_t bytes[sizeof(T)];
    std::memcpy(bytes, &v, sizeof(T));
    if (std::all_of(bytes, bytes + sizeof(T), [&](uint8_t b) { return b == bytes[0]; })) {
      std::memset(dst, bytes[0], n * sizeof(T));
    } else {
      for (uint64_t i = 0; i < n; ++i)
        std::memcpy(dst + i * sizeof(T), &v, sizeof(T));
    }
    advance(c, kRdi, x, n);
    return n;
  };
  repeat(
      c, in,
      [&] {
        c.write<T>(c.linear(kES, c.gpr[kRdi] & x.am, sizeof(T), Cpu::Access::kWrite), v);
        advance(c, kRdi, x);
      },
      bulk, kNever);
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
      kOneByOne, kNever);
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
      kOneByOne, [&] { return c.zf() != (in.rep == rep::kRepe); });
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
      kOneByOne, [&] { return c.zf() != (in.rep == rep::kRepe); });
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
