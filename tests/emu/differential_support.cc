#include "tests/emu/differential_support.h"

#include <cstdlib>

#include "vmm/emu/testing/emu_machine.h"

namespace rrvm::test {

CpuState ring3_state(GuestMemory& mem) {
  CpuState s = initial_state(Mode::kLong64, mem);
  s.cs.selector = 0x2b;
  s.cs.dpl = 3;
  for (Segment* g : {&s.ss, &s.ds, &s.es, &s.fs, &s.gs}) {
    g->selector = 0x23;
    g->dpl = 3;
  }
  s.rflags = 0x3002; // IOPL 3: the final OUT is allowed at ring 3
  return s;
}

std::optional<CpuState> run_sequence(Engine& engine, const CpuState& start, std::string* why) {
  engine.set_state(start);
  Exit& e = run_past_kicks(engine);
  if (e.reason == ExitReason::kIo) return engine.state();
  *why = std::string(exit_reason_name(e.reason)) + " " + e.detail;
  return std::nullopt;
}

bool ci() {
  const char* v = std::getenv("CI");
  return v && std::string(v) == "true";
}

} // namespace rrvm::test
