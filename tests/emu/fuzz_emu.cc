// libFuzzer target: random code pages run on the interpreter in every mode it starts from (real
// mode, 16- and 32-bit protected mode with and without paging, 64-bit and compatibility mode,
// ring 0 and ring 3), with an IDT whose gates lead back into the random code, device reads
// answered from the input and interrupts injected at windows and halts. Whatever the code does,
// every run ends in an Exit: an escaping C++ exception, a sanitizer report or a hang is a bug.
// Each input runs twice, interpreted and with the translator (`--emu-translate on`): the exits,
// their counts, the final registers and memory must be the same, or the target aborts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "vmm/emu/cpu.h"
#include "vmm/emu/emu_engine.h"
#include "vmm/emu/testing/emu_machine.h"

namespace {

using rrvm::CpuState;
using rrvm::Exit;
using rrvm::ExitReason;
using rrvm::test::kCodeAddr;
using rrvm::test::Mode;

constexpr uint64_t kRam = 4 << 20;
constexpr uint64_t kIdt = 0x4000;
constexpr uint64_t kPageDirectory = 0x8000; // 32-bit paging: 4 MiB pages over RAM
constexpr unsigned kMaxExits = 64;
constexpr uint64_t kMaxInstructions = 1000;

// Reads the input front to back; past its end everything reads as zero.
struct Input {
  const uint8_t* data;
  size_t size;
  uint8_t byte() {
    if (!size) return 0;
    --size;
    return *data++;
  }
};

enum class Start : uint8_t {
  kReal,
  kProtected16,
  kProtected32,
  kProtected32Paging,
  kLong64,
  kCompatibility,
  kLong64User,
  kCount
};

// Gates for every vector pointing at `handlers` + 16 * vector, in the table format of the mode.
void install_idt(rrvm::GuestMemory& memory, CpuState& s, Start start, uint8_t gate_type) {
  const uint64_t handlers = kCodeAddr + 0x800;
  if (start == Start::kReal) {
    for (uint64_t v = 0; v < 256; ++v)
      memory.store<uint32_t>(4 * v, uint32_t(kCodeAddr >> 4) << 16 | uint32_t(0x800 + 16 * v));
    return;
  }
  const bool long_mode =
      start == Start::kLong64 || start == Start::kCompatibility || start == Start::kLong64User;
  const uint64_t code_selector = long_mode ? 0x18 : 0x08;
  const unsigned size = long_mode ? 16 : 8;
  for (uint64_t v = 0; v < 256; ++v) {
    const uint64_t target = handlers + 16 * v;
    const uint64_t lo = (target & 0xffff) | code_selector << 16 |
                        uint64_t(0x80 | 0x60 | (gate_type & 0xf)) << 40 |
                        ((target >> 16) & 0xffff) << 48;
    memory.store<uint64_t>(kIdt + size * v, lo);
    if (long_mode) memory.store<uint64_t>(kIdt + size * v + 8, target >> 32);
  }
  s.idt = {kIdt, uint16_t(256 * size - 1)};
}

CpuState start_state(rrvm::GuestMemory& memory, Start start) {
  using rrvm::test::initial_state;
  switch (start) {
  case Start::kReal:
    return initial_state(Mode::kReal, memory);
  case Start::kProtected16: {
    CpuState s = initial_state(Mode::kProtected32, memory);
    s.cs.db = 0;
    s.ss.db = 0;
    return s;
  }
  case Start::kProtected32:
    return initial_state(Mode::kProtected32, memory);
  case Start::kProtected32Paging: {
    CpuState s = initial_state(Mode::kProtected32, memory);
    for (uint64_t i = 0; i < 1024; ++i)
      memory.store<uint32_t>(kPageDirectory + 4 * i, uint32_t(i << 22) | 0x87);
    s.cr3 = kPageDirectory;
    s.cr4 |= rrvm::cr4::kPSE;
    s.cr0 |= rrvm::cr0::kPG;
    return s;
  }
  case Start::kCompatibility: {
    CpuState s = initial_state(Mode::kLong64, memory);
    s.cs = rrvm::emu::flat_segment(0x08, true, false, true, 0);
    return s;
  }
  case Start::kLong64User: {
    CpuState s = initial_state(Mode::kLong64, memory);
    s.cs = rrvm::emu::flat_segment(0x2b, true, true, false, 3);
    s.ss = rrvm::emu::flat_segment(0x23, false, false, true, 3);
    memory.store<uint64_t>(0x600 + 4, 0x70000); // RSP0 in the TSS
    return s;
  }
  default:
    return initial_state(Mode::kLong64, memory);
  }
}

void fill(uint8_t* data, unsigned size, Input& in) {
  for (unsigned i = 0; i < size; ++i)
    data[i] = in.byte();
}

// What a run leaves: every exit with its count and RIP, then the registers.
struct Outcome {
  std::vector<uint64_t> trail;
  std::vector<uint8_t> memory;
  bool operator==(const Outcome&) const = default;
};

void note_exit(Outcome& o, rrvm::EmuEngine& engine, const Exit& e) {
  o.trail.push_back(uint64_t(e.reason));
  o.trail.push_back(*engine.instruction_count());
  o.trail.push_back(engine.exit_rip());
}

Outcome run_input(const uint8_t* data, size_t size, bool translate) {
  Outcome outcome;
  Input in{data, size};
  const Start start = Start(in.byte() % uint8_t(Start::kCount));
  const uint8_t gate_type = in.byte();
  const uint8_t flags = in.byte();

  rrvm::GuestMemory memory(kRam);
  rrvm::EmuEngine engine(memory, rrvm::CpuidTable::emulated(), translate);
  CpuState s = start_state(memory, start);
  // Real mode always gets its IVT: a zero one sends every interrupt to 0:0, where the zeros
  // rewrite the IVT they run from, and the run becomes a benchmark of code invalidation.
  if ((flags & 1) || start == Start::kReal) install_idt(memory, s, start, gate_type);
  if (flags & 2) s.rflags |= rrvm::rflags::kIF;
  if (flags & 8) s.rflags |= rrvm::rflags::kTF;
  // What gdb's register writes can do: virtual-8086 mode from protected mode.
  const bool legacy = start == Start::kProtected16 || start == Start::kProtected32 ||
                      start == Start::kProtected32Paging;
  if ((flags & 16) && legacy) s.rflags |= rrvm::rflags::kVM;
  for (unsigned r = 0; r < 16; r += 3)
    s.gpr[r] = uint64_t(in.byte()) << ((r % 8) * 4);
  s.gpr[rrvm::kRsp] = rrvm::test::kStackTop;
  // The code: one page, its second half holding the exception handlers. What the input leaves
  // of it is HLT, which ends blocks early: decoding a page of zeros would dominate the run.
  const size_t code = std::min<size_t>(in.size, 0x1000);
  std::memset(memory.host() + kCodeAddr, 0xf4, 0x1000);
  memory.write(kCodeAddr, std::span<const uint8_t>(in.data, code));
  in.data += code;
  in.size -= code;
  engine.set_state(s);
  engine.set_instruction_limit(kMaxInstructions);
  if (flags & 4) engine.request_interrupt_window(true);
  if (flags & 32) engine.set_single_step(true);
  if (flags & 64) {
    const rrvm::HwBreakpoint points[] = {
        {rrvm::test::kStackTop - 8, rrvm::WatchKind::kWrite, 8},
        {kCodeAddr + 0x10, rrvm::WatchKind::kExecute, 1},
    };
    engine.set_hw_breakpoints(points);
  }

  Input answers{data, size}; // device reads and vectors, cycling through the input
  bool done = false;
  for (unsigned exits = 0; exits < kMaxExits && !done; ++exits) {
    Exit& e = engine.run();
    note_exit(outcome, engine, e);
    switch (e.reason) {
    case ExitReason::kIo:
      if (!e.io.write) fill(e.io.data, e.io.size * e.io.count, answers);
      break;
    case ExitReason::kMmio:
      if (!e.mmio.write) fill(e.mmio.data, e.mmio.size, answers);
      break;
    case ExitReason::kHlt:
    case ExitReason::kInterruptWindow:
      done = !engine.can_inject();
      if (!done) engine.inject_interrupt(uint8_t(0x20 + answers.byte() % 0xe0));
      break;
    case ExitReason::kMsrRead:
      *e.msr.value = 0;
      break;
    case ExitReason::kMsrWrite:
    case ExitReason::kKicked:
    case ExitReason::kDebug:
      break;
    default: // instruction limit, shutdown, unsupported
      done = true;
    }
  }
  const CpuState end = engine.state();
  outcome.trail.insert(outcome.trail.end(), std::begin(end.gpr), std::end(end.gpr));
  outcome.trail.push_back(end.rip);
  outcome.trail.push_back(end.rflags);
  outcome.memory.assign(memory.host(), memory.host() + kRam);
  return outcome;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!(run_input(data, size, false) == run_input(data, size, true))) std::abort();
  return 0;
}
