// The machine: guest memory, one vCPU engine, the PC platform's devices, the virtual clock and
// the statistics, driven by the vCPU run loop. Everything nondeterministic comes through the Gate.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vmm/boot/boot_image.h"
#include "vmm/debug_register_arbiter.h"
#include "vmm/engine.h"
#include "vmm/engine_factory.h"
#include "vmm/error.h"
#include "vmm/exit_counts.h"
#include "vmm/gate.h"
#include "vmm/guest_memory.h"
#include "vmm/host_sampler.h"
#include "vmm/io_bus.h"
#include "vmm/memory_image.h"
#include "vmm/pc_platform.h"
#include "vmm/vcpu_kicker.h"
#include "vmm/virtual_clock.h"
#include "vmm/vm_stats.h"

namespace rrvm {

class KickTracker;

struct MachineConfig {
  uint64_t memory_bytes = 64ull << 20;
  EngineKind engine = EngineKind::kAuto; // what the caller asks create_engine() for
  // Wall-clock time the RTC starts at (Unix seconds): part of the configuration, so a replay
  // shows the recorded time.
  int64_t rtc_base_unix_seconds = 0;
  std::function<void(uint8_t)> serial_output;
  // Instruction-counting engines stop every 100 000 instructions to look at the clock. Off only
  // to replay a kvm recording on emu, whose clock was looked at only at the kvm exits.
  bool instruction_quanta = true;
  // Where guest time comes from (vmm/virtual_clock.h). kIcount needs an instruction-counting
  // engine (create_engine with the same mode).
  ClockMode clock_mode = ClockMode::kHost;
  // emu: run code translated to host code (`--emu-translate`); same results, faster.
  bool emu_translate = kEmuTranslateByDefault;
  // kvm: how long a due timer interrupt may wait for the guest to exit by itself before a host
  // timer kicks the vCPU.
  uint64_t kick_bound_ns = 1'000'000;
};

struct RunOutcome {
  enum class Kind : uint8_t {
    kGuestExit,       // the guest wrote to isa-debug-exit: `status` is the process status
    kPoweredOff,      // halted with interrupts disabled (a PC without ACPI powers off so)
    kReset,           // the guest reset the PC (triple fault, keyboard controller, port 0xcf9)
    kHung,            // halted with interrupts enabled and nothing that can wake it
    kEngineError,     // the engine could not run the guest (KVM internal error, unsupported insn)
    kStopped,         // the user stopped the run
    kDebugStop,       // single-step done or breakpoint/watchpoint hit; `debug` says which
    kPositionReached, // the instruction count set with stop_at() was reached
  };
  Kind kind;
  int status = 0;
  // kPoweredOff: one line; kReset, kHung, kEngineError: one line naming the cause, then (but for a
  // reset a device asked for) the instruction and a register dump.
  std::string message;
  DebugEvent debug{};
};

// The process status of a run that ended by itself but not through isa-debug-exit: powered
// off, reset, hung, or an engine error.
ExitCode end_status(RunOutcome::Kind kind);

// Everything needed to put a machine back exactly where it was (checkpoints, reverse execution).
// The gate's position is its owner's business. Snapshots share guest memory's unchanged pages
// (vmm/memory_image.h), so copying one is cheap.
struct MachineSnapshot {
  CpuState cpu;
  std::vector<uint8_t> tlb; // Engine::save_tlb
  std::shared_ptr<const MemoryImage> memory;
  std::vector<uint8_t> devices;
  uint64_t clock_ns = 0;
  uint64_t tsc_offset = 0;
  ClockLine clock_line; // icount and adaptive modes: guest time as a function of the count
  // Stopped by the debugger where a quantum or deadline exit is still to come (Machine::run).
  std::optional<uint64_t> owed_limit_exit;
  uint64_t deadline_count = 0;
  bool halted = false;
  bool interrupt_window_requested = false;
  uint64_t instruction_count = 0; // engines that keep one
  VmStats stats;
  ExitCounts exits;
};

class Machine {
public:
  // `memory` (config.memory_bytes of it) and the engine running in it come from the caller, which
  // creates them with create_engine(); both must outlive the machine.
  Machine(const MachineConfig& config, GuestMemory& memory, EngineChoice engine, Gate& gate);
  ~Machine();

  // Loads the kernel (read from options.kernel_path, or given as `file`, e.g. from a trace) and
  // puts the vCPU in its entry state. A Linux kernel without options.linux_rng_seed gets the one
  // derived from the RTC's start time (vmm/boot/rng_seed.h).
  const BootImage& boot(BootOptions options,
                        std::optional<std::vector<uint8_t>> file = std::nullopt);

  // Runs until the guest exits or fails, or (for a debugger) a debug event or the stop_at()
  // position; calling run() again continues from there.
  RunOutcome run();

  // Instruction-counting engines only: return kPositionReached when the retired-instruction
  // count reaches `count` (nullopt: no such stop).
  void stop_at(std::optional<uint64_t> count) { stop_at_ = count; }

  // A snapshot reads only the guest memory pages written since the last snapshot or restore, and
  // a restore copies only those and the pages where the two snapshots' memory differs (all of
  // memory on an engine that does not mark its writes, kvm). restore() returns the pages copied.
  MachineSnapshot snapshot();
  size_t restore(const MachineSnapshot& snapshot);

  Engine& engine() { return *engine_; }
  // The engine's breakpoint slots and single-step flag, shared by the kick seek and a debugger:
  // nobody else calls the engine's set_hw_breakpoints() or set_single_step().
  DebugRegisterArbiter& debug_registers() { return debug_registers_; }
  GuestMemory& memory() { return memory_; }
  VmStats stats() const;
  // Finalises host-measured counters (runtime, ready time, resident memory) and returns the
  // statistics.
  VmStats final_stats();
  // Recording: passes the host-time counters to `sink` at the first exit or wake-up after every
  // `interval_ns` of guest time (which follows host time while recording), and a last time in
  // final_stats(), which closes the last interval.
  void set_sample_sink(uint64_t interval_ns, std::function<void(const HostSample&)> sink);
  // Which engine runs and why, e.g. "emu (no vmx/svm on this host: /dev/kvm is not hardware
  // virtualization)".
  const std::string& engine_choice() const { return engine_choice_; }

private:
  RunOutcome run_to_outcome();
  RunOutcome debug_stop(const DebugEvent& event);
  // The recording's next kick (kvm), or a refusal when this engine cannot find it.
  std::optional<KickPoint> seek_kick();
  void handle_io(IoExit& io);
  void handle_mmio(MmioExit& mmio);
  void handle_msr(Exit& exit, bool read);
  void answer_clock_msr(uint32_t index, bool read, uint64_t& value);
  void service_devices();
  void deliver_interrupts(bool at_kick);
  void request_window(bool enable);
  void count_host_cpu();
  void take_sample();
  // Brings the clock up to the present: the gate's sample (host mode) or the clock line at the
  // instruction count of the exit, which the gate may re-tie at a quantum boundary (adaptive
  // mode).
  void update_clock(bool quantum_boundary, MaybeCount exit_count);
  // The instruction limit for the next run: the next quantum, the next timer deadline (icount and
  // adaptive modes) or the debugger's stop position, whichever comes first.
  MaybeCount next_instruction_limit(uint64_t count);
  // icount and adaptive modes: a halted guest skips guest time to `deadline_ns`.
  void fast_forward_to(uint64_t deadline_ns);
  // Adaptive mode: the gate's answer after an idle wait (a tie when input ended it early, else
  // the deadline's time).
  void wake_adaptive(uint64_t deadline_ns);
  // Starts the clock line anew at the current count (a tie or a fast-forward); time never goes
  // back, and RDTSC follows.
  void move_clock_line(uint64_t ns, uint64_t rate);
  HostSample host_sample() const;
  bool wait_while_halted(RunOutcome& outcome);
  void arm_kicker();
  // Guest time is a function of the instruction count (icount and adaptive modes).
  bool counts_time() const { return config_.clock_mode != ClockMode::kHost; }
  std::string explain_failure(const std::string& what);
  RunOutcome powered_off();
  RunOutcome end_by_request(const EndRequest& request);

  MachineConfig config_;
  Gate& gate_;
  FoldedReports* folded_ = nullptr; // the gate's, while a run lasts
  GuestMemory& memory_;
  std::unique_ptr<Engine> engine_;
  // What guest memory held at the last snapshot or restore: with memory's written-page marks,
  // what it holds now.
  std::shared_ptr<const MemoryImage> memory_image_;
  std::string engine_choice_;
  const bool counts_instructions_;       // the engine keeps an instruction count (emu)
  DebugRegisterArbiter debug_registers_; // after engine_, whose slots it hands out
  VirtualClock clock_;
  IoBus ports_;
  IoBus mmio_;
  PcPlatform platform_;
  // The statistics but for those the exits' reasons give, which are counted in exits_ (one
  // increment per exit) and added when stats() is asked.
  VmStats stats_;
  ExitCounts exits_;
  BootImage image_;
  bool halted_ = false;
  bool window_requested_ = false; // what deliver_interrupts() last asked the engine for
  std::optional<uint64_t> stop_at_;
  std::unique_ptr<KickTracker> kicks_; // kvm, when the gate records or replays kicks
  uint64_t tsc_offset_ = 0;
  // icount and adaptive modes: guest time as a function of the instruction count, and the count
  // at which the next timer deadline falls (the engine's limit; kNever: none).
  ClockLine clock_line_;
  uint64_t deadline_count_ = TimerSource::kNever;
  // The count ClockLine::icount_at gave for the deadline asked last (its 128-bit division costs a
  // tenth of an exit), until the clock line moves; kNever: none.
  uint64_t counted_deadline_ns_ = TimerSource::kNever;
  uint64_t counted_deadline_icount_ = 0;
  // The engine's instruction limit, and the count at which a debug stop came before the limit's
  // exit (which the next run() then takes first).
  MaybeCount limit_;
  MaybeCount owed_limit_exit_;
  uint64_t armed_deadline_ = TimerSource::kNever;
  uint64_t run_start_host_ns_ = 0;
  std::unique_ptr<VcpuKicker> kicker_;
  std::optional<HostSampler> sampler_; // created on the vCPU thread, at the first run()
  int host_cpu_ = -1;
  uint64_t next_sample_ns_ = TimerSource::kNever;
  uint64_t sample_interval_ns_ = 0;
  std::function<void(const HostSample&)> sample_sink_;
};

} // namespace rrvm
