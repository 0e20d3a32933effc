// The translator against the interpreter in every mode the interpreter runs: random instruction
// sequences looped twelve times (so their blocks run translated; most jump halfway) in real mode,
// 16-bit and 32-bit protected mode (without paging, with 4 KiB pages, 4 MiB pages and PAE), and
// long mode at ring 0 and ring 3; some continue into the next page, so two-page blocks run too. A
// third of them fault in the last round, in the middle of a translated block (#DE, #GP, #PF on a
// page not present, and #OF in real mode, where the interpreter checks no segment limits); a
// handler per vector reports it with OUT 0x81. Registers, flags, CR2, memory (the exception frame
// too), the instruction count and the exit must match, for the whole run and for a run stopped at a
// random instruction limit and continued.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <sstream>

#include "tests/emu/differential_harness.h"
#include "tests/emu/run_difference.h"
#include "tests/emu/sequence_generator.h"
#include "vmm/emu/cpu.h"
#include "vmm/emu/testing/emu_machine.h"

namespace rrvm::test {
namespace {

enum class Env {
  kReal,
  kProtected16,
  kProtected32,
  kPaged4K,
  kPaged4M,
  kPagedPae,
  kLongRing0,
  kLongRing3
};

// Physical layout: everything the sequences touch lies below kCompared.
// Sequence i at kCode + i * kSlot: every fourth starts 0x80 before a page end, and its longer
// bodies continue into the next page.
constexpr uint64_t kCode = 0x30380;
constexpr uint64_t kData = 0x20000;   // data, and the 16-bit modes' stack segment
constexpr uint64_t kStubs = 0x8000;   // vector v's handler: mov al, v; out 0x81, al
constexpr uint64_t kIdt = 0x9000;     // gates for vectors 0-31
constexpr uint64_t kTables = 0xa0000; // the 32-bit modes' page tables
constexpr uint64_t kCompared = 0x100000;
constexpr uint64_t kAlias = 0x400000;    // paged 32-bit modes: linear kAlias + p is physical p
constexpr uint64_t kUnmapped = 0x800000; // paged 32-bit modes: not present
constexpr uint64_t kUnmapped64 = 0x40000000;
constexpr unsigned kVectors = 32;
constexpr unsigned kSequencesPerMode = 150;
constexpr uint8_t kFaultPort = 0x81;

bool paged32(Env env) {
  return env == Env::kPaged4K || env == Env::kPaged4M || env == Env::kPagedPae;
}
bool long_mode(Env env) {
  return env == Env::kLongRing0 || env == Env::kLongRing3;
}
unsigned code_bits(Env env) {
  return env == Env::kReal || env == Env::kProtected16 ? 16 : long_mode(env) ? 64 : 32;
}
uint64_t linear_offset(Env env) {
  return paged32(env) ? kAlias : 0;
}

// A 16-bit code or data descriptor with a 64 KiB byte-granular limit.
uint64_t descriptor16(uint64_t base, bool code) {
  return 0xffff | (base & 0xffffff) << 16 | uint64_t(code ? 0x9b : 0x93) << 40 | (base >> 24) << 56;
}

// The 16-bit protected mode's segments: 0x40 code (its base moves to each sequence), 0x48 data.
constexpr uint16_t kCode16 = 0x40, kData16 = 0x48;

// What every run of `env` needs besides the code: descriptors, gates, handlers, page tables.
void write_environment(GuestMemory& m, Env env) {
  const bool wide = long_mode(env);
  for (unsigned v = 0; v < kVectors; ++v) {
    const uint64_t stub = kStubs + 4 * v;
    const uint8_t bytes[] = {0xb0, uint8_t(v), 0xe6, kFaultPort}; // the same in every mode
    std::memcpy(m.host() + stub, bytes, sizeof bytes);
    if (env == Env::kReal) {
      m.store<uint32_t>(4 * v, uint32_t(kStubs >> 4) << 16 | uint32_t(4 * v));
      continue;
    }
    const uint64_t low = (stub & 0xffff) | uint64_t(wide ? 0x18 : 0x08) << 16 |
                         uint64_t(0x8e00) << 32 | ((stub >> 16) & 0xffff) << 48;
    m.store<uint64_t>(kIdt + (wide ? 16 : 8) * v, low);
    if (wide) m.store<uint64_t>(kIdt + 16 * v + 8, stub >> 32);
  }
  m.store<uint64_t>(0x500 + kData16, descriptor16(kData, false));
  m.store<uint64_t>(0x604, 0x70000); // RSP0, for faults at ring 3
  std::memset(m.host() + kTables, 0, 0x4000);
  switch (env) {
  case Env::kPaged4K: // one table maps 0-4 MiB, at 0 and at kAlias
    m.store<uint32_t>(kTables, uint32_t(kTables + 0x1000) | 7);
    m.store<uint32_t>(kTables + 4, uint32_t(kTables + 0x1000) | 7);
    for (uint32_t i = 0; i < 1024; ++i)
      m.store<uint32_t>(kTables + 0x1000 + 4 * i, i << 12 | 7);
    break;
  case Env::kPaged4M:
    m.store<uint32_t>(kTables, 0x87);
    m.store<uint32_t>(kTables + 4, 0x87);
    break;
  case Env::kPagedPae: // 2 MiB pages at 0; at kAlias 4 KiB pages, then a 2 MiB page
    m.store<uint64_t>(kTables, (kTables + 0x1000) | 1);
    m.store<uint64_t>(kTables + 0x1000, 0x87);
    m.store<uint64_t>(kTables + 0x1008, 0x200000 | 0x87);
    m.store<uint64_t>(kTables + 0x1010, (kTables + 0x2000) | 7);
    m.store<uint64_t>(kTables + 0x1018, 0x200000 | 0x87);
    for (uint64_t i = 0; i < 512; ++i)
      m.store<uint64_t>(kTables + 0x2000 + 8 * i, i << 12 | 7);
    break;
  default:
    break;
  }
}

// The state sequence `i` starts from (its code at kCode + i * kSlot), registers from `rng`.
CpuState start_state(GuestMemory& m, Env env, unsigned i, std::mt19937_64& rng) {
  const uint64_t code = kCode + uint64_t(i) * kSlot;
  CpuState s = env == Env::kLongRing3 ? ring3_state(m)
               : long_mode(env)       ? initial_state(Mode::kLong64, m)
               : env == Env::kReal    ? initial_state(Mode::kReal, m)
                                      : initial_state(Mode::kProtected32, m);
  for (unsigned r = 0; r < 16; ++r)
    s.gpr[r] =
        rng() % 4 == 0 ? std::array<uint64_t, 4>{0, 1, ~0ull, 0x80000000ull}[rng() % 4] : rng();
  if (!long_mode(env))
    for (auto& r : s.gpr)
      r &= 0xffffffff;
  s.rflags = (s.rflags & ~kAll) | (rng() & kAll);
  s.gdt.limit = 0x4f;
  s.idt = {kIdt, uint16_t(kVectors * (long_mode(env) ? 16 : 8) - 1)};
  s.rip = linear_offset(env) + code;
  switch (env) {
  case Env::kReal:
    s.idt = {0, 0x3ff};
    s.cs.selector = uint16_t(code >> 4);
    s.cs.base = code;
    s.rip = 0;
    for (Segment* g : {&s.ds, &s.es, &s.ss}) {
      g->selector = uint16_t(kData >> 4);
      g->base = kData;
    }
    s.gpr[kRbx] = 0;
    s.gpr[kRsp] = 0xfff0;
    break;
  case Env::kProtected16:
    m.store<uint64_t>(0x500 + kCode16, descriptor16(code, true));
    s.cs = emu::Cpu::unpack_descriptor(kCode16, descriptor16(code, true));
    s.ds = s.es = s.ss = emu::Cpu::unpack_descriptor(kData16, descriptor16(kData, false));
    s.rip = 0;
    s.gpr[kRbx] = 0;
    s.gpr[kRsp] = 0xfff0;
    break;
  case Env::kProtected32:
  case Env::kPaged4K:
  case Env::kPaged4M:
  case Env::kPagedPae:
    s.gpr[kRbx] = linear_offset(env) + kData;
    s.gpr[kRsp] = linear_offset(env) + kStackTop;
    if (paged32(env)) {
      s.cr0 |= cr0::kPG | cr0::kWP;
      s.cr3 = kTables;
      s.cr4 = env == Env::kPaged4M ? cr4::kPSE : env == Env::kPagedPae ? cr4::kPAE : 0;
    }
    break;
  case Env::kLongRing0:
  case Env::kLongRing3:
    s.gpr[kR15] = kData;
    s.gpr[kRsp] = kStackTop;
    break;
  }
  return s;
}

// An access, division or segment load that faults only in the loop's last round (its counter,
// at [base + 8], is 1 then): through CMOVcc, so the block stays one block.
std::string fault_probe(Env env, std::mt19937_64& rng) {
  const unsigned bits = code_bits(env);
  const std::string base = bits == 64 ? "r15" : bits == 32 ? "ebx" : "bx";
  const std::string width = bits == 64 ? "qword" : "dword";
  const std::string ax = bits == 64 ? "rax" : "eax", cx = bits == 64 ? "rcx" : "ecx";
  const std::string last =
      "cmp " + width + " [" + base + " + 8], 1\ncmove " + ax + ", " + cx + "\n";
  std::ostringstream t;
  switch (rng() % 3) {
  case 0: // #DE
    t << "mov " << cx << ", [" << base << " + 8]\ndec " << cx << "\nmov eax, 1000\n"
      << "xor edx, edx\ndiv " << cx << "\n";
    break;
  case 1:                  // #GP
    if (env == Env::kReal) // #OF instead: the interpreter checks no real-mode limits
      t << "mov eax, 0\nmov ecx, 0x7f\n" << last << "add al, 1\ninto\n";
    else if (bits == 16) // an offset past the 64 KiB limit
      t << "mov eax, 0x100\nmov ecx, 0x10000\n" << last << "mov dx, [eax]\n";
    else if (bits == 32) // a selector past the GDT's limit
      t << "mov eax, 0x10\nmov ecx, 0xfff8\n" << last << "mov fs, ax\n";
    else // a non-canonical address
      t << "lea rax, [r15 + 0x100]\nmov rcx, 0x8000000000000000\n" << last << "mov rdx, [rax]\n";
    break;
  default: // #PF on a page not present, read or write; another fault where nothing is paged
    if (!paged32(env) && !long_mode(env)) return fault_probe(env, rng);
    t << "lea " << ax << ", [" << base << " + 0x100]\nmov " << cx << ", "
      << (bits == 64 ? kUnmapped64 : kUnmapped) + rng() % 0x1000 << "\n"
      << last << (rng() % 2 ? "mov edx, [" + ax + "]\n" : "mov [" + ax + "], edx\n");
  }
  return t.str();
}

std::string sequence(Env env, unsigned i, SequenceGenerator& gen64, LegacySequenceGenerator& gen,
                     std::mt19937_64& rng) {
  const unsigned bits = code_bits(env);
  const std::string base = bits == 64 ? "r15" : bits == 32 ? "ebx" : "bx";
  const std::string width = bits == 64 ? "qword" : "dword";
  auto body = [&](unsigned n) {
    uint64_t undefined;
    return bits == 64 ? gen64.body(n, &undefined) : gen.body(n);
  };
  const unsigned n = 4 + i % 24;
  std::string s =
      "mov " + width + " [" + base + " + 8], 12\ntop" + std::to_string(i) + ":\n" + body(n / 2);
  // Two of three loops jump over a UD2 halfway, with a short or a near JMP.
  if (i % 3 != 0)
    s += std::string(i % 3 == 1 ? "jmp short" : "jmp near") + " over" + std::to_string(i) +
         "\nud2\nover" + std::to_string(i) + ":\n";
  if (rng() % 3 == 0) s += fault_probe(env, rng);
  return s + body(n - n / 2) + "dec " + width + " [" + base + " + 8]\njnz top" + std::to_string(i) +
         "\nout 0x80, al\n";
}

struct Outcome {
  CpuState state;
  uint64_t count;
  ExitReason reason;
  uint16_t port;
};

// Runs to the next exit that is not a kick.
Outcome run(EmuEngine& e) {
  const Exit& x = run_past_kicks(e);
  return {e.state(), *e.instruction_count(), x.reason,
          x.reason == ExitReason::kIo ? x.io.port : uint16_t(0)};
}

std::string difference(const Outcome& a, const Outcome& b) {
  return RunDifference()
      .registers(a.state, b.state)
      .field("cs", a.state.cs.selector, b.state.cs.selector)
      .field("fs", a.state.fs.selector, b.state.fs.selector)
      .count(a.count, b.count)
      .field("exit", uint64_t(a.reason), uint64_t(b.reason))
      .field("port", a.port, b.port)
      .str();
}

class TranslatorModes : public ::testing::TestWithParam<Env> {};

TEST_P(TranslatorModes, RandomHotSequencesMatchTheInterpreter) {
  const Env env = GetParam();
  SequenceGenerator gen64(20261201 + unsigned(env));
  LegacySequenceGenerator gen(77 + unsigned(env), code_bits(env));
  std::mt19937_64 rng(31 + unsigned(env));
  std::vector<std::string> sources(kSequencesPerMode);
  std::ostringstream all;
  for (unsigned i = 0; i < kSequencesPerMode; ++i) {
    sources[i] = sequence(env, i, gen64, gen, rng);
    all << sources[i] << "times " << (i + 1) * kSlot << " - ($ - $$) db 0xcc\n";
  }
  const std::vector<uint8_t> code =
      assemble(all.str(), code_bits(env), code_bits(env) == 16 ? 0 : linear_offset(env) + kCode);
  ASSERT_LE(code.size(), kSequencesPerMode * kSlot) << "a sequence outgrew its slot";
  unsigned crossing = 0; // sequences with code at their next page's start
  for (unsigned i = 3; i < kSequencesPerMode; i += 4)
    crossing += code[i * kSlot + 0x80] != 0xcc;
  EXPECT_GE(crossing, kSequencesPerMode / 16);

  GuestMemory interpreted_memory(kRam), translated_memory(kRam);
  EmuEngine interpreted(interpreted_memory, CpuidTable::emulated(), false);
  EmuEngine translated(translated_memory, CpuidTable::emulated(), true);
  std::vector<uint8_t> data(0x2000);
  unsigned failures = 0, faulted = 0;
  for (unsigned i = 0; i < kSequencesPerMode && failures < 5; ++i) {
    CpuState s;
    for (auto& b : data)
      b = uint8_t(rng());
    // Both memories start each run alike: the environment, the data, the code.
    auto prepare = [&] {
      for (GuestMemory* m : {&interpreted_memory, &translated_memory}) {
        std::memset(m->host(), 0, kCompared);
        std::mt19937_64 same(i);
        write_environment(*m, env);
        s = start_state(*m, env, i, same);
        std::memcpy(m->host() + kData, data.data(), data.size());
        std::memcpy(m->host() + kCode, code.data(), code.size());
      }
    };
    auto memory_difference = [&] {
      return std::memcmp(interpreted_memory.host(), translated_memory.host(), kCompared) != 0
                 ? std::string("memory differs\n")
                 : std::string();
    };

    prepare();
    Outcome whole[2];
    for (EmuEngine* e : {&interpreted, &translated}) {
      e->set_state(s);
      e->set_instruction_count(0);
      whole[e == &translated] = run(*e);
    }
    ASSERT_EQ(whole[0].reason, ExitReason::kIo) << sources[i];
    faulted += whole[0].port == kFaultPort;
    std::string diff = difference(whole[0], whole[1]) + memory_difference();

    const uint64_t total = whole[0].count;
    const uint64_t limit = 1 + rng() % total;
    prepare();
    Outcome stopped[2], continued[2];
    for (EmuEngine* e : {&interpreted, &translated}) {
      e->set_state(s);
      e->set_instruction_count(0);
      e->set_instruction_limit(limit);
      stopped[e == &translated] = run(*e);
      e->set_instruction_limit(std::nullopt);
      continued[e == &translated] = limit == total ? stopped[e == &translated] : run(*e);
    }
    diff += difference(stopped[0], stopped[1]) + difference(continued[0], continued[1]) +
            memory_difference();
    if (!diff.empty()) {
      ++failures;
      ADD_FAILURE() << "sequence " << i << " (limit " << limit << " of " << total << "):\n"
                    << sources[i] << "\n"
                    << diff;
    }
  }
  EXPECT_GE(faulted, kSequencesPerMode / 5);
  EXPECT_GE(translated.translated_blocks(), kSequencesPerMode); // each loop runs translated
}

std::string env_name(const ::testing::TestParamInfo<Env>& info) {
  static const char* kNames[] = {"Real",    "Protected16", "Protected32", "Paged4K",
                                 "Paged4M", "PagedPae",    "LongRing0",   "LongRing3"};
  return kNames[unsigned(info.param)];
}

INSTANTIATE_TEST_SUITE_P(Modes, TranslatorModes,
                         ::testing::Values(Env::kReal, Env::kProtected16, Env::kProtected32,
                                           Env::kPaged4K, Env::kPaged4M, Env::kPagedPae,
                                           Env::kLongRing0, Env::kLongRing3),
                         env_name);

} // namespace
} // namespace rrvm::test
