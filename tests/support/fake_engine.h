// A scripted Engine for unit tests of the machine's run loop (as Firecracker tests its vCPU loop
// with injected exits): run() returns the next exit of a script, and everything the machine asks
// of the engine (data for reads, injections, interrupt windows, instruction limits, breakpoints)
// is recorded for the test to check. No guest runs.
#pragma once

#include <deque>
#include <optional>
#include <vector>

#include "vmm/engine.h"

namespace rrvm::test {

// One exit of the script and the vCPU state it leaves.
struct ScriptedExit {
  ExitReason reason;
  uint16_t port = 0;
  uint64_t gpa = 0;
  uint32_t msr = 0;
  uint8_t size = 1;
  bool write = false;
  uint64_t value = 0; // what the guest writes
  DebugEvent debug{};
  std::optional<uint64_t> icount;    // the retired-instruction count at this exit
  std::optional<bool> interruptible; // can_inject() from this exit on
  std::optional<uint64_t> rax;       // register state from this exit on (for fingerprints)
  uint64_t rip = 0x1000;

  static ScriptedExit out(uint16_t port, uint64_t value, uint8_t size = 1);
  static ScriptedExit in(uint16_t port, uint8_t size = 1);
  static ScriptedExit mmio_write(uint64_t gpa, uint64_t value, uint8_t size = 4);
  static ScriptedExit mmio_read(uint64_t gpa, uint8_t size = 4);
  static ScriptedExit rdmsr(uint32_t index);
  static ScriptedExit wrmsr(uint32_t index, uint64_t value);
  static ScriptedExit plain(ExitReason reason);
  static ScriptedExit breakpoint(uint64_t address);
  static ScriptedExit step_done();
};

class FakeEngine final : public Engine, private DirtyPageLog {
public:
  struct Injection {
    uint8_t vector;
    size_t after_exits; // run() calls before it
  };
  // What the machine put into a read exit's buffer before the next run() (for wrmsr: the value
  // written).
  struct Answer {
    uint64_t value;
    bool fault; // rdmsr/wrmsr: the machine asked for #GP
  };

  // `counts_instructions`: behave like emu (an exact count, instruction limits, no kicks);
  // otherwise like kvm (no count, dirty-page logging for kick fingerprints).
  explicit FakeEngine(bool counts_instructions);

  void script(std::initializer_list<ScriptedExit> exits);
  void set_machine_answers_msrs(bool answers) { machine_answers_msrs_ = answers; }

  const char* name() const override { return "fake"; }
  Exit& run() override;
  void kick() override { kicked_ = true; }
  CpuState state() override { return cpu_; }
  void set_state(const CpuState& state) override { cpu_ = state; }
  bool can_inject() override { return interruptible_; }
  void inject_interrupt(uint8_t vector) override;
  void request_interrupt_window(bool enable) override { window_requests.push_back(enable); }
  void set_single_step(bool enable) override { single_steps.push_back(enable); }
  void set_hw_breakpoints(std::span<const HwBreakpoint> points) override;
  size_t max_hw_breakpoints() const override { return 4; }
  MaybeCount instruction_count() const override;
  void set_instruction_limit(MaybeCount count) override { limits.push_back(count); }
  void set_instruction_count(uint64_t count) override { icount_ = count; }
  const CpuidTable& cpuid() const override { return cpuid_; }
  bool machine_answers_msrs() const override { return machine_answers_msrs_; }
  DirtyPageLog* dirty_page_log() override { return counts_instructions_ ? nullptr : this; }

  // Everything the machine did to the engine, in order.
  std::vector<Answer> answers;
  std::vector<Injection> injections;
  std::vector<bool> window_requests;
  std::vector<std::optional<uint64_t>> limits;
  std::vector<std::vector<HwBreakpoint>> breakpoint_sets;
  std::vector<bool> single_steps;
  bool dirty_log_enabled = false;
  size_t runs = 0;

private:
  void enable_dirty_log() override { dirty_log_enabled = true; }
  void collect_dirty_pages(std::vector<uint64_t>&) override {} // the fake writes no memory
  void collect_answer();

  bool counts_instructions_;
  bool machine_answers_msrs_ = true;
  std::deque<ScriptedExit> script_;
  std::optional<ScriptedExit> last_;
  Exit exit_{};
  uint8_t data_[8]{};
  uint64_t msr_value_ = 0;
  bool msr_fault_ = false;
  uint64_t icount_ = 0;
  bool interruptible_ = false;
  bool kicked_ = false;
  CpuState cpu_;
  CpuidTable cpuid_ = CpuidTable::emulated();
};

} // namespace rrvm::test
