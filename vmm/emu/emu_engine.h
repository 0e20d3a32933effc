// The interpreter engine (`--engine emu`): runs the guest on rrvm's own x86 interpreter with an
// exact retired-instruction count, behind the same Engine interface as KVM.
//
// Counting: every retired instruction counts one, and so does every iteration of a REP-prefixed
// string instruction (a REP with a zero count counts once). Faulting instructions, interrupt and
// exception delivery count nothing; deliveries_at_count() tells the states at one count apart.
// A single step (set_single_step) is one such move: one instruction (or REP iteration) retired,
// or one delivery (an external interrupt, a fault, a single-step trap), never both. RDTSC reads the
// count (plus the machine's offset under
// --clock icount); RDMSR/WRMSR of the MSRs the machine answers (vmm/msr_model.h: the TSC family,
// constants, unknown MSRs) exit to it, as on kvm.
//
// Memory written behind the engine's back (loaders, the debugger, DMA) must be reported through
// invalidate_code() if it may hold code the guest already ran; set_state() drops all cached code.
// The guest's own writes are marked in GuestMemory::written(), so that snapshots and restores read
// and copy only the pages written (vmm/memory_image.h).
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "vmm/cpuid_table.h"
#include "vmm/engine.h"
#include "vmm/guest_memory.h"

namespace rrvm {

// Whether emu translates code to host code unless told otherwise (`--emu-translate`).
constexpr bool kEmuTranslateByDefault = true;
// The translator's code buffer: when it is full, every translation is dropped and it starts over.
constexpr size_t kEmuCodeBufferBytes = 32u << 20;

namespace emu {
class Cpu;
struct Block;
class Translator;
} // namespace emu

class EmuEngine : public Engine {
public:
  // `translate`: run blocks as host code (vmm/emu/jit/translator.h) where the interpreter would run
  // them whole; the results, counts and stops are the same.
  explicit EmuEngine(GuestMemory& memory, CpuidTable cpuid = CpuidTable::emulated(),
                     bool translate = kEmuTranslateByDefault,
                     size_t code_buffer_bytes = kEmuCodeBufferBytes);
  ~EmuEngine() override;
  EmuEngine(const EmuEngine&) = delete;
  EmuEngine& operator=(const EmuEngine&) = delete;

  const char* name() const override { return "emu"; }
  Exit& run() override;
  void kick() override;
  CpuState state() override;
  uint64_t exit_rip() override;
  void set_state(const CpuState& state) override;
  void save_tlb(StateWriter& out) const override;
  void restore_tlb(StateReader& in) override;
  bool can_inject() override;
  bool interrupts_enabled() override;
  void inject_interrupt(uint8_t vector) override;
  void request_interrupt_window(bool enable) override;
  void set_single_step(bool enable) override;
  // Execute breakpoints match the linear address of the next instruction (CS base + RIP).
  void set_hw_breakpoints(std::span<const HwBreakpoint> points) override;
  size_t max_hw_breakpoints() const override { return 64; }
  MaybeCount instruction_count() const override;
  void set_instruction_limit(MaybeCount count) override;
  void set_instruction_count(uint64_t count) override;
  uint64_t deliveries_at_count() const override;
  void set_tsc_clock(const ClockLine& line, uint64_t offset) override;
  const CpuidTable& cpuid() const override;
  bool marks_written_pages() const override { return true; }

  // Blocks translated to host code so far, and times the code buffer was full and started over
  // (0 with translation off).
  uint64_t translated_blocks() const;
  uint64_t translation_flushes() const;
  // Blocks decoded so far: each invalidation of a block costs one more when it runs again.
  uint64_t decoded_blocks() const;
  // Instructions fetched through the page tables and decoded outside any block (crossing into a
  // page the TLB did not map executable).
  uint64_t uncached_instructions() const { return uncached_; }

  // Drops decoded code for guest-physical [gpa, gpa+length) after an outside write.
  void invalidate_code(uint64_t gpa, uint64_t length) override;

private:
  Exit& finish(ExitReason reason);
  Exit& finish_debug(DebugCause cause, uint64_t address);
  // Executes instructions until something needs the run loop; returns false when the run must
  // return `cpu_->exit` at once.
  bool execute(bool one);
  bool execute_cross_page();
  // The interpreter's block loop: from the current RIP to c.stop, the block's `count`th
  // instruction or c.limit.
  // How many of `b`'s instructions, decoded at linear `la`, run before one a breakpoint is on
  // (its first instruction is where run() already looked).
  size_t insns_before_breakpoint(const emu::Block& b, uint64_t la) const;
  void interpret(const emu::Block& b, size_t count);
  // True when run()'s loop, after a block ends this way, would reach execute(false) again with
  // nothing else to do: the next block may follow at once.
  bool next_block_follows();
  bool deliver_single_step_trap();
  bool record_input();
  void count_delivery();
  // After an event delivery: the stop that ends the run there (an exit the delivery caused, a
  // watch hit on the frame it pushed, a debugger's single step), or null to run on.
  Exit* stop_after_delivery();
  // An exit whose instruction or delivery completed (a write): a watch hit or single step that
  // goes with it is reported by the next run.
  Exit& exit_after_completion();

  std::unique_ptr<emu::Cpu> cpu_;
  std::unique_ptr<emu::Translator> translator_; // nullptr: interpret only
  std::optional<uint8_t> pending_irq_;
  bool window_ = false;
  bool single_step_ = false;
  bool step_exit_pending_ = false;
  bool read_exit_pending_ = false; // the last exit asked the machine for data
  bool trap_pending_ = false;      // a single-step #DB whose delivery waits for a device read
  bool retry_pending_ = false;     // the supplied read's instruction or delivery has not rerun
  std::optional<DebugEvent> watch_exit_pending_; // a watch hit to report after an exit
  static constexpr uint64_t kNoDelivery = ~0ull;
  uint64_t delivery_icount_ = kNoDelivery; // the instruction count of the last delivery
  uint64_t deliveries_ = 0;                // deliveries at that count
  std::vector<uint64_t> exec_breakpoints_;
  std::optional<uint64_t> breakpoint_resume_; // reported breakpoint not to report again at once
  uint64_t user_limit_ = ~0ull;
  uint64_t uncached_ = 0;
};

} // namespace rrvm
