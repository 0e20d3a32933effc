// REP STOS and REP MOVS moved a page at a time (string_ops.cc) against the same instructions
// run one iteration per run() (an instruction limit one past the count pauses every REP after
// its first iteration, so nothing is moved in bulk): the same memory, registers, flags,
// written-page marks, instruction counts and exits, with the interpreter and with the
// translator, across pages, backwards, overlapping, into a fault, under a watchpoint, and with
// limits or kicks landing inside the REP.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <sstream>
#include <thread>

#include "tests/emu/run_difference.h"
#include "vmm/emu/testing/emu_machine.h"

namespace rrvm::test {
namespace {

constexpr uint64_t kFill = 0x400000;       // the buffers the programs fill and copy
constexpr uint64_t kNotPresent = 0xc00000; // a 2 MiB page the fault tests leave unmapped
constexpr unsigned kRounds = 6;            // the REP runs translated from the fourth round on

// Each program repeats its body kRounds times (so the translator takes it over), then ends with
// OUT to port 0x80. A #PF ends it there too, with the vector in r8 and the faulting RIP in r10.
std::string program(const std::string& body) {
  std::ostringstream s;
  s << R"(
  jmp setup
page_fault:
  mov r8d, 14
  pop r9
  pop r10
  out 0x80, al
idtr:
  dw 256 * 16 - 1
  dq 0x30000
setup:
  mov eax, page_fault
  mov word [0x30000 + 14 * 16], ax
  mov word [0x30000 + 14 * 16 + 2], cs
  mov word [0x30000 + 14 * 16 + 4], 0x8e00
  shr eax, 16
  mov word [0x30000 + 14 * 16 + 6], ax
  mov dword [0x30000 + 14 * 16 + 8], 0
  lidt [idtr]
  mov ebp, )"
    << kRounds << "\nround:\n"
    << body << "\n  dec ebp\n  jnz round\n  out 0x80, al\n";
  return s.str();
}

using Setup = std::function<void(EmuMachine&)>;

// Fills the buffers (before any setup) with bytes that differ from each other, so a misplaced copy
// shows.
void pattern(EmuMachine& m) {
  for (uint64_t i = 0; i < 0x20000; i += 8)
    m.memory.store<uint64_t>(kFill + i, (kFill + i) * 0x9e3779b97f4a7c15ull);
}

// Leaves kNotPresent's 2 MiB page unmapped (identity paging, page directory at 0x3000).
void unmap(EmuMachine& m) {
  m.memory.store<uint64_t>(0x3000 + 8 * (kNotPresent >> 21), 0);
}

Setup watch(uint64_t address, WatchKind kind) {
  return [address, kind](EmuMachine& m) {
    const HwBreakpoint points[] = {{address, kind, 8}};
    m.engine.set_hw_breakpoints(points);
  };
}

struct Outcome {
  std::vector<std::string> exits; // every exit but the limits, with its count and RIP
  CpuState state;
  uint64_t count = 0;
  uint64_t limits = 0;
  uint64_t translated = 0;
  std::unique_ptr<EmuMachine> machine;
};

// How the run is cut: not at all, one instruction (or REP iteration) per run(), at limits
// `step` apart, or by a thread kicking the engine.
enum class Cut { kNone, kEachIteration, kLimits, kKicks };

Outcome run(const std::string& body, const Setup& setup, bool translate, Cut cut,
            uint64_t step = 0) {
  Outcome o;
  o.machine = std::make_unique<EmuMachine>(Mode::kLong64, 16 << 20, translate);
  EmuMachine& m = *o.machine;
  m.load(program(body));
  pattern(m);
  if (setup) setup(m);
  m.memory.clear_written();
  std::atomic<bool> done{false};
  std::thread kicker;
  if (cut == Cut::kKicks)
    kicker = std::thread([&] {
      while (!done.load()) {
        m.engine.kick();
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    });
  for (;;) {
    const uint64_t now = *m.engine.instruction_count();
    if (cut == Cut::kEachIteration) m.engine.set_instruction_limit(now + 1);
    if (cut == Cut::kLimits) m.engine.set_instruction_limit(now + step);
    Exit& e = m.run();
    const uint64_t count = *m.engine.instruction_count();
    if (e.reason == ExitReason::kInstructionLimit || e.reason == ExitReason::kKicked) {
      EXPECT_TRUE(e.reason == ExitReason::kKicked ||
                  count == now + (cut == Cut::kLimits ? step : 1))
          << "a limit stopped at " << count << ", not at " << now + step;
      ++o.limits;
      continue;
    }
    std::ostringstream x;
    x << exit_reason_name(e.reason) << " at " << count << " rip " << std::hex
      << m.engine.exit_rip();
    if (e.reason == ExitReason::kDebug) x << " watch " << e.debug.address;
    o.exits.push_back(x.str());
    if (e.reason == ExitReason::kIo && e.io.port == 0x80) break;
    if (e.reason != ExitReason::kDebug) break;
  }
  done = true;
  if (kicker.joinable()) kicker.join();
  o.state = m.state();
  o.count = *m.engine.instruction_count();
  o.translated = m.engine.translated_blocks();
  return o;
}

// What differs between two runs; empty when nothing does.
std::string differences(const Outcome& a, const Outcome& b) {
  std::ostringstream d;
  d << RunDifference("reference", "this run")
           .exits(a.exits, b.exits)
           .registers(a.state, b.state)
           .count(a.count, b.count)
           .str();
  const GuestMemory& ma = a.machine->memory;
  const GuestMemory& mb = b.machine->memory;
  if (std::memcmp(ma.host(), mb.host(), ma.size()) != 0) d << "memory differs\n";
  if (ma.written() != mb.written()) d << "written pages differ\n";
  return d.str();
}

// The program run whole by the interpreter and by the translator, and cut as `cut` says, against
// the reference (one iteration per run()); returns the reference for further checks. A program
// that faults in its first round ends before the translator takes it over.
Outcome expect_same(const std::string& body, const Setup& setup = nullptr, Cut cut = Cut::kNone,
                    uint64_t step = 0, bool expect_translated = true) {
  Outcome reference = run(body, setup, false, Cut::kEachIteration);
  for (bool translate : {false, true}) {
    const Outcome o = run(body, setup, translate, cut, step);
    EXPECT_EQ(differences(reference, o), "") << (translate ? "translated" : "interpreted");
    if (translate && cut == Cut::kNone && expect_translated) {
      EXPECT_GT(o.translated, 0u) << "nothing was translated";
    }
  }
  return reference;
}

std::string stos(const char* element, uint64_t at, uint64_t count, const char* value,
                 bool down = false) {
  std::ostringstream s;
  s << std::hex << "  mov rdi, 0x" << at << "\n  mov ecx, 0x" << count << "\n  mov rax, " << value
    << "\n  xor ebx, ebx\n  stc\n"
    << (down ? "  std\n" : "") << "  rep stos" << element << "\n"
    << (down ? "  cld\n" : "");
  return s.str();
}

std::string movs(const char* element, uint64_t from, uint64_t to, uint64_t count,
                 bool down = false) {
  std::ostringstream s;
  s << std::hex << "  mov rsi, 0x" << from << "\n  mov rdi, 0x" << to << "\n  mov ecx, 0x" << count
    << "\n  xor ebx, ebx\n  stc\n"
    << (down ? "  std\n" : "") << "  rep movs" << element << "\n"
    << (down ? "  cld\n" : "");
  return s.str();
}

TEST(EmuRepBulk, StosAcrossPages) {
  const uint64_t n = 3 * 4096 + 77;
  const Outcome o = expect_same(stos("b", kFill + 0x123, n, "0xa5"));
  const GuestMemory& mem = o.machine->memory;
  for (uint64_t i = 0; i < n; ++i)
    ASSERT_EQ(mem.load<uint8_t>(kFill + 0x123 + i), 0xa5) << i;
  EXPECT_NE(mem.load<uint8_t>(kFill + 0x122), 0xa5);
  EXPECT_NE(mem.load<uint8_t>(kFill + 0x123 + n), 0xa5);
  EXPECT_EQ(o.state.gpr[kRcx], 0u);
  EXPECT_EQ(o.state.gpr[kRdi], kFill + 0x123 + n);
  // STC, then XOR's ZF and PF: the REP leaves them.
  EXPECT_EQ(o.state.rflags & kFlagsMask, 0x45u);
}

TEST(EmuRepBulk, StosOfWiderElementsStraddlingPages) {
  // Eight-byte elements that do not divide the page: one of them lies across each boundary.
  const Outcome q = expect_same(stos("q", kFill + 0xffc - 8 * 20, 2000, "0x1122334455667788"));
  EXPECT_EQ(q.machine->memory.load<uint64_t>(kFill + 0xffc), 0x1122334455667788u);
  EXPECT_EQ(q.state.gpr[kRdi], kFill + 0xffc - 8 * 20 + 8 * 2000);
  expect_same(stos("d", kFill + 0x2ffe, 3000, "0"));
  expect_same(stos("w", kFill + 0x1001, 5000, "0x4242"));
}

TEST(EmuRepBulk, StosDownwards) {
  const Outcome o = expect_same(stos("w", kFill + 0x5000, 6000, "0xbeef", true));
  EXPECT_EQ(o.state.gpr[kRdi], kFill + 0x5000 - 2 * 6000);
  EXPECT_EQ(o.machine->memory.load<uint16_t>(kFill + 0x5000 - 2 * 5999), 0xbeef);
  expect_same(stos("q", kFill + 0x8003, 3000, "0x0102030405060708", true));
}

TEST(EmuRepBulk, MovsAcrossPages) {
  // Source and destination meet the page boundaries at different elements.
  const uint64_t n = 2 * 4096 + 999;
  const Outcome o = expect_same(movs("b", kFill + 0x123, kFill + 0x10f00, n));
  const GuestMemory& mem = o.machine->memory;
  for (uint64_t i = 0; i < n; i += 97)
    ASSERT_EQ(mem.load<uint8_t>(kFill + 0x10f00 + i), mem.load<uint8_t>(kFill + 0x123 + i)) << i;
  EXPECT_EQ(o.state.gpr[kRsi], kFill + 0x123 + n);
  EXPECT_EQ(o.state.gpr[kRdi], kFill + 0x10f00 + n);
  EXPECT_EQ(o.state.gpr[kRcx], 0u);
  expect_same(movs("q", kFill + 0x7, kFill + 0x10000, 3000));
  expect_same(movs("d", kFill + 0x8000, kFill + 0x1000, 3000, true));
}

TEST(EmuRepBulk, OverlappingMovsCopyAsOneByOne) {
  // Destination ahead of the source in the copy's direction: each element reads the last one's
  // bytes (a repeating pattern); behind it: a plain move.
  expect_same(movs("b", kFill + 0x100, kFill + 0x101, 9000));
  expect_same(movs("q", kFill + 0x100, kFill + 0x103, 2000));
  expect_same(movs("b", kFill + 0x101, kFill + 0x100, 9000));
  expect_same(movs("d", kFill + 0x9000, kFill + 0x8ffe, 3000, true));
  expect_same(movs("d", kFill + 0x9000, kFill + 0x9002, 3000, true));
  expect_same(movs("w", kFill + 0x3000, kFill + 0x3000, 4000));
}

TEST(EmuRepBulk, FaultOnTheSecondPage) {
  Outcome o =
      expect_same(stos("b", kNotPresent - 0x800, 0x1000, "0x77"), unmap, Cut::kNone, 0, false);
  EXPECT_EQ(o.state.gpr[8], 14u);
  EXPECT_EQ(o.state.cr2, kNotPresent);
  EXPECT_EQ(o.state.gpr[kRcx], 0x800u);
  EXPECT_EQ(o.machine->memory.load<uint8_t>(kNotPresent - 1), 0x77);
  o = expect_same(movs("q", kNotPresent - 0x408, kFill, 0x200), unmap, Cut::kNone, 0, false);
  EXPECT_EQ(o.state.cr2, kNotPresent);
  EXPECT_EQ(o.state.gpr[kRcx], 0x200u - 0x408 / 8);
}

TEST(EmuRepBulk, WatchpointInTheRange) {
  expect_same(stos("b", kFill + 0x100, 0x3000, "0x33"), watch(kFill + 0x1800, WatchKind::kWrite));
  expect_same(movs("d", kFill + 0x100, kFill + 0x8000, 0x1000),
              watch(kFill + 0x9000, WatchKind::kWrite));
  expect_same(movs("d", kFill + 0x100, kFill + 0x8000, 0x1000),
              watch(kFill + 0x2000, WatchKind::kAccess));
}

TEST(EmuRepBulk, LimitsInsideTheRep) {
  for (uint64_t step : {2u, 333u, 4095u, 10007u}) {
    SCOPED_TRACE(step);
    expect_same(stos("b", kFill + 0x123, 3 * 4096 + 77, "0xa5"), nullptr, Cut::kLimits, step);
    expect_same(movs("w", kFill + 0x123, kFill + 0x10000, 9000), nullptr, Cut::kLimits, step);
  }
}

TEST(EmuRepBulk, KicksInsideTheRep) {
  // 8 MiB filled and 3 MiB of it copied, six times: long enough for kicks to land inside.
  const std::string body =
      stos("b", kFill, 0x800000, "0x5a") + movs("b", kFill, kFill + 0x800000, 0x300000);
  const Outcome plain = run(body, nullptr, true, Cut::kNone);
  for (bool translate : {false, true}) {
    const Outcome kicked = run(body, nullptr, translate, Cut::kKicks);
    EXPECT_GT(kicked.limits, 2u) << "the kicks must land while the REPs run";
    EXPECT_EQ(differences(plain, kicked), "") << (translate ? "translated" : "interpreted");
  }
  EXPECT_EQ(plain.machine->memory.load<uint8_t>(kFill + 0x800000 + 0x2fffff), 0x5a);
  // The prologue, each round's twelve instructions and its iterations, the OUT.
  EXPECT_EQ(plain.count, 10 + kRounds * (12 + 0x800000 + 0x300000) + 1);
}

} // namespace
} // namespace rrvm::test
