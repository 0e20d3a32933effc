// Lazy arithmetic flags: handlers record operands and result; flags are computed when read.
#include "vmm/emu/cpu.h"

namespace rrvm::emu {

namespace {

bool parity(uint64_t r) {
  return !__builtin_parity(uint8_t(r));
}

bool msb(uint64_t v, unsigned bits) {
  return (v >> (bits - 1)) & 1;
}

bool carry_of(const LazyFlags& f) {
  switch (f.op) {
  case FlagOp::kAdd:
    return msb((f.a & f.b) | ((f.a | f.b) & ~f.r), f.bits);
  case FlagOp::kSub:
    return msb((~f.a & f.b) | ((~f.a | f.b) & f.r), f.bits);
  default:
    return false;
  }
}

bool overflow_of(const LazyFlags& f) {
  switch (f.op) {
  case FlagOp::kAdd:
  case FlagOp::kInc:
    return msb((f.a ^ f.r) & (f.b ^ f.r), f.bits);
  case FlagOp::kSub:
  case FlagOp::kDec:
    return msb((f.a ^ f.b) & (f.a ^ f.r), f.bits);
  default:
    return false;
  }
}

} // namespace

bool Cpu::cf() const {
  switch (lazy.op) {
  case FlagOp::kAdd:
  case FlagOp::kSub:
    return carry_of(lazy);
  case FlagOp::kLogic:
    return false;
  default:
    return flags_raw & rflags::kCF; // kNone, and INC/DEC which froze CF
  }
}

bool Cpu::of() const {
  return lazy.op == FlagOp::kNone ? (flags_raw & rflags::kOF) : overflow_of(lazy);
}

bool Cpu::pf() const {
  return lazy.op == FlagOp::kNone ? (flags_raw & rflags::kPF) : parity(lazy.r);
}

uint64_t Cpu::materialize() const {
  uint64_t f = flags_raw & ~kArithFlags;
  if (cf()) f |= rflags::kCF;
  if (parity(lazy.r)) f |= rflags::kPF;
  // AF is undefined after logic operations; 0 there, like the CPUs we compare against.
  if (lazy.op != FlagOp::kLogic && ((lazy.a ^ lazy.b ^ lazy.r) & 0x10)) f |= rflags::kAF;
  if (lazy.r == 0) f |= rflags::kZF;
  if (msb(lazy.r, lazy.bits)) f |= rflags::kSF;
  if (overflow_of(lazy)) f |= rflags::kOF;
  return f;
}

bool Cpu::cond(unsigned cc) const {
  bool r;
  switch (cc >> 1) {
  case 0:
    r = of();
    break;
  case 1:
    r = cf();
    break;
  case 2:
    r = zf();
    break;
  case 3:
    r = cf() || zf();
    break;
  case 4:
    r = sf();
    break;
  case 5:
    r = pf();
    break;
  case 6:
    r = sf() != of();
    break;
  default:
    r = zf() || (sf() != of());
    break;
  }
  return r ^ (cc & 1);
}

} // namespace rrvm::emu
