// The interpreter's decoded-instruction form: Zydis output reduced to what the handlers need, so
// the hot dispatch touches a few dozen bytes per instruction instead of Zydis's full structures.
#pragma once

#include <cstdint>

namespace rrvm::emu {

class Cpu;
struct Insn;
using Handler = void (*)(Cpu&, const Insn&);

enum class OpKind : uint8_t { kNone, kReg, kMem, kImm, kSreg, kCr, kDr };

constexpr int8_t kRipBase = 16;

struct Operand {
  OpKind kind = OpKind::kNone;
  uint8_t size = 0;  // bytes
  uint8_t reg = 0;   // GPR number, or segment/control/debug register number
  bool high = false; // AH/CH/DH/BH
  uint8_t seg = 0;   // memory: segment register
  int8_t base = -1;  // memory: GPR number, kRipBase, or -1
  int8_t index = -1;
  uint8_t scale = 0; // log2
  int64_t disp = 0;  // memory displacement or immediate value (sign-extended as decoded)
};

namespace rep {
constexpr uint8_t kNone = 0, kRepe = 1, kRepne = 2;
}

struct Insn {
  Handler fn = nullptr;
  uint8_t len = 0;
  uint8_t osize = 4; // operand size in bytes
  uint8_t asize = 4; // address size in bytes
  uint8_t rep = rep::kNone;
  uint8_t cc = 0; // condition code (Jcc/SETcc/CMOVcc) or other small selector
  bool ends_block = false;
  uint16_t mnemonic = 0; // ZydisMnemonic, for messages
  Operand op[3];
  uint64_t extra = 0; // second immediate (ENTER) or far pointer selector
};

} // namespace rrvm::emu
