// The translator against the interpreter (its reference): the same guests, random instruction
// sequences looped, stops at random instruction limits, self-modifying code and device reads
// inside translated blocks must leave the same registers, flags, memory, counts and exits.
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

// A shift making small and large register values alike.
unsigned pick_shift(std::mt19937_64& rng) {
  return unsigned(rng() % 64);
}

// Every register, RFLAGS, RIP, CR2 and the count; empty when equal.
std::string state_difference(const CpuState& interpreted, const CpuState& translated,
                             uint64_t interpreted_count, uint64_t translated_count) {
  return RunDifference()
      .registers(interpreted, translated)
      .count(interpreted_count, translated_count)
      .str();
}

TEST(EmuTranslator, TestGuestsRunAsInterpreted) {
  for (const char* name : {"modes", "exceptions32", "rep_interrupt", "long_privilege"}) {
    SCOPED_TRACE(name);
    LoadedGuest interpreted(name, false), translated(name, true);
    const GuestRun a = run_guest(interpreted.engine);
    const GuestRun b = run_guest(translated.engine);
    EXPECT_EQ(a.serial, b.serial);
    EXPECT_EQ(a.exit_code, b.exit_code);
    EXPECT_EQ(a.error, b.error);
    EXPECT_EQ(a.exits, b.exits); // every exit at the same count
    EXPECT_EQ(state_difference(interpreted.engine.state(), translated.engine.state(),
                               *interpreted.engine.instruction_count(),
                               *translated.engine.instruction_count()),
              "");
    EXPECT_EQ(
        std::memcmp(interpreted.memory.host(), translated.memory.host(), interpreted.memory.size()),
        0);
  }
}

// Random sequences in a loop of twelve rounds (the loop's blocks run translated and chained once
// they have run Translator::kRunsBeforeTranslation times), from
// random states; each also stopped once at a random instruction limit and continued.
TEST(EmuTranslator, RandomHotSequencesMatchTheInterpreter) {
  constexpr unsigned kSequences = 400;
  SequenceGenerator gen(20261201);
  std::vector<std::string> sources(kSequences);
  std::ostringstream all;
  for (unsigned i = 0; i < kSequences; ++i) {
    uint64_t undefined;
    sources[i] = "mov qword [r15 + 8], 12\ntop" + std::to_string(i) + ":\n" +
                 gen.body(4 + i % 24, &undefined) + "dec qword [r15 + 8]\njnz top" +
                 std::to_string(i) + "\nout 0x80, al\n";
    all << sources[i] << "align " << kSlot << ", db 0xcc\n";
  }
  const std::vector<uint8_t> code = assemble(all.str(), 64, kDiffCode);
  ASSERT_LE(code.size(), kSequences * kSlot) << "a sequence outgrew its slot";

  GuestMemory interpreted_memory(kRam), translated_memory(kRam);
  EmuEngine interpreted(interpreted_memory, CpuidTable::emulated(), false);
  EmuEngine translated(translated_memory, CpuidTable::emulated(), true);
  std::mt19937_64 rng(11);
  std::vector<uint8_t> data(kDiffDataSize);
  unsigned failures = 0;
  for (unsigned i = 0; i < kSequences && failures < 5; ++i) {
    CpuState s = ring3_state(interpreted_memory);
    ring3_state(translated_memory);
    for (unsigned r = 0; r < 16; ++r)
      s.gpr[r] =
          rng() % 4 == 0 ? std::array<uint64_t, 4>{0, 1, ~0ull, 0x80000000ull}[rng() % 4] : rng();
    s.gpr[kRsp] = kStackTop;
    s.gpr[kR15] = kDiffData;
    s.rflags = 0x3002 | (rng() & kAll);
    s.rip = kDiffCode + uint64_t(i) * kSlot;
    for (auto& b : data)
      b = uint8_t(rng());
    for (GuestMemory* m : {&interpreted_memory, &translated_memory}) {
      std::memcpy(m->host() + kDiffData, data.data(), data.size());
      std::memcpy(m->host() + kDiffCode, code.data(), code.size());
    }

    // The whole run, then a run stopped at a random count and continued.
    std::string why;
    interpreted.set_instruction_count(0);
    std::optional<CpuState> whole = run_sequence(interpreted, s, &why);
    ASSERT_TRUE(whole) << why << "\n" << sources[i];
    const uint64_t total = *interpreted.instruction_count();
    const uint64_t limit = 1 + rng() % total;
    std::string diff;
    for (EmuEngine* e : {&interpreted, &translated}) {
      std::memcpy((e == &interpreted ? interpreted_memory : translated_memory).host() + kDiffData,
                  data.data(), data.size());
      e->set_state(s);
      e->set_instruction_count(0);
      e->set_instruction_limit(limit);
      const Exit& x = run_past_kicks(*e);
      ASSERT_EQ(x.reason, limit == total ? ExitReason::kIo : ExitReason::kInstructionLimit);
    }
    diff += state_difference(interpreted.state(), translated.state(),
                             *interpreted.instruction_count(), *translated.instruction_count());
    for (EmuEngine* e : {&interpreted, &translated}) {
      e->set_instruction_limit(std::nullopt);
      if (limit != total) {
        ASSERT_EQ(run_past_kicks(*e).reason, ExitReason::kIo);
      }
    }
    diff += state_difference(interpreted.state(), translated.state(),
                             *interpreted.instruction_count(), *translated.instruction_count());
    if (std::memcmp(interpreted_memory.host() + kDiffData, translated_memory.host() + kDiffData,
                    kDiffDataSize) != 0)
      diff += "data differs\n";
    if (!diff.empty()) {
      ++failures;
      ADD_FAILURE() << "sequence " << i << " (limit " << limit << " of " << total << "):\n"
                    << sources[i] << "\n"
                    << diff;
    }
  }
  EXPECT_GE(translated.translated_blocks(), kSequences); // each loop runs translated
}

// Sequences of the instructions the translator inlines (register ALU, MOV, loads, LEA, INC/DEC
// after a logic operation, Jcc on ZF/SF skipping forward), so every inline form and its fallback
// meet.
std::string inline_mix(std::mt19937_64& rng, unsigned n, unsigned id) {
  static const char* kAlu[] = {"add", "or", "and", "sub", "xor", "cmp", "test", "mov"};
  static const char* kCc[] = {"z", "nz", "s", "ns"};
  auto pick = [&](unsigned k) { return unsigned(rng() % k); };
  auto reg = [&](unsigned size) {
    const unsigned r = pick(13); // not r14, the loop counter
    return std::string(size == 8 ? kRegs64[r] : kRegs32[r]);
  };
  std::ostringstream t;
  unsigned labels = 0, open = 0;
  for (unsigned i = 0; i < n; ++i) {
    const unsigned size = pick(2) ? 8 : 4;
    switch (pick(6)) {
    case 0:
    case 1:
      t << kAlu[pick(8)] << " " << reg(size) << ", ";
      if (pick(2))
        t << reg(size) << "\n";
      else
        t << int32_t(rng()) << "\n";
      break;
    case 2: {
      const unsigned address = pick(2) ? 8 : 4;
      t << "lea " << reg(size) << ", [" << reg(address) << " + " << reg(address) << "*"
        << (1u << pick(4)) << " + " << int(pick(4000)) - 2000 << "]\n";
      break;
    }
    case 4: // loads: the data buffer, across its page end (the handler's path), and the code
      if (pick(4) == 0)
        t << "mov " << reg(size) << ", [rel top" << id << " + " << pick(64) << "]\n";
      else
        t << "mov " << reg(size) << ", [r15 + " << (pick(8) ? pick(0xff8) : 0xffc) << "]\n";
      break;
    case 3:
      if (pick(2)) t << (pick(2) ? "and " : "xor ") << reg(size) << ", " << reg(size) << "\n";
      t << (pick(2) ? "inc " : "dec ") << reg(size) << "\n";
      break;
    default:
      if (open) {
        t << "skip" << id << "_" << labels - 1 << ":\n";
        open = 0;
      }
      t << "j" << kCc[pick(4)] << " skip" << id << "_" << labels++ << "\n";
      open = 1;
    }
  }
  if (open) t << "skip" << id << "_" << labels - 1 << ":\n";
  return t.str();
}

TEST(EmuTranslator, RandomInlineFormsMatchTheInterpreter) {
  constexpr unsigned kSequences = 400;
  std::mt19937_64 rng(5);
  std::vector<std::string> sources(kSequences);
  std::ostringstream all;
  for (unsigned i = 0; i < kSequences; ++i) {
    // TEST, DEC and JNZ on r14 all inline: the loop jumps to its own top without leaving the
    // translation.
    sources[i] = "mov r14d, 6\ntop" + std::to_string(i) + ":\n" + inline_mix(rng, 6 + i % 40, i) +
                 "test r14, r14\ndec r14\njnz top" + std::to_string(i) + "\nout 0x80, al\n";
    all << sources[i] << "align " << kSlot << ", db 0xcc\n";
  }
  const std::vector<uint8_t> code = assemble(all.str(), 64, kDiffCode);
  ASSERT_LE(code.size(), kSequences * kSlot) << "a sequence outgrew its slot";
  GuestMemory interpreted_memory(kRam), translated_memory(kRam);
  EmuEngine interpreted(interpreted_memory, CpuidTable::emulated(), false);
  EmuEngine translated(translated_memory, CpuidTable::emulated(), true);
  unsigned failures = 0;
  for (unsigned i = 0; i < kSequences && failures < 5; ++i) {
    CpuState s = ring3_state(interpreted_memory);
    ring3_state(translated_memory);
    for (unsigned r = 0; r < 16; ++r)
      s.gpr[r] = rng() % 3 == 0 ? rng() % 3 : rng() >> pick_shift(rng);
    s.gpr[kRsp] = kStackTop;
    s.gpr[kR15] = kDiffData;
    s.rflags = 0x3002 | (rng() & kAll);
    s.rip = kDiffCode + uint64_t(i) * kSlot;
    std::string why, diff;
    for (GuestMemory* m : {&interpreted_memory, &translated_memory})
      std::memcpy(m->host() + kDiffCode, code.data(), code.size());
    interpreted.set_instruction_count(0);
    translated.set_instruction_count(0);
    std::optional<CpuState> a = run_sequence(interpreted, s, &why);
    ASSERT_TRUE(a) << why << "\n" << sources[i];
    std::optional<CpuState> b = run_sequence(translated, s, &why);
    ASSERT_TRUE(b) << why << "\n" << sources[i];
    diff =
        state_difference(*a, *b, *interpreted.instruction_count(), *translated.instruction_count());
    // Stopped at a random count inside the loop, then continued.
    const uint64_t total = *interpreted.instruction_count();
    const uint64_t limit = 1 + rng() % total;
    for (EmuEngine* e : {&interpreted, &translated}) {
      e->set_state(s);
      e->set_instruction_count(0);
      e->set_instruction_limit(limit);
      ASSERT_EQ(run_past_kicks(*e).reason,
                limit == total ? ExitReason::kIo : ExitReason::kInstructionLimit);
    }
    diff += state_difference(interpreted.state(), translated.state(),
                             *interpreted.instruction_count(), *translated.instruction_count());
    for (EmuEngine* e : {&interpreted, &translated}) {
      e->set_instruction_limit(std::nullopt);
      if (limit != total) {
        ASSERT_EQ(run_past_kicks(*e).reason, ExitReason::kIo);
      }
    }
    diff += state_difference(interpreted.state(), translated.state(),
                             *interpreted.instruction_count(), *translated.instruction_count());
    if (!diff.empty()) {
      ++failures;
      ADD_FAILURE() << "sequence " << i << ":\n" << sources[i] << "\n" << diff;
    }
  }
  EXPECT_GE(translated.translated_blocks(), kSequences);
}

// A code buffer with room for a few blocks only: it fills again and again, every translation is
// dropped each time (among them the one that ran last and chains), and the results stay the
// interpreter's.
TEST(EmuTranslator, FullCodeBufferStartsOverExactly) {
  constexpr unsigned kSequences = 200;
  std::mt19937_64 rng(17);
  std::ostringstream all;
  for (unsigned i = 0; i < kSequences; ++i)
    all << "mov r14d, 8\ntop" << i << ":\n"
        << inline_mix(rng, 10 + i % 30, i) << "test r14, r14\ndec r14\njnz top" << i << "\njmp next"
        << i << "\nalign 64\nnext" << i << ":\n";
  all << "out 0x80, al\n";
  const std::vector<uint8_t> code = assemble(all.str(), 64, kDiffCode);
  GuestMemory interpreted_memory(kRam), translated_memory(kRam);
  EmuEngine interpreted(interpreted_memory, CpuidTable::emulated(), false);
  EmuEngine translated(translated_memory, CpuidTable::emulated(), true, 64 << 10);
  CpuState s = ring3_state(interpreted_memory);
  ring3_state(translated_memory);
  for (unsigned r = 0; r < 16; ++r)
    s.gpr[r] = rng();
  s.gpr[kRsp] = kStackTop;
  s.gpr[kR15] = kDiffData;
  s.rip = kDiffCode;
  for (GuestMemory* m : {&interpreted_memory, &translated_memory})
    std::memcpy(m->host() + kDiffCode, code.data(), code.size());
  std::string why;
  std::optional<CpuState> a = run_sequence(interpreted, s, &why);
  ASSERT_TRUE(a) << why;
  std::optional<CpuState> b = run_sequence(translated, s, &why);
  ASSERT_TRUE(b) << why;
  EXPECT_EQ(
      state_difference(*a, *b, *interpreted.instruction_count(), *translated.instruction_count()),
      "");
  EXPECT_GT(translated.translation_flushes(), 2u);
}

// A loop that rewrites the immediate of the instruction after the store, in its own block: the
// translated block must stop after the store, as the interpreter does, and run the new code.
TEST(EmuTranslator, SelfModifyingLoopRunsTheNewCode) {
  const std::string source = R"(
  mov ecx, 200
  xor ebx, ebx
top:
  mov [rel patch + 1], ecx
patch:
  mov eax, 0x11111111
  add ebx, eax
  dec ecx
  jnz top
  out 0x80, al
)";
  std::vector<uint64_t> results;
  for (bool translate : {false, true}) {
    EmuMachine m(Mode::kLong64, 16 << 20, translate);
    m.load(source);
    ASSERT_EQ(run_past_kicks(m.engine).reason, ExitReason::kIo);
    results.push_back(m.state().gpr[kRbx]);
    results.push_back(*m.engine.instruction_count());
  }
  EXPECT_EQ(results[0], 200u * 201u / 2);
  EXPECT_EQ(results[0], results[2]);
  EXPECT_EQ(results[1], results[3]);
}

// A port read and an MMIO load inside a loop stop the run at the read and run the instruction
// again with the machine's answer; every exit must come at the same count and RIP.
TEST(EmuTranslator, DeviceReadsInHotLoopsStopAtTheSameInstructions) {
  const std::string source = R"(
  mov ecx, 300
  xor ebx, ebx
top:
  add ebx, ecx
  in al, 0x60
  movzx eax, al
  mov esi, 0xfec00000
  mov edx, [rsi]
  add ebx, edx
  add ebx, eax
  out 0x61, al
  lea edx, [rbx + rcx*2 + 1]
  dec ecx
  jnz top
  out 0x80, al
)";
  std::vector<std::vector<uint64_t>> exits(2);
  for (bool translate : {false, true}) {
    EmuMachine m(Mode::kLong64, 16 << 20, translate);
    m.load(source);
    for (;;) {
      Exit& e = run_past_kicks(m.engine);
      exits[translate].push_back(*m.engine.instruction_count());
      exits[translate].push_back(m.engine.exit_rip());
      if (e.reason == ExitReason::kMmio) {
        ASSERT_FALSE(e.mmio.write);
        std::memset(e.mmio.data, int(*m.engine.instruction_count() % 251), e.mmio.size);
        continue;
      }
      ASSERT_EQ(e.reason, ExitReason::kIo) << e.detail;
      if (e.io.port == 0x80) break;
      if (!e.io.write) e.io.data[0] = uint8_t(*m.engine.instruction_count() * 7);
    }
    exits[translate].push_back(m.state().gpr[kRbx]);
    exits[translate].push_back(m.state().gpr[kRdx]);
    if (translate) {
      EXPECT_GT(m.engine.translated_blocks(), 0u);
    }
  }
  EXPECT_EQ(exits[0], exits[1]);
}

} // namespace
} // namespace rrvm::test
