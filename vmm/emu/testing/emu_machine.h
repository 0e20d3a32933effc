// Test scaffolding for the interpreter: guest RAM plus an EmuEngine started in real mode, 32-bit
// protected mode or 64-bit long mode from a state built here, and nasm to assemble snippets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vmm/emu/emu_engine.h"
#include "vmm/engine.h"
#include "vmm/guest_memory.h"

namespace rrvm::test {

// Assembles `source` (nasm syntax, `bits` 16/32/64, origin `org`) with the real nasm.
std::vector<uint8_t> assemble(const std::string& source, unsigned bits, uint64_t org);

// Reads a file produced by the build (test guests).
std::vector<uint8_t> read_file(const std::string& path);

enum class Mode { kReal, kProtected32, kLong64 };

constexpr uint64_t kCodeAddr = 0x10000; // snippets are loaded here
constexpr uint64_t kStackTop = 0x80000; // initial stack pointer
constexpr uint64_t kDataAddr = 0x20000; // scratch data snippets may use
constexpr uint64_t kFlagsMask = 0x8d5;  // OF SF ZF AF PF CF

struct EmuMachine {
  explicit EmuMachine(Mode mode, uint64_t ram = 16 << 20, bool translate = kEmuTranslateByDefault);

  // Assembles `source` at kCodeAddr and points RIP at it.
  void load(const std::string& source);
  Exit& run() { return engine.run(); }
  CpuState state() { return engine.state(); }

  Mode mode;
  GuestMemory memory;
  EmuEngine engine;
};

// The state a mode starts in: flat segments, identity paging in long mode of the first GiB
// (2 MiB pages, tables at 0x1000-0x3fff) and of the fourth (one 1 GiB page, the MMIO hole),
// GDT at 0x500, all GPRs zero, RFLAGS=2. Long mode also gets a 64-bit TSS at 0x600 (selector
// 0x30), which KVM requires there, so the kvm engine can start from the same state.
CpuState initial_state(Mode mode, GuestMemory& memory);

// Runs `engine` to its next exit. A kick is not one: a signal that interrupts KVM_RUN (a
// profiler's, say) must not end a differential run or a timed loop early.
Exit& run_past_kicks(Engine& engine);

} // namespace rrvm::test
