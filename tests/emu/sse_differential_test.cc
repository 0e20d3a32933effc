// Differential tests for SSE through SSE4.2, MMX and FXSAVE: random sequences run natively at
// ring 3 under /dev/kvm and on the interpreter from the same state, with XMM registers and memory
// biased to ±0, ±inf, QNaN/SNaN, denormals and extremes, under every rounding mode and DAZ/FTZ
// setting. Every GPR, flag, XMM register, MXCSR bit, x87/MMX register and the data buffer (which
// STMXCSR and FXSAVE images land in) must match bit for bit. Exceptions stay masked: unmasked
// ones are covered against SDM-derived expectations in sse_test.cc.
#include <gtest/gtest.h>

#include <cctype>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>

#include "tests/emu/differential_harness.h"
#include "vmm/emu/testing/emu_machine.h"
#include "vmm/kvm/kvm_engine.h"

namespace rrvm::test {
namespace {

// Operands below kDiffDataSize, then the two FXSAVE images.
constexpr uint64_t kSseDataSize = kDiffDataSize + 0x400;
// Each sequence starts with FXRSTOR64 of a prepared image and ends with FXSAVE64 of the final
// state: both runs load their start state through the instruction under test rather than the
// engines' state transfer, and the comparison of the data buffer covers the images bit for bit.
constexpr unsigned kStartImage = 0x2000, kEndImage = 0x2200;

// Operand placeholders: X xmm, M xmm or 16-aligned memory, U xmm or unaligned memory, A aligned
// memory, B unaligned memory, I imm8, C compare predicate, O rounding control, r/R 32/64-bit GPR,
// N mm register, P mm or memory.
const char* kTemplates[] = {
    // SSE/SSE2 floating point
    "addps X, M",
    "addpd X, M",
    "addss X, B",
    "addsd X, B",
    "subps X, M",
    "subsd X, X",
    "mulps X, M",
    "mulpd X, M",
    "mulss X, X",
    "mulsd X, B",
    "divps X, M",
    "divpd X, X",
    "divss X, X",
    "divsd X, B",
    "minps X, M",
    "maxpd X, M",
    "minss X, X",
    "maxsd X, X",
    "sqrtps X, M",
    "sqrtpd X, X",
    "sqrtss X, X",
    "sqrtsd X, B",
    "rcpps X, X",
    "rsqrtss X, X",
    "cmpps X, M, C",
    "cmppd X, X, C",
    "cmpss X, X, C",
    "cmpsd X, X, C",
    "comiss X, X",
    "ucomiss X, B",
    "comisd X, X",
    "ucomisd X, X",
    "andps X, M",
    "andnpd X, M",
    "orps X, X",
    "xorpd X, X",
    "shufps X, M, I",
    "shufpd X, X, I",
    "unpcklps X, M",
    "unpckhpd X, X",
    "movmskps r, X",
    "movmskpd r, X",
    // conversions
    "cvtps2pd X, X",
    "cvtpd2ps X, M",
    "cvtdq2ps X, M",
    "cvtps2dq X, X",
    "cvttps2dq X, X",
    "cvtdq2pd X, X",
    "cvtpd2dq X, X",
    "cvttpd2dq X, M",
    "cvtss2sd X, X",
    "cvtsd2ss X, X",
    "cvtsi2sd X, R",
    "cvtsi2ss X, r",
    "cvtsd2si R, X",
    "cvttsd2si r, X",
    "cvtss2si r, X",
    "cvttss2si R, X",
    "cvtpi2ps X, N",
    "cvtps2pi N, X",
    "cvttpd2pi N, X",
    "cvtpi2pd X, N",
    // SSE3, SSE4.1 floating point
    "addsubps X, M",
    "addsubpd X, X",
    "haddps X, X",
    "hsubpd X, M",
    "movddup X, X",
    "movshdup X, M",
    "movsldup X, X",
    "dpps X, X, I",
    "dppd X, M, I",
    "roundps X, X, O",
    "roundpd X, M, O",
    "roundss X, X, O",
    "roundsd X, X, O",
    "blendps X, X, I",
    "blendpd X, M, I",
    "blendvps X, X",
    "blendvpd X, M",
    "insertps X, X, I",
    "extractps r, X, I",
    // integer SSE2
    "paddb X, M",
    "paddw X, X",
    "paddd X, M",
    "paddq X, X",
    "psubb X, X",
    "psubq X, M",
    "paddsb X, X",
    "paddusw X, M",
    "psubsw X, X",
    "psubusb X, X",
    "pmullw X, M",
    "pmulhw X, X",
    "pmulhuw X, X",
    "pmuludq X, M",
    "pmaddwd X, X",
    "pavgb X, M",
    "pavgw X, X",
    "psadbw X, X",
    "pminub X, M",
    "pmaxub X, X",
    "pminsw X, X",
    "pmaxsw X, M",
    "pcmpeqb X, X",
    "pcmpeqd X, M",
    "pcmpgtb X, X",
    "pcmpgtw X, M",
    "pcmpgtd X, X",
    "pand X, M",
    "pandn X, X",
    "por X, X",
    "pxor X, M",
    "psllw X, I",
    "pslld X, X",
    "psllq X, I",
    "psrlw X, M",
    "psrld X, I",
    "psrlq X, X",
    "psraw X, I",
    "psrad X, X",
    "pslldq X, I",
    "psrldq X, I",
    "pshufd X, M, I",
    "pshuflw X, X, I",
    "pshufhw X, M, I",
    "packsswb X, X",
    "packuswb X, M",
    "packssdw X, X",
    "punpcklbw X, X",
    "punpckhwd X, M",
    "punpckldq X, X",
    "punpckhqdq X, X",
    "punpcklqdq X, M",
    "pmovmskb r, X",
    "pinsrw X, r, I",
    "pextrw r, X, I",
    "movd X, r",
    "movq X, R",
    "movd r, X",
    "movq R, X",
    "movq X, X",
    // SSSE3
    "pshufb X, M",
    "palignr X, X, I",
    "pabsb X, X",
    "pabsw X, M",
    "pabsd X, X",
    "psignb X, X",
    "psignw X, M",
    "psignd X, X",
    "phaddw X, X",
    "phaddd X, M",
    "phaddsw X, X",
    "phsubw X, X",
    "phsubd X, M",
    "phsubsw X, X",
    "pmaddubsw X, X",
    "pmulhrsw X, M",
    // SSE4.1 integer
    "pmulld X, M",
    "pmuldq X, X",
    "pminsb X, X",
    "pmaxsd X, M",
    "pminuw X, X",
    "pmaxud X, X",
    "pcmpeqq X, M",
    "packusdw X, X",
    "pmovzxbw X, X",
    "pmovsxbd X, X",
    "pmovzxwq X, X",
    "pmovsxdq X, X",
    "pmovzxbq X, B",
    "pblendw X, M, I",
    "pblendvb X, X",
    "ptest X, M",
    "phminposuw X, X",
    "mpsadbw X, X, I",
    "pinsrb X, r, I",
    "pinsrd X, r, I",
    "pinsrq X, R, I",
    "pextrb r, X, I",
    "pextrd r, X, I",
    "pextrq R, X, I",
    // SSE4.2
    "pcmpgtq X, M",
    "pcmpestri X, U, I",
    "pcmpestrm X, X, I",
    "pcmpistri X, U, I",
    "pcmpistrm X, X, I",
    "crc32 r, r",
    "crc32 R, R",
    "crc32 r, byte B",
    "crc32 r, word B",
    // moves and stores
    "movaps X, M",
    "movups X, U",
    "movdqa X, M",
    "movdqu X, U",
    "lddqu X, B",
    "movaps A, X",
    "movups B, X",
    "movdqa A, X",
    "movdqu B, X",
    "movntdq A, X",
    "movntps A, X",
    "movntdqa X, A",
    "movss X, X",
    "movss X, B",
    "movss B, X",
    "movsd X, X",
    "movsd X, B",
    "movsd B, X",
    "movlps X, B",
    "movhps X, B",
    "movlps B, X",
    "movhpd B, X",
    "movhlps X, X",
    "movlhps X, X",
    "movq B, X",
    "movq X, B",
    "pextrd B, X, I",
    "pextrb B, X, I",
    "pinsrw X, B, I",
    "pinsrd X, B, I",
    "movd B, X",
    // MXCSR and FXSAVE
    "stmxcsr B",
    "fxsave64 A",
    "fxsave A",
    // MMX and the SSE forms on MMX registers
    "paddb N, P",
    "paddw N, N",
    "psubd N, P",
    "pmullw N, N",
    "pmaddwd N, P",
    "pcmpeqb N, N",
    "pxor N, N",
    "psllq N, I",
    "psrlw N, N",
    "packsswb N, P",
    "punpcklbw N, N",
    "movq N, P",
    "movq P, N",
    "movd N, r",
    "movd r, N",
    "pshufw N, P, I",
    "pavgb N, N",
    "pmaxub N, P",
    "pinsrw N, r, I",
    "pextrw r, N, I",
    "pmovmskb r, N",
    "psadbw N, P",
    "pmuludq N, N",
    "paddq N, P",
    "pshufb N, N",
    "palignr N, P, I",
    "pabsw N, N",
    "phaddd N, P",
    "pmulhrsw N, N",
    "movq2dq X, N",
    "movdq2q N, X",
    "emms",
};

const char* kGpr32[] = {"eax", "ebx", "ecx",  "edx",  "esi",  "edi",  "ebp",
                        "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d"};
const char* kGpr64[] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp",
                        "r8",  "r9",  "r10", "r11", "r12", "r13", "r14"};

// Values that make floating point interesting, as 32-bit and 64-bit patterns.
const uint32_t kSpecial32[] = {
    0,          0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00001, 0x7f800001, 0xff812345,
    0x00000001, 0x807fffff, 0x00400000, 0x7f7fffff, 0xff7fffff, 0x00800000, 0x80800000, 0x3f800000,
    0xbfc00000, 0x4b000001, 0x3effffff, 0x4f000000, 0xcf000000, 0x5f000000, 0x0d800000, 0x7e800000};
const uint64_t kSpecial64[] = {0,
                               0x8000000000000000,
                               0x7ff0000000000000,
                               0xfff0000000000000,
                               0x7ff8000000000000,
                               0xfff8000000000001,
                               0x7ff0000000000001,
                               0xfff4000000000000,
                               0x0000000000000001,
                               0x800fffffffffffff,
                               0x0008000000000000,
                               0x7fefffffffffffff,
                               0xffefffffffffffff,
                               0x0010000000000000,
                               0x3ff0000000000000,
                               0xbff8000000000000,
                               0x4330000000000001,
                               0x43e0000000000000,
                               0xc3e0000000000000,
                               0x41e0000000000000,
                               0x3fdfffffffffffff,
                               0x3690000000000000,
                               0x47efffffe0000000};

// 16 bytes of float lanes, double lanes or integers, special values likely.
void fill_vector(std::mt19937_64& rng, uint8_t* out) {
  const unsigned kind = rng() % 4;
  for (unsigned i = 0; i < 16; i += kind == 0 ? 4 : 8) {
    uint64_t v = rng();
    if (kind == 0 && rng() % 3)
      v = kSpecial32[rng() % std::size(kSpecial32)];
    else if (kind == 1 && rng() % 3)
      v = kSpecial64[rng() % std::size(kSpecial64)];
    else if (kind == 2 && rng() % 3)
      v = uint64_t(int64_t(int8_t(rng()))) * 0x0001000100010001ull; // small words
    std::memcpy(out + i, &v, kind == 0 ? 4 : 8);
  }
}

class Generator {
public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  std::string sequence(unsigned n) {
    std::ostringstream out;
    out << "fxrstor64 [r15 + " << kStartImage << "]\n";
    for (unsigned i = 0; i < n; ++i)
      out << instruction(kTemplates[pick(std::size(kTemplates))]) << "\n";
    out << "fxsave64 [r15 + " << kEndImage << "]\nout 0x80, al\n";
    return out.str();
  }

private:
  unsigned pick(unsigned n) { return unsigned(rng_() % n); }
  std::string aligned() { return "[r15 + " + std::to_string(16 * pick(0x1c0)) + "]"; }
  std::string unaligned() { return "[r15 + " + std::to_string(pick(0x1c00)) + "]"; }
  std::string xmm() { return "xmm" + std::to_string(pick(16)); }

  std::string placeholder(char c) {
    switch (c) {
    case 'X':
      return xmm();
    case 'M':
      return pick(3) ? xmm() : aligned();
    case 'U':
      return pick(3) ? xmm() : unaligned();
    case 'A':
      return aligned();
    case 'B':
      return unaligned();
    case 'I':
      return std::to_string(pick(256));
    case 'C':
      return std::to_string(pick(8));
    case 'O':
      return std::to_string(pick(16));
    case 'r':
      return kGpr32[pick(14)];
    case 'R':
      return kGpr64[pick(14)];
    case 'N':
      return "mm" + std::to_string(pick(8));
    case 'P':
      return pick(3) ? "mm" + std::to_string(pick(8)) : unaligned();
    default:
      return std::string(1, c);
    }
  }

  // Replaces each one-letter word of the template by an operand.
  std::string instruction(const std::string& t) {
    std::string s;
    for (size_t i = 0; i < t.size();) {
      size_t j = i;
      while (j < t.size() && std::isalnum(uint8_t(t[j])))
        ++j;
      if (j == i) {
        s += t[i++];
      } else {
        s += j - i == 1 ? placeholder(t[i]) : t.substr(i, j - i);
        i = j;
      }
    }
    return s;
  }

  std::mt19937_64 rng_;
};

std::string hex(const uint8_t* p, size_t n) {
  std::ostringstream o;
  for (size_t i = n; i-- > 0;)
    o << "0123456789abcdef"[p[i] >> 4] << "0123456789abcdef"[p[i] & 15];
  return o.str();
}

// The FXSAVE image's fields, named in a difference.
std::string compare_image(const uint8_t* hw, const uint8_t* sw) {
  std::ostringstream diff;
  if (std::memcmp(hw, sw, 32) != 0)
    diff << "x87 control/status/tags/pointers or mxcsr: cpu " << hex(hw, 32) << "\n   emu "
         << hex(sw, 32) << "\n";
  for (unsigned i = 0; i < 8; ++i)
    if (std::memcmp(hw + 32 + 16 * i, sw + 32 + 16 * i, 16) != 0)
      diff << "st" << i << ": cpu " << hex(hw + 32 + 16 * i, 16) << " emu "
           << hex(sw + 32 + 16 * i, 16) << "\n";
  for (unsigned i = 0; i < 16; ++i)
    if (std::memcmp(hw + 160 + 16 * i, sw + 160 + 16 * i, 16) != 0)
      diff << "xmm" << i << ": cpu " << hex(hw + 160 + 16 * i, 16) << " emu "
           << hex(sw + 160 + 16 * i, 16) << "\n";
  for (unsigned at = 416; at < 512; at += 16)
    if (std::memcmp(hw + at, sw + at, 16) != 0)
      diff << "reserved bytes " << at << ": cpu " << hex(hw + at, 16) << " emu " << hex(sw + at, 16)
           << "\n";
  return diff.str();
}

std::string compare(const CpuState& hw, const CpuState& sw) {
  std::ostringstream diff;
  for (unsigned r = 0; r < 16; ++r)
    if (hw.gpr[r] != sw.gpr[r])
      diff << "gpr" << r << ": cpu " << std::hex << hw.gpr[r] << " emu " << sw.gpr[r] << "\n";
  constexpr uint64_t kArith = 0x8d5;
  if ((hw.rflags & kArith) != (sw.rflags & kArith))
    diff << "rflags: cpu " << std::hex << hw.rflags << " emu " << sw.rflags << "\n";
  return diff.str();
}

TEST(SseDifferential, RandomSequencesMatchTheRealCpu) {
  GuestMemory kvm_mem(kRam);
  std::string unusable;
  std::unique_ptr<KvmEngine> kvm = open_kvm(kvm_mem, &unusable);
  if (!kvm) {
    if (kvm_required()) FAIL() << "/dev/kvm unusable under CI: " << unusable;
    GTEST_SKIP() << "/dev/kvm unusable, differential test skipped: " << unusable;
  }
  constexpr unsigned kSequences = 1500;
  static_assert(kDiffCode + kSequences * kSlot <= kDiffData,
                "the sequences would overwrite the data");
  Generator gen(20261130);
  std::vector<std::string> seqs(kSequences);
  std::ostringstream all;
  for (unsigned i = 0; i < kSequences; ++i) {
    seqs[i] = gen.sequence(3 + i % 8);
    all << seqs[i] << "align " << kSlot << ", db 0xcc\n";
  }
  const std::vector<uint8_t> code = assemble(all.str(), 64, kDiffCode);
  ASSERT_LE(code.size(), kSequences * kSlot) << "a sequence outgrew its slot";

  GuestMemory mem(kRam);
  EmuEngine emu(mem);
  std::mt19937_64 rng(11);
  std::vector<uint8_t> data(kSseDataSize);
  unsigned failures = 0;
  for (unsigned i = 0; i < kSequences && failures < 10; ++i) {
    CpuState s = ring3_state(mem);
    s.cr4 |= cr4::kOSFXSR | cr4::kOSXMMEXCPT;
    for (unsigned r = 0; r < 16; ++r)
      s.gpr[r] = rng() % 4 ? rng() : kSpecial64[rng() % std::size(kSpecial64)];
    s.gpr[kRsp] = kStackTop;
    s.gpr[kR15] = kDiffData;
    s.rflags = 0x3002 | (rng() & 0x8d5);
    s.rip = kDiffCode + uint64_t(i) * kSlot;
    for (size_t off = 0; off < data.size(); off += 16)
      fill_vector(rng, data.data() + off);
    // The start image: every rounding mode with every DAZ/FTZ combination, exceptions masked;
    // random x87 registers (the MMX registers) under a random TOP.
    uint8_t* image = data.data() + kStartImage;
    std::memset(image, 0, 512);
    const uint16_t fcw = 0x37f, fsw = uint16_t((rng() % 8) << 11);
    const uint32_t mxcsr =
        0x1f80 | uint32_t(i % 4) << 13 | uint32_t((i / 4) % 2) << 6 | uint32_t((i / 8) % 2) << 15;
    const uint32_t mxcsr_mask = 0xffff;
    std::memcpy(image, &fcw, 2);
    std::memcpy(image + 2, &fsw, 2);
    image[4] = uint8_t(rng());
    std::memcpy(image + 24, &mxcsr, 4);
    std::memcpy(image + 28, &mxcsr_mask, 4);
    for (unsigned r = 0; r < 8; ++r) {
      uint64_t v = rng();
      std::memcpy(image + 32 + 16 * r, &v, 8);
      image[32 + 16 * r + 8] = uint8_t(rng());
      image[32 + 16 * r + 9] = uint8_t(rng());
    }
    for (unsigned r = 0; r < 16; ++r)
      fill_vector(rng, image + 160 + 16 * r);

    std::memcpy(mem.host() + kDiffData, data.data(), data.size());
    std::memcpy(mem.host() + kDiffCode, code.data(), code.size());
    std::memcpy(kvm_mem.host(), mem.host(), kRam);

    std::string why;
    std::optional<CpuState> hw = run_sequence(*kvm, s, &why);
    ASSERT_TRUE(hw) << "kvm: " << why << " in sequence " << i << "\n" << seqs[i];
    std::optional<CpuState> sw = run_sequence(emu, s, &why);
    ASSERT_TRUE(sw) << "emu: " << why << "\n" << seqs[i];

    std::string diff = compare(*hw, *sw) + compare_image(kvm_mem.host() + kDiffData + kEndImage,
                                                         mem.host() + kDiffData + kEndImage);
    for (uint64_t off = 0; off < kEndImage; ++off)
      if (kvm_mem.host()[kDiffData + off] != mem.host()[kDiffData + off]) {
        diff += "data differs from offset " + std::to_string(off) + "\n";
        break;
      }
    if (!diff.empty()) {
      ++failures;
      ADD_FAILURE() << "sequence " << i << " (mxcsr " << std::hex << mxcsr << "):\n"
                    << seqs[i] << "\n"
                    << diff;
    }
  }
}

} // namespace
} // namespace rrvm::test
