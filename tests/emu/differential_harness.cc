#include "tests/emu/differential_harness.h"

#include <unistd.h>

#include <cstdlib>

#include "vmm/emu/testing/emu_machine.h"
#include "vmm/error.h"

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

// Far more than any sequence runs: a translator bug that loops fails its test at once instead of
// holding it to ctest's timeout.
constexpr uint64_t kMaxSequenceInstructions = 100'000'000;

std::optional<CpuState> run_sequence(Engine& engine, const CpuState& start, std::string* why) {
  engine.set_state(start);
  if (const MaybeCount count = engine.instruction_count())
    engine.set_instruction_limit(*count + kMaxSequenceInstructions);
  Exit& e = run_past_kicks(engine);
  if (e.reason == ExitReason::kIo) return engine.state();
  *why = std::string(exit_reason_name(e.reason)) + " " + e.detail;
  return std::nullopt;
}

bool kvm_required() {
  const char* v = std::getenv("CI");
  return v && std::string(v) == "true" && access("/dev/kvm", F_OK) == 0;
}

std::unique_ptr<KvmEngine> open_kvm(GuestMemory& mem, std::string* why) {
  try {
    return std::make_unique<KvmEngine>(mem);
  } catch (const Error& e) {
    *why = e.what();
    return nullptr;
  }
}

} // namespace rrvm::test
