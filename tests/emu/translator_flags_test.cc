// The translator's flag readers and inline forms against the interpreter: every condition after
// every flag writer at every width (inline writers, whose flags the translation derives on the
// host, and handlers, whose it asks Cpu::cond for), the 8/16-bit and unary register forms, and
// direct links between translations while the code they lead to is rewritten or the code buffer
// starts over.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <sstream>

#include "tests/emu/differential_harness.h"
#include "tests/emu/guest_runner.h"
#include "tests/emu/run_difference.h"
#include "tests/emu/sequence_generator.h"
#include "vmm/emu/testing/emu_machine.h"

namespace rrvm::test {
namespace {

constexpr uint64_t kSequenceBytes = 0x1000; // each sequence's code, page-aligned
constexpr unsigned kLoops = 6;              // enough runs for its blocks to run translated

// Registers, RFLAGS, RIP and the count of two runs; empty when equal.
std::string difference(EmuEngine& interpreted, EmuEngine& translated) {
  return RunDifference()
      .registers(interpreted.state(), translated.state())
      .count(*interpreted.instruction_count(), *translated.instruction_count())
      .str();
}

// Sequences looped kLoops times (r14 counts), each in its own page, run from random registers on
// the interpreter and the translator: whole, then stopped at a random count and continued.
class BothWays {
public:
  explicit BothWays(uint64_t seed) : rng_(seed) {}

  void expect_same(const std::vector<std::string>& bodies) {
    std::ostringstream all;
    for (size_t i = 0; i < bodies.size(); ++i)
      all << "mov r14d, " << kLoops << "\ntop" << i << ":\n"
          << bodies[i] << "dec r14\njnz top" << i << "\nout 0x80, al\nalign " << kSequenceBytes
          << ", db 0xcc\n";
    const std::vector<uint8_t> code = assemble(all.str(), 64, kDiffCode);
    ASSERT_LE(code.size(), bodies.size() * kSequenceBytes) << "a sequence outgrew its page";
    ASSERT_LE(kDiffCode + code.size(), kDiffData);
    for (GuestMemory* m : {&interpreted_memory_, &translated_memory_})
      std::memcpy(m->host() + kDiffCode, code.data(), code.size());
    const uint64_t translated_before = translated_.translated_blocks();
    for (size_t i = 0; i < bodies.size() && failures_ < 5; ++i) {
      const std::string diff = run(kDiffCode + i * kSequenceBytes);
      if (!diff.empty()) {
        ++failures_;
        ADD_FAILURE() << "sequence " << i << ":\n" << bodies[i] << "\n" << diff;
      }
    }
    EXPECT_GE(translated_.translated_blocks() - translated_before, bodies.size());
  }

  std::mt19937_64& rng() { return rng_; }

private:
  std::string run(uint64_t rip) {
    CpuState s = ring3_state(interpreted_memory_);
    ring3_state(translated_memory_);
    for (unsigned r = 0; r < 16; ++r)
      s.gpr[r] = rng_() % 3 == 0 ? rng_() % 3 : rng_() >> (rng_() % 64);
    s.gpr[kRsp] = kStackTop;
    s.gpr[kR15] = kDiffData;
    s.rflags = 0x3002 | (rng_() & kAll);
    s.rip = rip;
    std::string why, diff;
    for (EmuEngine* e : {&interpreted_, &translated_}) {
      e->set_instruction_count(0);
      e->set_instruction_limit(std::nullopt);
      if (!run_sequence(*e, s, &why)) return why;
    }
    diff = difference(interpreted_, translated_);
    const uint64_t total = *interpreted_.instruction_count();
    const uint64_t limit = 1 + rng_() % total;
    for (EmuEngine* e : {&interpreted_, &translated_}) {
      e->set_state(s);
      e->set_instruction_count(0);
      e->set_instruction_limit(limit);
      const ExitReason reason = run_past_kicks(*e).reason;
      if (reason != (limit == total ? ExitReason::kIo : ExitReason::kInstructionLimit))
        return std::string("stopped by ") + exit_reason_name(reason);
    }
    diff += difference(interpreted_, translated_);
    for (EmuEngine* e : {&interpreted_, &translated_}) {
      e->set_instruction_limit(std::nullopt);
      if (limit != total && run_past_kicks(*e).reason != ExitReason::kIo)
        return "no final OUT after the stop";
    }
    return diff + difference(interpreted_, translated_);
  }

  std::mt19937_64 rng_;
  GuestMemory interpreted_memory_{kRam}, translated_memory_{kRam};
  EmuEngine interpreted_{interpreted_memory_, CpuidTable::emulated(), false};
  EmuEngine translated_{translated_memory_, CpuidTable::emulated(), true};
  unsigned failures_ = 0;
};

const char* const kConditions[16] = {"o", "no", "b", "ae", "z", "nz", "be", "a",
                                     "s", "ns", "p", "np", "l", "ge", "le", "g"};

std::string reg(unsigned r, unsigned size, bool high = false) {
  if (high) return std::string(1, "abcd"[r]) + "h";
  return size == 8 ? kRegs64[r] : size == 4 ? kRegs32[r] : size == 2 ? kRegs16[r] : kRegs8[r];
}

// The flag writers: inline ones (the translation knows the operation, or has committed the flags
// to flags_raw) and handlers (it knows neither).
struct Writer {
  const char* name;
  const char* source; // nullptr: none; "": rcx at the width; else a count
  bool sets_cf_first; // INC/DEC keep CF and ROL/ROR all but CF and OF: a CMP first sets them
  bool has_byte_form = true;
};
constexpr Writer kWriters[] = {
    {"add", "", false},      {"sub", "", false},     {"cmp", "", false},
    {"and", "", false},      {"or", "", false},      {"xor", "", false},
    {"test", "", false},     {"inc", nullptr, true}, {"dec", nullptr, true},
    {"neg", nullptr, false}, {"adc", "", false},     {"sbb", "", false},
    {"shl", "1", false},     {"shl", "5", false},    {"shl", "13", false},
    {"shr", "1", false},     {"shr", "7", false},    {"sar", "1", false},
    {"sar", "6", false},     {"rol", "1", true},     {"rol", "3", true},
    {"ror", "1", true},      {"ror", "9", true},     {"imul", "", false, false},
};

// Operands that set CF, OF, SF, ZF, PF and AF each way at `bits` (for ADD, SUB and the logic
// operations), with bits above the width set so partial writes must merge.
std::vector<std::pair<uint64_t, uint64_t>> operand_pairs(unsigned bits, std::mt19937_64& rng) {
  const uint64_t max = bits == 64 ? ~0ull : (1ull << bits) - 1, smin = 1ull << (bits - 1),
                 smax = smin - 1;
  std::vector<std::pair<uint64_t, uint64_t>> pairs = {
      {0, 0},   {1, 2},     {2, 1},       {max, 1},     {smax, 1},    {smin, 1}, {smin, smax},
      {0xf, 1}, {max, max}, {smax, smin}, {0x55, 0xaa}, {smin, smin}, {0x7e, 3}, {rng(), rng()}};
  const uint64_t above = bits == 64 ? 0 : 0xdead5a5a5a5a5a00ull << (bits - 8);
  for (auto& [a, b] : pairs) {
    a = (a & max) | above;
    b = (b & max) | (above >> 4 << 4);
  }
  return pairs;
}

// For each condition: the writer on (a, b), then SETcc, CMOVcc and Jcc on its flags, each result
// shifted into a register (rbp, r8, rdx), and the flags themselves through PUSHF (r10).
std::string conditions_after(const Writer& w, unsigned size, bool high, uint64_t a, uint64_t b,
                             size_t id) {
  std::ostringstream t;
  const unsigned shift = high ? 8 : 0;
  const unsigned cmov_size = size == 1 ? 4 : size;
  for (unsigned cc = 0; cc < 16; ++cc) {
    t << "xor ebx, ebx\nmov esi, 0\nmov edi, 1\nmov rax, " << (a << shift) << "\nmov rcx, "
      << (b << shift) << "\n";
    if (w.sets_cf_first) t << "cmp " << reg(2, size, high) << ", " << reg(0, size, high) << "\n";
    t << w.name << " " << reg(0, size, high);
    if (w.source) t << ", " << (*w.source ? w.source : reg(2, size, high));
    t << "\nset" << kConditions[cc] << " bl\ncmov" << kConditions[cc] << " " << reg(4, cmov_size)
      << ", " << reg(5, cmov_size) << "\nlea rdx, [rdx + rdx]\nj" << kConditions[cc] << " c" << id
      << "_" << cc << "\nlea rdx, [rdx + 1]\nc" << id << "_" << cc
      << ":\nlea rbp, [rbx + rbp * 2]\n"
      << "lea r8, [rsi + r8 * 2]\npushfq\npop r9\nrol r10, 7\nxor r10, r9\n";
  }
  return t.str();
}

TEST(EmuTranslatorFlags, EveryConditionAfterEveryWriterAtEveryWidth) {
  BothWays both(1);
  for (const Writer& w : kWriters) {
    for (unsigned size : {1u, 2u, 4u, 8u}) {
      for (bool high : {false, true}) {
        if ((high && size != 1) || (size == 1 && !w.has_byte_form)) continue;
        SCOPED_TRACE(std::string(w.name) + " " + (w.source ? w.source : "") + " " +
                     std::to_string(size * 8) + (high ? " high" : ""));
        std::vector<std::string> bodies;
        for (const auto& [a, b] : operand_pairs(size * 8, both.rng()))
          bodies.push_back(conditions_after(w, size, high, a, b, bodies.size()));
        both.expect_same(bodies);
      }
    }
  }
}

// The same conditions after a writer with an immediate operand, and with the flags coming from
// before the block (the translation cannot know their writer).
TEST(EmuTranslatorFlags, ConditionsAfterImmediatesAndFromEarlierBlocks) {
  BothWays both(2);
  std::vector<std::string> bodies;
  for (const char* op : {"add", "sub", "cmp", "and", "test", "xor"}) {
    for (unsigned size : {1u, 2u, 4u, 8u}) {
      for (int32_t imm : {1, -1, 0x7f, -0x80, 0x12}) {
        std::ostringstream t;
        for (unsigned cc = 0; cc < 16; ++cc)
          t << "mov rax, " << both.rng()() << "\n"
            << op << " " << reg(0, size) << ", " << (size == 1 ? int8_t(imm) : imm) << "\njmp n"
            << bodies.size() << "_" << cc << "\nn" << bodies.size() << "_" << cc << ":\nset"
            << kConditions[cc] << " bl\nlea rdx, [rdx + rdx]\nj" << kConditions[cc] << " m"
            << bodies.size() << "_" << cc << "\nlea rdx, [rdx + 1]\nm" << bodies.size() << "_" << cc
            << ":\nlea rbp, [rbx + rbp * 2]\n";
        bodies.push_back(t.str());
      }
    }
  }
  both.expect_same(bodies);
}

// Random mixes of the register forms emitted inline: ALU at every width (AH..BH among them),
// INC/DEC, NEG/NOT, MOVZX/MOVSX/MOVSXD, SETcc, CMOVcc and forward Jcc on every condition.
std::string register_mix(std::mt19937_64& rng, unsigned n, unsigned id) {
  static const char* kAlu[] = {"add", "or", "and", "sub", "xor", "cmp", "test", "mov"};
  auto pick = [&](unsigned k) { return unsigned(rng() % k); };
  auto any = [&](unsigned size, bool* high) {
    *high = size == 1 && pick(4) == 0;
    return *high ? reg(pick(4), 1, true) : reg(pick(13), size); // never r14, the loop counter
  };
  std::ostringstream t;
  unsigned open = 0, labels = 0;
  for (unsigned i = 0; i < n; ++i) {
    const unsigned size = 1u << pick(4);
    bool high = false, high2 = false;
    switch (pick(8)) {
    case 0:
    case 1: {
      const std::string d = any(size, &high);
      std::string s;
      // A high byte register and a REX one cannot meet in one instruction.
      do {
        s = any(size, &high2);
      } while (size == 1 && (high || high2) &&
               (s.size() > 2 || s[1] == 'i' || d.size() > 2 || d[1] == 'i'));
      t << kAlu[pick(8)] << " " << d << ", ";
      if (pick(2))
        t << s << "\n";
      else
        t << (size == 1 ? int64_t(int8_t(rng())) : int64_t(int32_t(rng()))) << "\n";
      break;
    }
    case 2:
      t << (pick(2) ? (pick(2) ? "inc " : "dec ") : (pick(2) ? "neg " : "not "))
        << reg(pick(13), size) << "\n";
      break;
    case 3: {
      const unsigned from = pick(2) ? 1 : 2, to = from == 1 ? 2u << pick(3) : 4u << pick(2);
      t << (pick(2) ? "movzx " : "movsx ") << reg(pick(13), to) << ", " << reg(pick(13), from)
        << "\n";
      if (pick(4) == 0) t << "movsxd " << reg(pick(13), 8) << ", " << reg(pick(13), 4) << "\n";
      break;
    }
    case 4:
      if (pick(2)) {
        t << "set" << kConditions[pick(16)] << " " << reg(pick(13), 1) << "\n";
      } else {
        static const char* kShifts[] = {"shl", "shr", "sar", "rol", "ror"};
        t << kShifts[pick(5)] << " " << any(size, &high) << ", " << pick(70) << "\n";
      }
      break;
    case 5: {
      const unsigned s = 2u << pick(3);
      if (pick(2))
        t << "cmov" << kConditions[pick(16)] << " " << reg(pick(13), s) << ", " << reg(pick(13), s)
          << "\n";
      else if (pick(2))
        t << "imul " << reg(pick(13), s) << ", " << reg(pick(13), s) << "\n";
      else
        t << "imul " << reg(pick(13), s) << ", " << reg(pick(13), s) << ", "
          << int32_t(rng()) % (s == 2 ? 0x8000 : 0x7fffffff) << "\n";
      break;
    }
    default:
      if (open) t << "skip" << id << "_" << labels - 1 << ":\n";
      t << "j" << kConditions[pick(16)] << " skip" << id << "_" << labels++ << "\n";
      open = 1;
    }
  }
  if (open) t << "skip" << id << "_" << labels - 1 << ":\n";
  return t.str();
}

TEST(EmuTranslatorFlags, RandomRegisterFormsMatchTheInterpreter) {
  BothWays both(3);
  std::vector<std::string> bodies;
  for (unsigned i = 0; i < 300; ++i)
    bodies.push_back(register_mix(both.rng(), 6 + i % 50, i));
  both.expect_same(bodies);
}

// A loop whose blocks link to each other, one of them in another page that the loop rewrites
// every 16th round (the links into it must not outlive it), run with a code buffer small enough
// to start over while blocks are linked.
TEST(EmuTranslatorFlags, LinksNeverLeadToRewrittenOrDroppedCode) {
  const std::string source = R"(
  mov ecx, 2000
  xor ebx, ebx
top:
  test ecx, 15
  jnz keep
  mov [rel patch + 1], ecx
keep:
  jmp patch
back:
  add ebx, ecx
  cmp ecx, 1000
  jb low
  xor ebx, 0x5a
low:
  dec ecx
  jnz top
  out 0x80, al
align 4096
patch:
  mov eax, 0x11111111
  add ebx, eax
  jmp back
)";
  std::vector<uint64_t> results;
  for (size_t buffer : {size_t(0), size_t(24) << 10, size_t(1) << 20}) {
    GuestMemory memory(16 << 20);
    EmuEngine engine(memory, CpuidTable::emulated(), buffer != 0,
                     buffer ? buffer : kEmuCodeBufferBytes);
    CpuState s = initial_state(Mode::kLong64, memory);
    const std::vector<uint8_t> code = assemble(source, 64, kCodeAddr);
    std::memcpy(memory.host() + kCodeAddr, code.data(), code.size());
    s.rip = kCodeAddr;
    s.gpr[kRsp] = kStackTop;
    engine.set_state(s);
    ASSERT_EQ(run_past_kicks(engine).reason, ExitReason::kIo);
    results.push_back(engine.state().gpr[kRbx]);
    results.push_back(*engine.instruction_count());
    if (buffer) {
      EXPECT_GT(engine.translated_blocks(), 100u); // the rewritten block again and again
    }
    if (buffer == size_t(24) << 10) {
      EXPECT_GT(engine.translation_flushes(), 0u);
    }
  }
  EXPECT_EQ(results[0], results[2]);
  EXPECT_EQ(results[1], results[3]);
  EXPECT_EQ(results[0], results[4]);
  EXPECT_EQ(results[1], results[5]);
}

} // namespace
} // namespace rrvm::test
