// x87 differential tests: random sequences of x87 instructions run natively at ring 3 under
// /dev/kvm and on the interpreter from the same random x87 state; all eight registers, FCW, FSW,
// FTW, FOP, FIP, FDP, the general registers (FNSTSW AX), the arithmetic flags (FCOMI) and the
// data buffer (stores, FNSTENV/FNSAVE images) must match bit for bit. Operands are biased to
// ±0, ±inf, QNaN/SNaN, denormals, pseudo-denormals, unnormals, pseudo-NaNs and extremes; every
// rounding mode and precision control is drawn.
//
// Two kinds of sequence: with every exception masked, several instructions (control
// instructions included; loaded control words keep every exception masked); with random
// exception masks, one data instruction, optionally followed by the non-waiting FNSTENV or
// FNSAVE, so the SDM's unmasked-exception effects (no pop, no store, biased results, FOP/FDP)
// are seen without the #MF the next waiting instruction would raise.
//
// FCS/FDS are not compared: KVM_GET_FPU does not report them (the images in memory show them).
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/emu/differential_harness.h"
#include "vmm/emu/testing/emu_machine.h"

namespace rrvm::test {
namespace {

using Ext = std::array<uint8_t, 10>;

// Scratch layout inside the data buffer: operand slots from 0x10, images at the end.
constexpr unsigned kSlotBytes = 16;
constexpr unsigned kImageOffset = 0x1e00;
// Some operands go through FS (R14 = the data buffer minus FS.base): FDP is an offset.
constexpr uint64_t kFsBase = 0x200000;

class Generator {
public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  unsigned pick(unsigned n) { return unsigned(rng_() % n); }
  uint64_t bits() { return rng_(); }

  Ext ext() {
    uint64_t m = rng_();
    unsigned e = 0x3fff + pick(140) - 70;
    switch (pick(16)) {
    case 0:
      m = 0, e = 0;
      break; // zero
    case 1:
      m = 1ull << 63, e = 0x7fff;
      break; // infinity
    case 2:
      m = 0xc000000000000000ull | (m >> 2 & pick(2)), e = 0x7fff;
      break; // QNaN
    case 3:
      m = (1ull << 63) | (m >> 2) | 1, e = 0x7fff;
      break; // SNaN
    case 4:
      m >>= 1 + pick(62), e = 0;
      break; // denormal
    case 5:
      m |= 1ull << 63, e = 0;
      break; // pseudo-denormal
    case 6:
      m >>= 1, e = 1 + pick(0x7ffe);
      break; // unnormal
    case 7:
      m >>= 1, e = 0x7fff;
      break; // pseudo-NaN/infinity
    case 8:
      m = ~0ull, e = 0x7ffe;
      break; // largest
    case 9:
      m = 1ull << 63, e = 1;
      break; // smallest normal
    case 10:
      m = (1ull << 63) | (uint64_t(pick(100)) << 56), e = 0x3fff + pick(8);
      break;
    case 11:
      m |= 1ull << 63, e = pick(0x7fff);
      break; // any exponent
    default:
      m |= 1ull << 63;
      break; // near 1
    }
    Ext v{};
    std::memcpy(v.data(), &m, 8);
    e |= pick(2) << 15;
    v[8] = uint8_t(e);
    v[9] = uint8_t(e >> 8);
    return v;
  }

  uint64_t real64() {
    const uint64_t sign = uint64_t(pick(2)) << 63, f = rng_() & ((1ull << 52) - 1);
    switch (pick(10)) {
    case 0:
      return sign;
    case 1:
      return sign | 0x7ff0000000000000ull;
    case 2:
      return sign | 0x7ff8000000000000ull | (f >> 3);
    case 3:
      return sign | 0x7ff0000000000000ull | (f >> 1) | 1;
    case 4:
      return sign | (f >> pick(52));
    case 5:
      return sign | 0x7fefffffffffffffull;
    case 6:
      return sign | 0x0010000000000000ull;
    default:
      return sign | uint64_t(1023 + pick(80) - 40) << 52 | f;
    }
  }
  uint32_t real32() {
    const uint32_t sign = uint32_t(pick(2)) << 31, f = uint32_t(rng_()) & 0x7fffff;
    switch (pick(10)) {
    case 0:
      return sign;
    case 1:
      return sign | 0x7f800000u;
    case 2:
      return sign | 0x7fc00000u | (f >> 3);
    case 3:
      return sign | 0x7f800000u | (f >> 1) | 1;
    case 4:
      return sign | (f >> pick(23));
    case 5:
      return sign | 0x7f7fffffu;
    default:
      return sign | uint32_t(127 + pick(40) - 20) << 23 | f;
    }
  }
  uint64_t integer(unsigned bytes) {
    const uint64_t top = 1ull << (bytes * 8 - 1);
    switch (pick(6)) {
    case 0:
      return 0;
    case 1:
      return top; // most negative (the integer indefinite)
    case 2:
      return top - 1; // most positive
    case 3:
      return uint64_t(int64_t(pick(21)) - 10);
    default:
      return rng_();
    }
  }
  Ext bcd() {
    Ext v{};
    for (unsigned i = 0; i < 9; ++i)
      v[i] = pick(20) ? uint8_t(pick(10) << 4 | pick(10)) : uint8_t(rng_());
    v[9] = pick(2) ? 0x80 : 0;
    return v;
  }
  // FCW with a random rounding mode and precision control (the reserved PC value included).
  uint16_t fcw(uint16_t masks) { return uint16_t(masks | pick(4) << 8 | pick(4) << 10 | 0x40); }

  std::vector<uint8_t> data;
  std::string code;

  // Random instruction sequences; `masked` says whether every exception is masked.
  void sequence(bool masked) {
    std::ostringstream out;
    next_slot_ = 0x10;
    if (masked) {
      for (unsigned n = 3 + pick(6); n--;)
        out << (pick(8) ? data_insn() : control_insn()) << "\n";
    } else {
      out << data_insn() << "\n";
      // FENI/FDISI/FSETPM do not wait: a pending exception does not fault there.
      if (pick(4) == 0) out << "db 0xdb, " << std::array{0xe0, 0xe1, 0xe4}[pick(3)] << "\n";
      if (pick(3) == 0)
        out << (pick(2) ? "fnstenv" : "fnsave") << " [r15 + " << kImageOffset << "]\n";
    }
    out << "out 0x80, al\n";
    code = out.str();
  }

private:
  std::string slot(const void* bytes, size_t n, const char* width) {
    const unsigned at = next_slot_;
    next_slot_ += kSlotBytes;
    if (bytes) std::memcpy(data.data() + at, bytes, n);
    std::ostringstream m;
    if (pick(4))
      m << width << " [r15 + " << at << "]";
    else
      m << width << " [fs:r14 + " << at << "]";
    return m.str();
  }
  std::string st() { return "st" + std::to_string(pick(8)); }

  std::string data_insn() {
    static const char* kArith[] = {"fadd", "fmul", "fsub", "fsubr", "fdiv", "fdivr"};
    static const char* kUnary[] = {"fsqrt",  "fabs",    "fchs",    "frndint", "fscale",  "fxtract",
                                   "fprem",  "fprem1",  "fsin",    "fcos",    "fsincos", "fptan",
                                   "fpatan", "f2xm1",   "fyl2x",   "fyl2xp1", "ftst",    "fxam",
                                   "fld1",   "fldz",    "fldpi",   "fldl2e",  "fldl2t",  "fldlg2",
                                   "fldln2", "fincstp", "fdecstp", "fnop",    "fcompp",  "fucompp"};
    static const char* kCmov[] = {"fcmovb",  "fcmove",  "fcmovbe",  "fcmovu",
                                  "fcmovnb", "fcmovne", "fcmovnbe", "fcmovnu"};
    static const char* kCompare[] = {"fcom", "fcomp", "fucom", "fucomp"};
    static const char* kCompareFlags[] = {"fcomi", "fcomip", "fucomi", "fucomip"};
    std::ostringstream t;
    const char* arith = kArith[pick(6)];
    switch (pick(21)) {
    case 0:
      t << arith << " st0, " << st();
      break;
    case 1:
      t << arith << " " << st() << ", st0";
      break;
    case 2:
      t << arith << "p " << st() << ", st0";
      break;
    case 3: {
      if (pick(2)) {
        uint32_t v = real32();
        t << arith << " " << slot(&v, 4, "dword");
      } else {
        uint64_t v = real64();
        t << arith << " " << slot(&v, 8, "qword");
      }
      break;
    }
    case 4: {
      const unsigned sz = pick(2) ? 2 : 4;
      uint64_t v = integer(sz);
      t << "fi" << (arith + 1) << " " << slot(&v, sz, sz == 2 ? "word" : "dword");
      break;
    }
    case 5:
    case 6:
      t << kUnary[pick(sizeof kUnary / sizeof *kUnary)];
      break;
    case 7: { // loads
      switch (pick(6)) {
      case 0:
        t << "fld " << st();
        break;
      case 1: {
        uint32_t v = real32();
        t << "fld " << slot(&v, 4, "dword");
        break;
      }
      case 2: {
        uint64_t v = real64();
        t << "fld " << slot(&v, 8, "qword");
        break;
      }
      case 3: {
        Ext v = ext();
        t << "fld " << slot(v.data(), 10, "tword");
        break;
      }
      case 4: {
        const unsigned sz = 2u << pick(3);
        uint64_t v = integer(sz);
        t << "fild " << slot(&v, sz, sz == 2 ? "word" : sz == 4 ? "dword" : "qword");
        break;
      }
      default: {
        Ext v = bcd();
        t << "fbld " << slot(v.data(), 10, "tword");
      }
      }
      break;
    }
    case 8: { // stores
      switch (pick(8)) {
      case 0:
        t << (pick(2) ? "fst " : "fstp ") << st();
        break;
      case 1:
        t << (pick(2) ? "fst " : "fstp ") << slot(nullptr, 4, "dword");
        break;
      case 2:
        t << (pick(2) ? "fst " : "fstp ") << slot(nullptr, 8, "qword");
        break;
      case 3:
        t << "fstp " << slot(nullptr, 10, "tword");
        break;
      case 4:
        t << (pick(2) ? "fist " : "fistp ") << slot(nullptr, 2, pick(2) ? "word" : "dword");
        break;
      case 5:
        t << "fistp " << slot(nullptr, 8, "qword");
        break;
      case 6:
        t << "fbstp " << slot(nullptr, 10, "tword");
        break;
      default: {
        static const char* w[] = {"word", "dword", "qword"};
        t << "fisttp " << slot(nullptr, 8, w[pick(3)]);
      }
      }
      break;
    }
    case 9:
      t << kCompare[pick(4)] << " " << st();
      break;
    case 10: {
      if (pick(2)) {
        uint32_t v = real32();
        t << (pick(2) ? "fcom " : "fcomp ") << slot(&v, 4, "dword");
      } else {
        uint64_t v = real64();
        t << (pick(2) ? "fcom " : "fcomp ") << slot(&v, 8, "qword");
      }
      break;
    }
    case 11: {
      const unsigned sz = pick(2) ? 2 : 4;
      uint64_t v = integer(sz);
      t << (pick(2) ? "ficom " : "ficomp ") << slot(&v, sz, sz == 2 ? "word" : "dword");
      break;
    }
    case 12:
      t << kCompareFlags[pick(4)] << " st0, " << st();
      break;
    case 13:
      t << kCmov[pick(8)] << " st0, " << st();
      break;
    case 14:
      t << "fxch " << st();
      break;
    case 15:
      t << "ffree " << st();
      break;
    case 16: { // encodings assemblers do not emit: FFREEP, the FSTP/FCOM/FCOMP/FXCH aliases,
               // and the 8087/287 control instructions that later CPUs run as FNOP
      static const unsigned kAliases[] = {0xdfc0, 0xd9d8, 0xdcd0, 0xdcd8, 0xddc8,
                                          0xded0, 0xdfc8, 0xdfd0, 0xdfd8};
      if (pick(4) == 0) {
        static const unsigned kNops[] = {0xdbe0, 0xdbe1, 0xdbe4};
        const unsigned op = kNops[pick(3)];
        t << "db " << (op >> 8) << ", " << (op & 0xff);
      } else {
        const unsigned op = kAliases[pick(9)] + pick(8);
        t << "db " << (op >> 8) << ", " << (op & 0xff);
      }
      break;
    }
    default:
      t << kUnary[pick(sizeof kUnary / sizeof *kUnary)];
      break;
    }
    return t.str();
  }

  // Control instructions; whatever they load keeps every exception masked.
  std::string control_insn() {
    std::ostringstream t;
    // Waiting forms (FWAIT first) and 16-bit operand size forms (14/94-byte images) too.
    const char* wait = pick(2) ? "n" : "";
    const char* o16 = pick(3) ? "" : "o16 ";
    switch (pick(10)) {
    case 0:
      t << "f" << wait << (pick(4) ? "clex" : "init");
      break;
    case 1: {
      uint16_t v = uint16_t(fcw(0x3f) | (bits() & 0xe080));
      t << "fldcw " << slot(&v, 2, "word");
      break;
    }
    case 2:
      t << "f" << wait << "stcw " << slot(nullptr, 2, "word");
      break;
    case 3:
      t << "f" << wait << "stsw " << (pick(2) ? "ax" : slot(nullptr, 2, "word"));
      break;
    case 4:
      t << o16 << "f" << wait << "stenv [r15 + " << kImageOffset << "]";
      break;
    case 5:
      t << o16 << "f" << wait << "save [r15 + " << kImageOffset << "]";
      break;
    case 6:
    case 7: { // FLDENV/FRSTOR of a random protected-mode image
      const bool save = pick(2), wide = !*o16;
      const size_t env = wide ? 28 : 14;
      std::vector<uint8_t> image(save ? env + 80 : env);
      for (auto& b : image)
        b = uint8_t(bits());
      uint16_t cw = fcw(0x3f);
      std::memcpy(image.data(), &cw, 2);
      uint16_t sw = uint16_t(bits() & ~0x80ffu) | uint16_t(bits() & 0x7f);
      std::memcpy(image.data() + (wide ? 4 : 2), &sw, 2);
      if (save)
        for (unsigned i = 0; i < 8; ++i) {
          Ext v = ext();
          std::memcpy(image.data() + env + 10 * i, v.data(), 10);
        }
      const unsigned at = kImageOffset - 0x100;
      std::memcpy(data.data() + at, image.data(), image.size());
      t << o16 << (save ? "frstor" : "fldenv") << " [r15 + " << at << "]";
      break;
    }
    case 8:
      return "fwait";
    default:
      return "fnop";
    }
    return t.str();
  }

  std::mt19937_64 rng_;
  unsigned next_slot_ = 0x10;
};

// A random x87 state whose pending exceptions are all masked (a waiting instruction would
// otherwise raise #MF first).
FpuState random_fpu(Generator& g, bool masked) {
  FpuState f;
  f.fcw = g.fcw(masked ? 0x3f : uint16_t(g.bits() & 0x3f));
  f.fsw = uint16_t(g.pick(8) << 11 | (g.bits() & 0x4700));
  f.fsw |= uint16_t(g.bits() & 0x3f & f.fcw);
  if (f.fsw & 0x3f & f.fcw & 1) f.fsw |= uint16_t(g.bits() & 0x40);
  f.ftw = uint8_t(g.bits() | g.bits());
  for (auto& r : f.st)
    r = g.ext();
  f.fop = uint16_t(g.bits() & 0x7ff);
  f.fip = g.bits() & 0xffffffffffffull;
  f.fdp = g.bits() & 0xffffffffffffull;
  return f;
}

std::string hex(const uint8_t* p, size_t n) {
  std::ostringstream s;
  for (size_t i = n; i--;)
    s << std::hex << (p[i] >> 4) << (p[i] & 15);
  return s.str();
}

std::string compare(const CpuState& hw, const CpuState& sw) {
  std::ostringstream d;
  d << std::hex;
  for (unsigned i = 0; i < 8; ++i)
    if (hw.fpu.st[i] != sw.fpu.st[i])
      d << "st" << i << ": cpu " << hex(hw.fpu.st[i].data(), 10) << " emu "
        << hex(sw.fpu.st[i].data(), 10) << "\n";
  auto field = [&](const char* name, uint64_t a, uint64_t b) {
    if (a != b) d << name << ": cpu " << a << " emu " << b << "\n";
  };
  field("fcw", hw.fpu.fcw, sw.fpu.fcw);
  field("fsw", hw.fpu.fsw, sw.fpu.fsw);
  field("ftw", hw.fpu.ftw, sw.fpu.ftw);
  field("fop", hw.fpu.fop, sw.fpu.fop);
  field("fip", hw.fpu.fip, sw.fpu.fip);
  field("fdp", hw.fpu.fdp, sw.fpu.fdp);
  for (unsigned r = 0; r < 16; ++r)
    field("gpr", hw.gpr[r], sw.gpr[r]);
  field("rip", hw.rip, sw.rip);
  field("rflags", hw.rflags & kFlagsMask, sw.rflags & kFlagsMask);
  return d.str();
}

// FISTTP is SSE3's; the host has it, so the interpreter is told to as well.
CpuidTable with_sse3(const CpuidTable& table) {
  std::vector<CpuidEntry> entries = table.entries();
  for (CpuidEntry& e : entries)
    if (e.function == 1) e.ecx |= 1;
  return CpuidTable(entries);
}

void run_x87_sequences(bool masked, unsigned count, uint64_t seed) {
  GuestMemory kvm_mem(kRam);
  std::string unusable;
  std::unique_ptr<KvmEngine> kvm = open_kvm(kvm_mem, &unusable);
  if (!kvm) {
    if (kvm_required()) FAIL() << "/dev/kvm unusable under CI: " << unusable;
    GTEST_SKIP() << "/dev/kvm unusable, differential test skipped: " << unusable;
  }
  Generator gen(seed);
  std::vector<std::string> seqs(count);
  std::vector<std::vector<uint8_t>> datas(count);
  std::ostringstream all;
  for (unsigned i = 0; i < count; ++i) {
    gen.data.assign(kDiffDataSize, 0);
    for (auto& b : gen.data)
      b = uint8_t(gen.bits());
    gen.sequence(masked);
    seqs[i] = gen.code;
    datas[i] = gen.data;
    all << seqs[i] << "align " << kSlot << ", db 0xcc\n";
  }
  const std::vector<uint8_t> code = assemble(all.str(), 64, kDiffCode);
  ASSERT_LE(code.size(), count * kSlot) << "a sequence outgrew its slot";

  GuestMemory mem(kRam);
  EmuEngine emu(mem, with_sse3(CpuidTable::emulated()));
  CpuState base = ring3_state(mem);
  base.cr0 |= cr0::kNE | cr0::kMP;
  std::memcpy(mem.host() + kDiffCode, code.data(), code.size());
  std::memcpy(kvm_mem.host(), mem.host(), kRam);
  // On this host (PVM) x87/SSE state set with KVM_SET_FPU before the vCPU's first KVM_RUN is
  // lost when that run uses the FPU; later sets take effect. One run first avoids it.
  {
    CpuState warm = base;
    warm.gpr[kR15] = kDiffData;
    warm.rip = kDiffCode;
    std::string why;
    ASSERT_TRUE(run_sequence(*kvm, warm, &why)) << why;
  }
  unsigned failures = 0;
  for (unsigned i = 0; i < count && failures < 10; ++i) {
    CpuState s = base;
    s.gpr[kRsp] = kStackTop;
    s.gpr[kR15] = kDiffData;
    s.gpr[kR14] = kDiffData - kFsBase;
    s.fs.base = kFsBase;
    s.gpr[kRax] = gen.bits();
    s.rflags = 0x3002 | (gen.bits() & kFlagsMask);
    s.rip = kDiffCode + uint64_t(i) * kSlot;
    s.fpu = random_fpu(gen, masked);
    std::memcpy(mem.host() + kDiffData, datas[i].data(), kDiffDataSize);
    std::memcpy(kvm_mem.host() + kDiffData, datas[i].data(), kDiffDataSize);

    std::string why;
    std::optional<CpuState> hw = run_sequence(*kvm, s, &why);
    ASSERT_TRUE(hw) << "kvm: " << why << "\n" << seqs[i];
    std::optional<CpuState> sw = run_sequence(emu, s, &why);
    ASSERT_TRUE(sw) << "emu: " << why << "\n" << seqs[i];
    std::string diff = compare(*hw, *sw);
    for (unsigned at = 0; at < kDiffDataSize; ++at)
      if (kvm_mem.host()[kDiffData + at] != mem.host()[kDiffData + at]) {
        std::ostringstream d;
        d << "data differs from offset 0x" << std::hex << at << ": cpu "
          << hex(kvm_mem.host() + kDiffData + (at & ~3u), 4) << " emu "
          << hex(mem.host() + kDiffData + (at & ~3u), 4) << "\n";
        diff += d.str();
        break;
      }
    if (!diff.empty()) {
      ++failures;
      ADD_FAILURE() << "sequence " << i << " (fcw " << std::hex << s.fpu.fcw << " fsw " << s.fpu.fsw
                    << " ftw " << unsigned(s.fpu.ftw) << "):\n"
                    << seqs[i] << diff;
    }
  }
}

TEST(X87Differential, MaskedSequencesMatchTheRealCpu) {
  run_x87_sequences(true, 2000, 20261130);
}

TEST(X87Differential, UnmaskedExceptionsMatchTheRealCpu) {
  run_x87_sequences(false, 1500, 87);
}

} // namespace
} // namespace rrvm::test
