// The translator's inline memory forms (stores, ALU with a memory source, PUSH/POP, CALL/RET)
// against the interpreter: random hot loops of them in 64- and 32-bit code, and each way their
// fast path must give way to the handler (faults, page crossings, self-modifying code, MMIO,
// watchpoints, a 16-bit stack, instruction limits), must leave the same registers, flags, memory,
// written-page marks, counts and exits.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <sstream>

#include "tests/emu/run_difference.h"
#include "vmm/emu/testing/emu_machine.h"

namespace rrvm::test {
namespace {

constexpr uint64_t kData = kDataAddr;      // the random sequences' data buffer, 0x2000 bytes
constexpr uint64_t kReadOnly = 0x800000;   // a 2 MiB page the long-mode tests map read-only
constexpr uint64_t kNotPresent = 0xc00000; // and one they leave unmapped
constexpr uint64_t kMmio = 0xfec00000;

// One run to its final OUT to port 0x80 (or any other exit that ends it): every exit with its
// count and RIP, then the state.
struct Outcome {
  std::vector<std::string> exits;
  CpuState state;
  uint64_t count = 0;
  uint64_t translated = 0;
};

using Setup = std::function<void(EmuMachine&)>;

Outcome run(EmuMachine& machine, const std::string& source, const Setup& setup,
            std::optional<uint64_t> limit) {
  EmuMachine* m = &machine;
  m->load(source);
  if (setup) setup(*m);
  m->engine.set_instruction_limit(limit);
  m->memory.clear_written(); // from here on, the engine's writes mark their pages
  Outcome o;
  for (unsigned n = 0; n < 2000; ++n) {
    Exit& e = run_past_kicks(m->engine);
    const uint64_t count = *m->engine.instruction_count();
    std::ostringstream x;
    x << exit_reason_name(e.reason) << " at " << count << " rip " << std::hex
      << m->engine.exit_rip();
    if (e.reason == ExitReason::kMmio) {
      x << (e.mmio.write ? " write " : " read ") << e.mmio.gpa;
      if (e.mmio.write) {
        uint64_t v = 0;
        std::memcpy(&v, e.mmio.data, e.mmio.size);
        x << " = " << v;
      } else {
        std::memset(e.mmio.data, int(count % 251), e.mmio.size);
      }
      o.exits.push_back(x.str());
      continue;
    }
    if (e.reason == ExitReason::kDebug) {
      x << " watch " << e.debug.address;
      o.exits.push_back(x.str());
      continue;
    }
    o.exits.push_back(x.str());
    if (e.reason == ExitReason::kInstructionLimit) {
      // The pages written from here on, when the loop's blocks run translated: their first
      // writes took the slow path, which marks pages too.
      m->memory.clear_written();
      m->engine.set_instruction_limit(std::nullopt);
      continue;
    }
    if (e.reason == ExitReason::kIo && e.io.port != 0x80) continue;
    break;
  }
  o.state = m->state();
  o.count = *m->engine.instruction_count();
  o.translated = m->engine.translated_blocks();
  return o;
}

// What differs between the interpreter's run and the translator's; empty when nothing does. The
// translator must have translated something, or the comparison says nothing.
std::string differences(Mode mode, const std::string& source, const Setup& setup = nullptr,
                        std::optional<uint64_t> limit = std::nullopt) {
  auto interpreted = std::make_unique<EmuMachine>(mode, 16 << 20, false);
  auto translated = std::make_unique<EmuMachine>(mode, 16 << 20, true);
  const Outcome a = run(*interpreted, source, setup, limit);
  const Outcome b = run(*translated, source, setup, limit);
  std::ostringstream d;
  d << RunDifference()
           .exits(a.exits, b.exits)
           .registers(a.state, b.state)
           .count(a.count, b.count)
           .str();
  if (std::memcmp(interpreted->memory.host(), translated->memory.host(),
                  interpreted->memory.size()) != 0)
    d << "memory differs\n";
  if (interpreted->memory.written() != translated->memory.written()) d << "written pages differ\n";
  if (b.translated == 0) d << "nothing was translated\n";
  return d.str();
}

// Long mode with an IDT at 0x30000 whose #GP, #SS and #PF handlers leave the vector in r8, the
// error code in r9 and the faulting RIP in r10, then end the run.
std::string long_prologue() {
  return R"(
%macro gate 1
  mov eax, fault%1
  mov word [0x30000 + %1 * 16], ax
  mov word [0x30000 + %1 * 16 + 2], cs
  mov word [0x30000 + %1 * 16 + 4], 0x8e00
  shr eax, 16
  mov word [0x30000 + %1 * 16 + 6], ax
  mov dword [0x30000 + %1 * 16 + 8], 0
%endmacro
%macro handler 1
fault%1:
  mov r8d, %1
  pop r9
  pop r10
  out 0x80, al
%endmacro
  jmp setup
  handler 12
  handler 13
  handler 14
idtr:
  dw 256 * 16 - 1
  dq 0x30000
setup:
  gate 12
  gate 13
  gate 14
  lidt [idtr]
)";
}

// Maps kReadOnly's 2 MiB page read-only and leaves kNotPresent's unmapped (identity paging,
// tables at 0x1000-0x3fff); nothing is cached yet when this runs.
void restrict_pages(EmuMachine& m) {
  m.memory.store<uint64_t>(0x3000 + 8 * (kReadOnly >> 21), kReadOnly | 0x85);
  m.memory.store<uint64_t>(0x3000 + 8 * (kNotPresent >> 21), 0);
}

// ---- random hot loops ----

struct Registers {
  std::vector<std::string> r64, r32, r16, r8;
};

// The registers random code may use: not the stack pointer, the data base or the loop counter.
const Registers& registers(bool wide) {
  static const Registers kWide = {
      {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11", "r12", "r13"},
      {"eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "r8d", "r9d", "r10d", "r11d", "r12d",
       "r13d"},
      {"ax", "bx", "cx", "dx", "si", "di", "bp", "r8w", "r9w", "r10w"},
      {"al", "bl", "cl", "dl", "sil", "dil", "r8b", "r9b", "r10b"}};
  static const Registers kNarrow = {{},
                                    {"eax", "ebx", "ecx", "edx", "esi"},
                                    {"ax", "bx", "cx", "dx", "si"},
                                    {"al", "bl", "cl", "dl", "ah", "bh", "ch", "dh"}};
  return wide ? kWide : kNarrow;
}

// A loop body of the inline memory forms and their fallbacks: stores of every size (some crossing
// a page boundary), ALU with a memory source, PUSH/POP of registers and immediates, CALLs to
// small functions that RET. `base` holds the data buffer's address.
struct RandomCode {
  std::string body, functions;
};

RandomCode random_code(std::mt19937_64& rng, unsigned n, unsigned id, bool wide,
                       const std::string& base) {
  static const char* kAlu[] = {"add", "or", "and", "sub", "xor", "cmp", "mov", "test"};
  static const char* kSize[] = {"byte", "word", "dword", "qword"};
  const Registers& regs = registers(wide);
  auto pick = [&](size_t k) { return size_t(rng() % k); };
  auto any = [&](const std::vector<std::string>& v) { return v[pick(v.size())]; };
  // An offset in the 0x2000-byte buffer for `bytes`, often near the page boundary at 0x1000.
  auto offset = [&](unsigned bytes) {
    return pick(3) ? pick(0x2000 - bytes + 1) : 0x1000 - bytes + pick(2 * bytes - 1);
  };
  std::ostringstream t, f;
  int depth = 0; // pushes not yet popped in this body
  unsigned calls = 0;
  for (unsigned i = 0; i < n; ++i) {
    const unsigned sizes = wide ? 4 : 3;
    switch (pick(9)) {
    case 0:
    case 1: { // store of a register
      const unsigned s = unsigned(pick(sizes));
      const std::string& r = any(s == 0   ? regs.r8
                                 : s == 1 ? regs.r16
                                 : s == 2 ? regs.r32
                                          : regs.r64);
      t << "mov [" << base << " + " << offset(1u << s) << "], " << r << "\n";
      break;
    }
    case 2: { // store of an immediate
      const unsigned s = unsigned(pick(sizes));
      const int64_t value = s == 0   ? int64_t(rng() >> 56)
                            : s == 1 ? int64_t(rng() >> 48)
                                     : int64_t(int32_t(rng()));
      t << "mov " << kSize[s] << " [" << base << " + " << offset(1u << s) << "], " << value << "\n";
      break;
    }
    case 3:
      if (pick(2)) { // ALU with a memory destination; a byte one with an immediate
        const bool q = wide && pick(2);
        if (pick(4) == 0) {
          t << kAlu[pick(8)] << " byte [" << base << " + " << offset(1) << "], " << int(rng() >> 56)
            << "\n";
          break;
        }
        t << kAlu[pick(8)] << " " << (q ? "qword" : "dword") << " [" << base << " + "
          << offset(q ? 8 : 4) << "], ";
        if (pick(2))
          t << any(q ? regs.r64 : regs.r32) << "\n";
        else
          t << int32_t(rng()) << "\n";
        break;
      }
      [[fallthrough]];
    case 4: { // ALU with a memory source
      const bool q = wide && pick(2);
      t << kAlu[pick(8)] << " " << any(q ? regs.r64 : regs.r32) << ", [" << base << " + "
        << offset(q ? 8 : 4) << "]\n";
      break;
    }
    case 5:
      if (pick(2)) { // a load with extension
        const bool q = wide && pick(2);
        const unsigned from = unsigned(pick(q ? 3 : 2));
        t << (from == 2 ? "movsxd "
              : pick(2) ? "movzx "
                        : "movsx ")
          << any(q ? regs.r64 : regs.r32) << ", " << kSize[from] << " [" << base << " + "
          << offset(1u << from) << "]\n";
        break;
      }
      // a register ALU operation, so values move
      t << kAlu[pick(8)] << " " << any(wide ? regs.r64 : regs.r32) << ", "
        << any(wide ? regs.r64 : regs.r32) << "\n";
      break;
    case 6:
      if (pick(3) == 0)
        t << "push " << int32_t(rng() >> 40) << "\n";
      else
        t << "push " << any(wide ? regs.r64 : regs.r32) << "\n";
      ++depth;
      break;
    case 7:
      if (depth > 0) {
        t << "pop " << any(wide ? regs.r64 : regs.r32) << "\n";
        --depth;
      } else {
        t << "mov " << any(regs.r32) << ", [" << (wide ? "rsp" : "esp") << " - 16]\n";
      }
      break;
    default: { // a call to a function that stores, loads and returns
      const std::string name = "fn" + std::to_string(id) + "_" + std::to_string(calls++);
      t << "call " << name << "\n";
      f << name << ":\n"
        << "mov [" << base << " + " << offset(4) << "], " << any(regs.r32) << "\n"
        << "add " << any(regs.r32) << ", [" << (wide ? "rsp" : "esp") << "]\n"
        << "ret\n";
    }
    }
  }
  for (; depth > 0; --depth)
    t << "pop " << any(wide ? regs.r64 : regs.r32) << "\n";
  return {t.str(), f.str()};
}

// 100 random loops, twelve rounds each (their blocks are translated from the fourth), each run
// whole and once stopped at a random instruction limit and continued.
void random_loops(Mode mode, uint64_t seed) {
  const bool wide = mode == Mode::kLong64;
  std::mt19937_64 rng(seed);
  unsigned failures = 0;
  for (unsigned i = 0; i < 100 && failures < 3; ++i) {
    const std::string base = wide ? "r15" : "edi";
    const std::string counter = wide ? "r14d" : "ebp";
    const RandomCode code = random_code(rng, 4 + i % 24, i, wide, base);
    std::ostringstream source;
    source << "mov " << base << ", " << kData << "\n";
    const Registers& regs = registers(wide);
    for (const std::string& r : regs.r32)
      source << "mov " << r << ", " << uint32_t(rng() >> (rng() % 32)) << "\n";
    source << "mov " << counter << ", 12\ntop:\n"
           << code.body << "dec " << counter << "\njnz top\nout 0x80, al\n"
           << code.functions;
    std::string diff = differences(mode, source.str());
    const uint64_t limit = 20 + rng() % 200;
    diff += differences(mode, source.str(), nullptr, limit);
    if (!diff.empty()) {
      ++failures;
      ADD_FAILURE() << "sequence " << i << " (limit " << limit << "):\n"
                    << source.str() << "\n"
                    << diff;
    }
  }
}

TEST(EmuTranslatorMemory, RandomLoopsInLongModeMatchTheInterpreter) {
  random_loops(Mode::kLong64, 1);
}

TEST(EmuTranslatorMemory, RandomLoopsInProtectedModeMatchTheInterpreter) {
  random_loops(Mode::kProtected32, 2);
}

// ---- where the fast path gives way ----

// A hot loop of stores walking towards `target`: the last one faults inside a translated block,
// which must leave RIP, the count and the pushed frame on the store.
std::string walk_into(uint64_t target, const std::string& store) {
  std::ostringstream s;
  s << long_prologue() << "mov rdi, " << target - 64 * 8 << "\nxor ebx, ebx\nmov ecx, 1000\n"
    << "top:\nadd ebx, ecx\n"
    << store << "\nadd rdi, 8\ninc ebx\ndec ecx\njnz top\nout 0x80, al\n";
  return s.str();
}

TEST(EmuTranslatorMemory, StoreToAReadOnlyPageFaultsOnTheStore) {
  EXPECT_EQ(differences(Mode::kLong64, walk_into(kReadOnly, "mov [rdi], rbx"), restrict_pages), "");
  EXPECT_EQ(differences(Mode::kLong64, walk_into(kReadOnly, "mov dword [rdi], 7"), restrict_pages),
            "");
}

TEST(EmuTranslatorMemory, StoreToANotPresentPageFaultsOnTheStore) {
  EXPECT_EQ(differences(Mode::kLong64, walk_into(kNotPresent, "mov [rdi], ebx"), restrict_pages),
            "");
}

TEST(EmuTranslatorMemory, AluLoadFromANotPresentPageFaultsOnTheLoad) {
  EXPECT_EQ(differences(Mode::kLong64, walk_into(kNotPresent, "add ebx, [rdi]"), restrict_pages),
            "");
  EXPECT_EQ(differences(Mode::kLong64, walk_into(kNotPresent, "cmp rbx, [rdi]"), restrict_pages),
            "");
}

// NOPs touch no memory, whatever their operand (the 5-byte NOP every kernel function starts with
// names one): inline they are no code at all, and walked into a page nothing maps they fault in
// neither engine; instruction limits between them stop at the same place.
TEST(EmuTranslatorMemory, NopsTouchNoMemory) {
  for (const char* nop :
       {"nop dword [rdi]", "db 0x0f, 0x1f, 0x44, 0x00, 0x00", "nop word [rdi + rbx * 8 + 0x100]",
        "pause", "lfence", "prefetcht0 [rdi]", "nop\nnop\nnop dword [rdi]"})
    EXPECT_EQ(differences(Mode::kLong64, walk_into(kNotPresent, nop), restrict_pages), "") << nop;
  const std::string source = walk_into(kNotPresent, "nop\nnop dword [rdi]\nnop");
  for (uint64_t limit = 200; limit < 220; ++limit)
    EXPECT_EQ(differences(Mode::kLong64, source, restrict_pages, limit), "") << "limit " << limit;
}

TEST(EmuTranslatorMemory, AluOnMemoryFaultsOnTheAccess) {
  // Read, then the write refused; a read-only CMP and TEST pass there, and fault where nothing is
  // mapped.
  EXPECT_EQ(differences(Mode::kLong64, walk_into(kReadOnly, "add [rdi], rbx"), restrict_pages), "");
  EXPECT_EQ(
      differences(Mode::kLong64, walk_into(kReadOnly, "xor dword [rdi], 0x55"), restrict_pages),
      "");
  EXPECT_EQ(differences(Mode::kLong64,
                        walk_into(kReadOnly + 0x1000, "cmp dword [rdi], 9\ntest [rdi + 8], rbx"),
                        restrict_pages),
            "");
  EXPECT_EQ(
      differences(Mode::kLong64, walk_into(kNotPresent, "test dword [rdi], 9"), restrict_pages),
      "");
}

TEST(EmuTranslatorMemory, PageCrossingStoresTakeTheHandler) {
  // Into the next page (both halves written), and into a read-only one (nothing written).
  EXPECT_EQ(differences(Mode::kLong64, walk_into(0x40000, "mov [rdi + 3], rbx"), restrict_pages),
            "");
  EXPECT_EQ(differences(Mode::kLong64, walk_into(kReadOnly, "mov [rdi + 5], rbx"), restrict_pages),
            "");
}

TEST(EmuTranslatorMemory, PushIntoANotPresentPageFaults) {
  // The fault handler's own pushes fault too: the double fault ends in a shutdown, which must
  // come at the same count with the same state.
  const std::string source = long_prologue() + R"(
  mov rsp, )" + std::to_string(kNotPresent + (2 << 20) + 64 * 8) +
                             R"(
  mov ecx, 1000
top:
  push rcx
  pop rax
  push rax
  dec ecx
  jnz top
  out 0x80, al
)";
  EXPECT_EQ(differences(Mode::kLong64, source, restrict_pages), "");
}

TEST(EmuTranslatorMemory, CallAndRetThroughAPageCrossingStack) {
  const std::string source = long_prologue() + R"(
  mov rsp, 0x50004
  mov ecx, 100
top:
  call fn
  add ebx, eax
  push rbx
  pop rdx
  dec ecx
  jnz top
  out 0x80, al
fn:
  lea eax, [rcx + 3]
  sub rsp, 1
  push rax
  pop rax
  add rsp, 1
  ret
)";
  EXPECT_EQ(differences(Mode::kLong64, source), "");
}

// Every sixteenth round, the stores hit the translated block's own code: the first one's slow
// path invalidates the running block (its page loses its cached code), which must stop right after
// it and run the new code.
TEST(EmuTranslatorMemory, StoresIntoTheirOwnBlockRunTheNewCode) {
  const std::string source = R"(
  mov ecx, 200
  xor ebx, ebx
  lea rdx, [rel patch + 1]
  mov rsi, 0x20000
top:
  mov rdi, rsi
  test cl, 15
  cmovz rdi, rdx
  mov [rdi], ecx
  add ebx, [rdi]
  push rcx
  mov byte [rdi + 3], 0
  add dword [rdi], 3
  pop r8
patch:
  mov eax, 0x11111111
  add ebx, eax
  dec ecx
  jnz top
  out 0x80, al
)";
  EXPECT_EQ(differences(Mode::kLong64, source), "");
}

// The guest remaps a loop's code page without INVLPG: the loop keeps running the code its TLB
// entry maps until a data access 4 MiB away takes that entry's slot; the next fetch walks the new
// mapping, in the translated loop as in the interpreter.
TEST(EmuTranslatorMemory, ALoopRunsItsRemappedCodeOnceItsTlbEntryIsEvicted) {
  const std::string source = R"(
  lea rsi, [rel old_code]
  mov edi, 0x600000
  mov ecx, new_code - old_code
  rep movsb
  lea rsi, [rel new_code]
  mov edi, 0xa00000
  mov ecx, new_end - new_code
  rep movsb
  xor ecx, ecx
  mov esi, 0xa00000
  mov eax, 0x600000
  jmp rax
old_code:
  mov qword [0x3000 + 8 * 3], 0xa00083
  inc ecx
  mov edx, 0x20000
  cmp ecx, 50
  cmovae rdx, rsi
  mov rax, [rdx]
  cmp ecx, 1000
  jb old_code
  out 0x80, al
new_code:
  mov r11d, 0x1234
  out 0x80, al
new_end:
)";
  EXPECT_EQ(differences(Mode::kLong64, source), "");
}

// Two blocks in two pages jump to each other, so each exit links to the other's translation. The
// guest remaps the second page without INVLPG: the old code runs on until, from round 60, a data
// access 4 MiB away takes that page's TLB slot every round; from then on each jump to it walks the
// new mapping and runs the new code, through the link as through the interpreter's fetch.
TEST(EmuTranslatorMemory, ALinkLeadsToRemappedCodeOnceItsTlbEntryIsEvicted) {
  const std::string source = R"(
  lea rsi, [rel first]
  mov edi, 0x600000
  mov ecx, first_end - first
  rep movsb
  lea rsi, [rel first]
  mov edi, 0xa00000
  mov ecx, first_end - first
  rep movsb
  lea rsi, [rel old_second]
  mov edi, 0x601000
  mov ecx, old_end - old_second
  rep movsb
  lea rsi, [rel new_second]
  mov edi, 0xa01000
  mov ecx, new_end - new_second
  rep movsb
  xor ecx, ecx
  xor ebx, ebx
  mov esi, 0xa01000
  mov eax, 0x600000
  jmp rax
first:
  inc ecx
  mov edx, 0x20000
  cmp ecx, 60
  cmovae rdx, rsi
  mov rax, [rdx]
  cmp ecx, 50
  jne .on
  mov qword [0x3000 + 8 * 3], 0xa00083
.on:
  mov eax, 0x601000
  jmp rax
first_end:
old_second:
  add ebx, 1
  mov eax, 0x600000
  cmp ecx, 1000
  jb .back
  out 0x80, al
.back:
  jmp rax
old_end:
new_second:
  add ebx, 0x10000
  mov eax, 0x600000
  cmp ecx, 1000
  jb .back
  out 0x80, al
.back:
  jmp rax
new_end:
)";
  EXPECT_EQ(differences(Mode::kLong64, source), "");
}

// Once, the stack moves into the code's page: the CALL's return address invalidates its block.
TEST(EmuTranslatorMemory, StackInTheCodePageInvalidates) {
  const std::string source = R"(
  mov ecx, 50
  mov rbp, rsp
  lea rsi, [rel stack_top]
top:
  mov rsp, rbp
  cmp ecx, 10
  cmove rsp, rsi
  call fn
  push rcx
  pop rax
  dec ecx
  jnz top
  out 0x80, al
fn:
  add ebx, ecx
  ret
  times 64 db 0
stack_top:
)";
  EXPECT_EQ(differences(Mode::kLong64, source), "");
}

TEST(EmuTranslatorMemory, MmioStoresStopAtTheSameInstructions) {
  const std::string source = R"(
  mov ecx, 40
  mov rsi, )" + std::to_string(kMmio) +
                             R"(
top:
  mov [0x20000 + rcx * 4], ecx
  add ebx, ecx
  mov [rsi + rcx], ebx
  mov byte [rsi], 5
  add ebx, [rsi + 8]
  dec ecx
  jnz top
  out 0x80, al
)";
  EXPECT_EQ(differences(Mode::kLong64, source), "");
}

TEST(EmuTranslatorMemory, WriteWatchpointsStopAfterTheStore) {
  const std::string source = R"(
  mov ecx, 60
top:
  mov [0x20000 + rcx * 8], rcx
  push rcx
  add ebx, [0x20000 + rcx * 4]
  pop rax
  call fn
  dec ecx
  jnz top
  out 0x80, al
fn:
  ret
)";
  auto watch = [](uint64_t address, WatchKind kind) {
    return [address, kind](EmuMachine& m) {
      const HwBreakpoint points[] = {{address, kind, 8}};
      m.engine.set_hw_breakpoints(points);
    };
  };
  EXPECT_EQ(differences(Mode::kLong64, source, watch(0x20000 + 20 * 8, WatchKind::kWrite)), "");
  EXPECT_EQ(differences(Mode::kLong64, source, watch(0x20000 + 10 * 8, WatchKind::kAccess)), "");
  // A return address pushed under the watch: the stack sits at 0x80000.
  EXPECT_EQ(differences(Mode::kLong64, source, watch(kStackTop - 8, WatchKind::kWrite)), "");
}

// Every limit across a loop's translated rounds: the run stops there and goes on the same.
TEST(EmuTranslatorMemory, LimitsInsideBlocksStopAtTheSameInstruction) {
  const std::string source = R"(
  mov ecx, 12
top:
  mov [0x20000 + rcx * 8], rcx
  push rcx
  add ebx, [0x20000 + rcx * 4]
  mov word [0x20000 + rcx * 2], bx
  call fn
  pop rax
  dec ecx
  jnz top
  out 0x80, al
fn:
  mov byte [0x20100 + rcx], al
  ret
)";
  for (uint64_t limit = 30; limit < 110; ++limit)
    EXPECT_EQ(differences(Mode::kLong64, source, nullptr, limit), "") << "limit " << limit;
}

// PUSH RSP pushes the old value; POP RSP loads the popped one.
TEST(EmuTranslatorMemory, PushAndPopOfTheStackPointer) {
  const std::string source = R"(
  mov ecx, 20
top:
  push rsp
  pop rax
  push rsp
  pop rsp
  add rbx, rax
  dec ecx
  jnz top
  out 0x80, al
)";
  EXPECT_EQ(differences(Mode::kLong64, source), "");
}

// 32-bit code's GDT with room for a descriptor at 0x48.
const std::string kWideGdt = R"(
  jmp setup
gdtr:
  dw 0x57
  dd 0x500
setup:
  lgdt [gdtr]
)";

// A 16-bit stack (SS.B clear) in 32-bit code wraps SP at 64 KiB: PUSH, POP, CALL and RET take
// the handler, whose SP masking the fast path does not do.
TEST(EmuTranslatorMemory, SixteenBitStackInThirtyTwoBitCode) {
  const std::string source = kWideGdt + R"(
  mov dword [0x548], 0x0000ffff
  mov dword [0x54c], 0x00009300
  mov ax, 0x48
  mov ss, ax
  mov esp, 0x12340008
  mov ecx, 30
top:
  push ecx
  call fn
  pop edx
  add ebx, edx
  dec ecx
  jnz top
  out 0x80, al
fn:
  push eax
  pop eax
  ret
)";
  EXPECT_EQ(differences(Mode::kProtected32, source), "");
}

// A data segment with a limit (checked): stores through it take the handler, which raises #GP
// past the limit; without an IDT that ends in a shutdown, at the same count.
TEST(EmuTranslatorMemory, CheckedSegmentStoresTakeTheHandler) {
  const std::string source = kWideGdt + R"(
  mov dword [0x548], 0x000000ff
  mov dword [0x54c], 0x00409302
  mov ax, 0x48
  mov es, ax
  mov ecx, 0
top:
  mov [es:ecx], ecx
  add ebx, [es:ecx]
  add ecx, 4
  jmp top
)";
  EXPECT_EQ(differences(Mode::kProtected32, source), "");
}

// Flat data and stack segments whose base is not 0 (1 MiB) beside a flat ES based at 0: the
// inline code adds no base, so accesses through DS and SS take the handler and land where the
// interpreter's do, even where ES has put the unbased offset's page in the TLB.
TEST(EmuTranslatorMemory, FlatSegmentsWithABaseTakeTheHandler) {
  const std::string source = kWideGdt + R"(
  mov dword [0x548], 0x0000ffff
  mov dword [0x54c], 0x00cf9310
  mov ax, 0x48
  mov ds, ax
  mov ss, ax
  mov esp, 0x8000
  mov ecx, 100
top:
  mov eax, [es:ecx * 4 + 0x1000]
  mov edx, [es:0x7ff8]
  mov [ecx * 4 + 0x1000], ecx
  add ebx, [ecx * 4 + 0x1000]
  add ebx, eax
  push ebx
  call fn
  pop edx
  dec ecx
  jnz top
  out 0x80, al
fn:
  ret
)";
  EXPECT_EQ(differences(Mode::kProtected32, source), "");
}

} // namespace
} // namespace rrvm::test
