// Random sequences of 64-bit user-mode integer instructions for the differential tests, which
// address memory as [r15 + 0x10 .. 0xff0] (string instructions: [r15 + 0x800 .. 0x13ff]) and leave
// RSP and R15 alone.
//
// Architecturally undefined flags are masked, per instruction, and tracked through the sequence
// (a later instruction that reads an undefined flag gets a flag-defining instruction first):
//   AND/OR/XOR/TEST: AF                 SHL/SHR/SAR (imm or CL): AF; OF unless the count is 1
//   ROL/ROR/RCL/RCR: OF unless count 1  SHLD/SHRD: AF; OF unless count 1
//   BT/BTS/BTR/BTC: OF SF AF PF         BSF/BSR: CF OF SF AF PF
//   MUL/IMUL: SF ZF AF PF               DIV/IDIV: CF OF SF ZF AF PF
// Counts of CL-shifts are random, so CL forms always mask OF and AF. Undefined results are
// avoided instead: 16-bit SHLD/SHRD counts above 16 are not generated, and DIV/IDIV operands
// are prepared so no #DE occurs.
#pragma once

#include <cstdint>
#include <random>
#include <sstream>
#include <string>

#include "vmm/cpu_state.h"

namespace rrvm::test {

using rflags::kAF, rflags::kCF, rflags::kOF, rflags::kPF, rflags::kSF, rflags::kZF;
constexpr uint64_t kAll = kCF | kPF | kAF | kZF | kSF | kOF;

inline constexpr const char* kRegs64[] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp",
                                          "r8",  "r9",  "r10", "r11", "r12", "r13", "r14"};
inline constexpr const char* kRegs32[] = {"eax", "ebx", "ecx",  "edx",  "esi",  "edi",  "ebp",
                                          "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d"};
inline constexpr const char* kRegs16[] = {"ax",  "bx",  "cx",   "dx",   "si",   "di",   "bp",
                                          "r8w", "r9w", "r10w", "r11w", "r12w", "r13w", "r14w"};
inline constexpr const char* kRegs8[] = {"al",  "bl",  "cl",   "dl",   "sil",  "dil",  "bpl",
                                         "r8b", "r9b", "r10b", "r11b", "r12b", "r13b", "r14b"};

class SequenceGenerator {
public:
  explicit SequenceGenerator(uint64_t seed) : rng_(seed) {}

  // One sequence ending in OUT 0x80; `undefined` receives the flags left undefined at its end.
  std::string sequence(unsigned n, uint64_t* undefined) {
    return body(n, undefined) + "out 0x80, al\n";
  }
  // `n` random instructions (and what they need to be defined) without the final OUT.
  std::string body(unsigned n, uint64_t* undefined) {
    out_.str("");
    undef_ = 0;
    for (unsigned i = 0; i < n; ++i)
      one();
    *undefined = undef_;
    return out_.str();
  }

private:
  unsigned pick(unsigned n) { return unsigned(rng_() % n); }
  unsigned size() { return 1u << pick(4); }
  std::string reg(unsigned sz, unsigned r) {
    return sz == 8 ? kRegs64[r] : sz == 4 ? kRegs32[r] : sz == 2 ? kRegs16[r] : kRegs8[r];
  }
  std::string rreg(unsigned sz) { return reg(sz, pick(14)); }
  std::string mem(unsigned sz) {
    const char* w = sz == 8 ? "qword" : sz == 4 ? "dword" : sz == 2 ? "word" : "byte";
    std::ostringstream m;
    m << w << " [r15 + " << (pick(0xfe0) + 0x10) << "]";
    return m.str();
  }
  std::string rm(unsigned sz) { return pick(3) == 0 ? mem(sz) : rreg(sz); }
  std::string imm(unsigned sz) {
    std::ostringstream m;
    uint64_t v = rng_();
    if (sz == 1) v &= 0xff;
    if (sz == 2) v &= 0xffff;
    if (sz >= 4) v = uint64_t(int64_t(int32_t(v))); // imm32 sign-extended
    if (sz >= 4)
      m << int64_t(v);
    else
      m << v;
    return m.str();
  }
  // Records an instruction's flag effects; inserts a defining instruction if it reads a flag
  // that is currently undefined.
  void emit(const std::string& text, uint64_t reads, uint64_t defines, uint64_t undefines) {
    if (reads & undef_) {
      out_ << "add " << rreg(8) << ", " << rreg(8) << "\n";
      undef_ = 0;
    }
    out_ << text << "\n";
    undef_ = (undef_ & ~defines) | undefines;
  }

  void one() {
    static const char* kAlu[] = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp", "test"};
    static const char* kShift[] = {"rol", "ror", "rcl", "rcr", "shl", "shr", "sar"};
    static const char* kCc[] = {"o", "no", "b", "ae", "e", "ne", "be", "a",
                                "s", "ns", "p", "np", "l", "ge", "le", "g"};
    const unsigned sz = size();
    std::ostringstream t;
    switch (pick(22)) {
    case 0:
    case 1:
    case 2: { // ALU
      unsigned op = pick(9);
      std::string a = op == 8 ? rm(sz) : rm(sz);
      std::string b;
      bool amem = a[0] != 'r' && a.find('[') != std::string::npos;
      unsigned k = pick(3);
      if (k == 0 && !amem)
        b = mem(sz);
      else if (k == 1 || op == 8)
        b = rreg(sz);
      else
        b = imm(sz);
      if (op == 8 && b[0] >= '0' && b[0] <= '9' && sz == 8) b = rreg(sz);
      t << kAlu[op] << " " << a << ", " << b;
      bool logic = op == 1 || op == 4 || op == 6 || op == 8;
      uint64_t reads = (op == 2 || op == 3) ? kCF : 0;
      emit(t.str(), reads, kAll, logic ? kAF : 0);
      return;
    }
    case 3: { // INC/DEC/NEG/NOT
      static const char* k[] = {"inc", "dec", "neg", "not"};
      unsigned op = pick(4);
      t << k[op] << " " << rm(sz);
      emit(t.str(), 0, op == 3 ? 0 : op == 2 ? kAll : kAll & ~kCF, 0);
      return;
    }
    case 4:
    case 5: { // shifts/rotates
      unsigned op = pick(7);
      bool cl = pick(2);
      unsigned count = pick(sz == 8 ? 64 : 32);
      if (cl)
        t << kShift[op] << " " << rm(sz) << ", cl";
      else
        t << kShift[op] << " " << rm(sz) << ", " << count;
      uint64_t reads = (op == 2 || op == 3) ? kCF : 0;
      bool rotate = op < 4;
      if (cl) {
        emit(t.str(), reads, 0, rotate ? kOF : kOF | kAF);
      } else if ((count & (sz == 8 ? 63 : 31)) == 0) {
        emit(t.str(), reads, 0, 0);
      } else {
        uint64_t def = rotate ? kCF | kOF : kAll;
        uint64_t und = (count == 1 ? 0 : kOF) | (rotate ? 0 : kAF);
        if (rotate && op >= 2) {
          unsigned m = sz < 4 ? count % (sz * 8 + 1) : count;
          if (m == 0) def = 0, und = 0;
        }
        emit(t.str(), reads, def & ~und, und);
      }
      return;
    }
    case 6: { // SHLD/SHRD
      unsigned s2 = 2u << pick(3);
      unsigned count = s2 == 2 ? pick(17) : pick(s2 == 8 ? 64 : 32);
      t << (pick(2) ? "shld " : "shrd ") << rm(s2) << ", " << rreg(s2) << ", " << count;
      if (count == 0)
        emit(t.str(), 0, 0, 0);
      else
        emit(t.str(), 0, kAll & ~kAF & ~(count == 1 ? 0 : kOF), kAF | (count == 1 ? 0 : kOF));
      return;
    }
    case 7: { // BT family
      static const char* k[] = {"bt", "bts", "btr", "btc"};
      unsigned s2 = 2u << pick(3);
      std::string r = rreg(s2);
      if (pick(2)) {
        t << k[pick(4)] << " " << rm(s2) << ", " << pick(s2 * 8);
      } else {
        t << "and " << reg(4, 0) << ", 0x3ff\n"
          << k[pick(4)] << " " << rm(s2) << ", " << reg(s2, 0);
        emit(t.str(), 0, kCF, kOF | kSF | kAF | kPF);
        undef_ |= kAF; // the AND leaves AF undefined
        return;
      }
      emit(t.str(), 0, kCF, kOF | kSF | kAF | kPF);
      return;
    }
    case 8: { // BSF/BSR
      unsigned s2 = 2u << pick(3);
      t << (pick(2) ? "bsf " : "bsr ") << rreg(s2) << ", " << rm(s2);
      emit(t.str(), 0, kZF, kCF | kOF | kSF | kAF | kPF);
      return;
    }
    case 9: { // MUL/IMUL
      unsigned f = pick(3);
      if (f == 0)
        t << (pick(2) ? "mul " : "imul ") << rm(sz);
      else if (f == 1 && sz > 1)
        t << "imul " << rreg(sz) << ", " << rm(sz);
      else if (sz > 1)
        t << "imul " << rreg(sz) << ", " << rm(sz) << ", " << (int(pick(256)) - 128);
      else
        t << "mul " << rm(sz);
      emit(t.str(), 0, kCF | kOF, kSF | kZF | kAF | kPF);
      return;
    }
    case 10: {                   // DIV/IDIV without #DE
      unsigned r = 1 + pick(13); // not rax
      while (r == 3)
        r = 1 + pick(13); // nor rdx
      bool sign = pick(2);
      std::string d = reg(sz, r);
      if (sz == 1) {
        t << "or " << d << ", 2\n" << (sign ? "cbw\nidiv " : "movzx ax, al\ndiv ") << d;
      } else {
        const char* ext = sz == 2 ? "cwd" : sz == 4 ? "cdq" : "cqo";
        t << "or " << d << ", 2\n";
        if (sign)
          t << ext << "\nidiv " << d;
        else
          t << "xor edx, edx\ndiv " << d;
      }
      emit(t.str(), 0, 0, kAll);
      return;
    }
    case 11: { // CMPXCHG/XADD/XCHG
      unsigned op = pick(3);
      static const char* k[] = {"cmpxchg", "xadd", "xchg"};
      t << k[op] << " " << rm(sz) << ", " << rreg(sz);
      emit(t.str(), 0, op == 2 ? 0 : kAll, 0);
      return;
    }
    case 12: { // BSWAP, MOVZX/MOVSX/MOVSXD, LEA
      switch (pick(4)) {
      case 0:
        t << "bswap " << rreg(pick(2) ? 8 : 4);
        break;
      case 1:
        t << (pick(2) ? "movzx " : "movsx ") << rreg(pick(2) ? 8 : 4) << ", "
          << rm(pick(2) ? 1 : 2);
        break;
      case 2:
        t << "movsxd " << rreg(8) << ", " << rm(4);
        break;
      default:
        t << "lea " << rreg(sz < 2 ? 8 : sz) << ", [" << rreg(8) << " + " << rreg(8) << "*"
          << (1u << pick(4)) << " + " << int(pick(2000)) - 1000 << "]";
      }
      emit(t.str(), 0, 0, 0);
      return;
    }
    case 13: { // SETcc / CMOVcc
      if (pick(2))
        t << "set" << kCc[pick(16)] << " " << rm(1);
      else
        t << "cmov" << kCc[pick(16)] << " " << rreg(sz < 2 ? 4 : sz) << ", " << rm(sz < 2 ? 4 : sz);
      emit(t.str(), kAll, 0, 0);
      return;
    }
    case 14: { // conversions
      static const char* k[] = {"cbw", "cwde", "cdqe", "cwd", "cdq", "cqo"};
      emit(k[pick(6)], 0, 0, 0);
      return;
    }
    case 15: { // flag instructions
      static const char* k[] = {"clc", "stc", "cmc", "cld", "std"};
      unsigned op = pick(5);
      emit(k[op], op == 2 ? kCF : 0, op < 3 ? kCF : 0, 0);
      return;
    }
    case 16:
    case 17: { // string instructions, with REP on prepared registers
      static const char* k[] = {"movs", "stos", "lods", "cmps", "scas"};
      static const char sfx[] = {'b', 'w', 'd', 'q'};
      unsigned op = pick(5), s = pick(4), count = pick(17);
      t << "lea rsi, [r15 + " << 0x800 + pick(0x400) << "]\n"
        << "lea rdi, [r15 + " << 0x1000 + pick(0x400) << "]\n"
        << "mov ecx, " << count << "\n";
      const bool repeated = op >= 3 ? true : pick(3) != 0;
      const char* prefix = op >= 3 ? (pick(2) ? "repe " : "repne ") : repeated ? "rep " : "";
      t << prefix << k[op] << sfx[s];
      // A REP with a zero count executes no iteration and leaves the flags alone.
      emit(t.str(), 0, op >= 3 && !(repeated && count == 0) ? kAll : 0, 0);
      return;
    }
    case 18: { // MOV
      t << "mov " << rreg(sz) << ", " << (pick(2) ? rm(sz) : imm(sz));
      emit(t.str(), 0, 0, 0);
      return;
    }
    case 19: { // POPCNT
      unsigned s2 = 2u << pick(3);
      t << "popcnt " << rreg(s2) << ", " << rm(s2);
      emit(t.str(), 0, kAll, 0);
      return;
    }
    case 20: { // SAHF/LAHF round trip and PUSH/POP
      t << "push " << rreg(8) << "\npop " << rreg(8);
      emit(t.str(), 0, 0, 0);
      return;
    }
    default: { // ADC/SBB chains on 64-bit values
      t << (pick(2) ? "adc " : "sbb ") << rreg(8) << ", " << rreg(8);
      emit(t.str(), kCF, kAll, 0);
      return;
    }
    }
  }

  std::mt19937_64 rng_;
  std::ostringstream out_;
  uint64_t undef_ = 0;
};

// Random sequences of integer instructions for `bits 16` or `bits 32` code (real mode, 16/32-bit
// protected mode), with forward Jcc skips. Memory is [bx + 0x10 .. 0xff0] (bits 16) or
// [ebx + 0x10 .. 0xff0] (bits 32), string instructions use [.. + 0x800 .. 0x13ff] through ES as
// well; (E)BX and (E)SP are left alone. Undefined flags are not tracked: the sequences compare
// the translator with the interpreter, which define them alike.
class LegacySequenceGenerator {
public:
  LegacySequenceGenerator(uint64_t seed, unsigned bits) : rng_(seed), bits_(bits) {}

  // `n` random instructions; labels are unique over the generator's life.
  std::string body(unsigned n) {
    out_.str("");
    for (unsigned i = 0; i < n; ++i)
      one();
    return out_.str();
  }

private:
  static constexpr const char* k32[] = {"eax", "ecx", "edx", "esi", "edi", "ebp"};
  static constexpr const char* k16[] = {"ax", "cx", "dx", "si", "di", "bp"};
  static constexpr const char* k8[] = {"al", "cl", "dl", "ah", "ch", "dh"};
  unsigned pick(unsigned n) { return unsigned(rng_() % n); }
  unsigned size() { return 1u << pick(3); }
  std::string reg(unsigned sz, unsigned r) { return sz == 4 ? k32[r] : sz == 2 ? k16[r] : k8[r]; }
  std::string rreg(unsigned sz) { return reg(sz, pick(6)); }
  std::string base() const { return bits_ == 16 ? "bx" : "ebx"; }
  std::string mem(unsigned sz) {
    const char* w = sz == 4 ? "dword" : sz == 2 ? "word" : "byte";
    return std::string(w) + " [" + base() + " + " + std::to_string(pick(0xfe0) + 0x10) + "]";
  }
  std::string rm(unsigned sz) { return pick(3) == 0 ? mem(sz) : rreg(sz); }
  std::string imm(unsigned sz) {
    const uint64_t v = rng_();
    return std::to_string(sz == 1 ? v & 0xff : sz == 2 ? v & 0xffff : v & 0xffffffff);
  }

  void one() {
    static const char* kAlu[] = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp", "test"};
    static const char* kShift[] = {"rol", "ror", "rcl", "rcr", "shl", "shr", "sar"};
    static const char* kCc[] = {"o", "no", "b", "ae", "e", "ne", "be", "a",
                                "s", "ns", "p", "np", "l", "ge", "le", "g"};
    const unsigned sz = size();
    const std::string si = bits_ == 16 ? "si" : "esi", di = bits_ == 16 ? "di" : "edi",
                      cx = bits_ == 16 ? "cx" : "ecx";
    switch (pick(20)) {
    case 0:
    case 1:
    case 2: { // ALU
      const std::string a = rm(sz);
      const bool amem = a.find('[') != std::string::npos;
      const unsigned k = pick(3);
      const std::string b = k == 0 && !amem ? mem(sz) : k == 1 ? rreg(sz) : imm(sz);
      out_ << kAlu[pick(9)] << " " << a << ", " << b << "\n";
      return;
    }
    case 3: {
      static const char* k[] = {"inc", "dec", "neg", "not"};
      out_ << k[pick(4)] << " " << rm(sz) << "\n";
      return;
    }
    case 4: // shifts and rotates
      out_ << kShift[pick(7)] << " " << rm(sz) << ", " << (pick(2) ? "cl" : imm(1)) << "\n";
      return;
    case 5: {
      const unsigned s2 = 2u << pick(2);
      out_ << (pick(2) ? "shld " : "shrd ") << rm(s2) << ", " << rreg(s2) << ", "
           << (pick(2) ? std::string("cl") : std::to_string(pick(s2 * 8))) << "\n";
      return;
    }
    case 6: { // BT family: a register offset is kept inside the data
      static const char* k[] = {"bt", "bts", "btr", "btc"};
      const unsigned s2 = 2u << pick(2);
      if (pick(2)) {
        out_ << k[pick(4)] << " " << rm(s2) << ", " << pick(s2 * 8) << "\n";
      } else {
        out_ << "and eax, 0x3ff\n" << k[pick(4)] << " " << rm(s2) << ", " << reg(s2, 0) << "\n";
      }
      return;
    }
    case 7: {
      const unsigned s2 = 2u << pick(2);
      out_ << (pick(2) ? "bsf " : "bsr ") << rreg(s2) << ", " << rm(s2) << "\n";
      return;
    }
    case 8: // MUL/IMUL
      if (sz == 1 || pick(2))
        out_ << (pick(2) ? "mul " : "imul ") << rm(sz) << "\n";
      else
        out_ << "imul " << rreg(sz) << ", " << rm(sz) << ", " << int(pick(256)) - 128 << "\n";
      return;
    case 9: { // DIV/IDIV by a divisor of at least 2 in magnitude, on a dividend that fits
      const bool sign = pick(2);
      static const unsigned kDivisors8[] = {1, 2, 4, 5}; // not AL or AH
      static const unsigned kDivisors[] = {1, 3, 4, 5};  // not (E)AX or (E)DX
      const std::string d = reg(sz, sz == 1 ? kDivisors8[pick(4)] : kDivisors[pick(4)]);
      out_ << "or " << d << ", 2\n";
      if (sz == 1)
        out_ << (sign ? "cbw\nidiv " : "movzx ax, al\ndiv ") << d << "\n";
      else if (sign)
        out_ << (sz == 2 ? "cwd" : "cdq") << "\nidiv " << d << "\n";
      else
        out_ << "xor edx, edx\ndiv " << d << "\n";
      return;
    }
    case 10: {
      static const char* k[] = {"cmpxchg", "xadd", "xchg"};
      out_ << k[pick(3)] << " " << rm(sz) << ", " << rreg(sz) << "\n";
      return;
    }
    case 11:
      switch (pick(4)) {
      case 0:
        out_ << "bswap " << rreg(4) << "\n";
        break;
      case 1:
        out_ << (pick(2) ? "movzx " : "movsx ") << rreg(pick(2) ? 4 : 2) << ", " << rm(1) << "\n";
        break;
      case 2:
        out_ << "lea " << rreg(pick(2) ? 4 : 2) << ", [" << rreg(4) << " + " << rreg(4) << "*"
             << (1u << pick(4)) << " + " << int(pick(2000)) - 1000 << "]\n";
        break;
      default:
        out_ << "lea " << rreg(2) << ", [" << (pick(2) ? "bp + si" : "bx + di") << " + "
             << pick(200) << "]\n";
      }
      return;
    case 12:
      if (pick(2))
        out_ << "set" << kCc[pick(16)] << " " << rm(1) << "\n";
      else
        out_ << "cmov" << kCc[pick(16)] << " " << rreg(sz < 2 ? 4 : sz) << ", "
             << rm(sz < 2 ? 4 : sz) << "\n";
      return;
    case 13: {
      static const char* k[] = {"cbw", "cwde", "cwd", "cdq", "clc", "stc", "cmc", "cld", "std"};
      out_ << k[pick(9)] << "\n";
      return;
    }
    case 14: { // string instructions, with REP on prepared registers
      static const char* k[] = {"movs", "stos", "lods", "cmps", "scas"};
      static const char sfx[] = {'b', 'w', 'd'};
      const unsigned op = pick(5);
      out_ << "lea " << si << ", [" << base() << " + " << 0x800 + pick(0x400) << "]\n"
           << "lea " << di << ", [" << base() << " + " << 0x1000 + pick(0x400) << "]\n"
           << "mov " << cx << ", " << pick(17) << "\n"
           << (op >= 3   ? (pick(2) ? "repe " : "repne ")
               : pick(3) ? "rep "
                         : "")
           << k[op] << sfx[pick(3)] << "\n";
      return;
    }
    case 15:
      out_ << "mov " << rreg(sz) << ", " << (pick(2) ? rm(sz) : imm(sz)) << "\n";
      return;
    case 16: {
      const unsigned s2 = 2u << pick(2);
      out_ << "popcnt " << rreg(s2) << ", " << rm(s2) << "\n";
      return;
    }
    case 17: {
      const unsigned s2 = 2u << pick(2);
      out_ << "push " << rreg(s2) << "\npop " << rreg(s2) << "\n";
      return;
    }
    case 18: { // a forward skip over one ALU instruction
      const unsigned label = labels_++;
      out_ << "j" << kCc[pick(16)] << " skip" << label << "\n"
           << kAlu[pick(9)] << " " << rreg(sz) << ", " << imm(sz) << "\nskip" << label << ":\n";
      return;
    }
    default:
      out_ << (pick(2) ? "adc " : "sbb ") << rreg(4) << ", " << rreg(4) << "\n";
      return;
    }
  }

  std::mt19937_64 rng_;
  unsigned bits_;
  unsigned labels_ = 0;
  std::ostringstream out_;
};

} // namespace rrvm::test
