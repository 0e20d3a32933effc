// The CPU interface both engines implement (KVM in vmm/kvm/, the interpreter in vmm/emu/).
//
// The machine calls run(), handles the exit it returns, and calls run() again. Data an exit asks
// for (the value of a port or MMIO read, an MSR read) is written into the exit's buffer before
// the next run(), which completes the instruction; this is KVM's contract and the interpreter
// keeps it too, so devices, recording, replay and the debugger never care which engine runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vmm/clock_line.h"
#include "vmm/cpu_state.h"
#include "vmm/cpuid_table.h"
#include "vmm/maybe_count.h"
#include "vmm/state_buffer.h"

namespace rrvm {

enum class ExitReason : uint8_t {
  kIo,               // port I/O; `io` describes it
  kMmio,             // access to guest-physical memory that is not RAM; `mmio` describes it
  kHlt,              // HLT executed; the vCPU is halted until an interrupt is injected
  kInterruptWindow,  // the guest can now take an interrupt (after request_interrupt_window)
  kMsrRead,          // RDMSR of an MSR the machine models; `msr` describes it
  kMsrWrite,         // WRMSR of an MSR the machine models
  kShutdown,         // triple fault
  kDebug,            // single-step completed or breakpoint/watchpoint hit; `debug` says which
  kKicked,           // kick() interrupted the run; nothing else happened
  kInstructionLimit, // the retired-instruction limit was reached (instruction-counting engines)
  kInternalError,    // the engine could not run the guest; `detail` says why
  kUnsupported,      // the guest executed something the engine does not implement; `detail`
};
inline constexpr size_t kExitReasonCount = static_cast<size_t>(ExitReason::kUnsupported) + 1;

const char* exit_reason_name(ExitReason reason);

struct IoExit {
  uint16_t port;
  uint8_t size; // 1, 2 or 4
  bool write;
  uint32_t count; // >1 for string I/O (INS/OUTS with REP): `count` consecutive accesses
  uint8_t* data;  // size*count bytes: values written by the guest, or to fill for a read
};

struct MmioExit {
  uint64_t gpa;
  uint8_t size; // 1, 2, 4 or 8
  bool write;
  uint8_t* data; // `size` bytes
};

struct MsrExit {
  uint32_t index;
  uint64_t* value; // written value, or to fill for a read
  bool* fault;     // set to true to raise #GP in the guest instead
};

enum class DebugCause : uint8_t { kStep, kBreakpoint, kWatchWrite, kWatchRead, kWatchAccess };

struct DebugEvent {
  DebugCause cause;
  uint64_t address; // breakpoint or watched address
  // Watchpoints on emu: the RIP of the instruction that made the access (the stop comes after
  // it, so a write's history can name its writer). Unknown on kvm, whose debug trap follows the
  // access with no record of where it came from.
  std::optional<uint64_t> accessor_rip = std::nullopt;
};

struct Exit {
  ExitReason reason;
  IoExit io;
  MmioExit mmio;
  MsrExit msr;
  DebugEvent debug;
  std::string detail;
};

enum class WatchKind : uint8_t { kExecute, kWrite, kRead, kAccess };

struct HwBreakpoint {
  uint64_t address;
  WatchKind kind;
  uint8_t length; // 1, 2, 4 or 8
};

// Dirty-page logging, an engine capability kick fingerprints need (KickTracker): enable once
// before running, then collect_dirty_pages() ORs the pages written since its last call into
// `bitmap` (one bit per 4 KiB page of guest memory).
class DirtyPageLog {
public:
  virtual void enable_dirty_log() = 0;
  virtual void collect_dirty_pages(std::vector<uint64_t>& bitmap) = 0;

protected:
  ~DirtyPageLog() = default;
};

class Engine {
public:
  virtual ~Engine() = default;

  virtual const char* name() const = 0;

  // Runs the vCPU until the next exit. The returned reference stays valid until the next call.
  virtual Exit& run() = 0;

  // Interrupts a running run() from another thread or a signal handler (async-signal-safe); the
  // run returns kKicked at the next point the engine can stop. A kick while not running makes the
  // next run() return kKicked at once.
  virtual void kick() = 0;
  // Forgets a kick that has not interrupted a run yet (one that became moot while the machine
  // was not running the vCPU, e.g. a timer that fired while the guest was halted).
  virtual void cancel_kick() {}

  virtual CpuState state() = 0;
  virtual void set_state(const CpuState& state) = 0;
  // The engine's TLB, which CpuState does not hold but which decides what the guest sees next: a
  // translation outlives changes of the page tables until a flush, and a walk sets accessed and
  // dirty bits. Checkpoints save it beside the CpuState and put it back after set_state(), so a
  // re-execution walks the page tables exactly where the original run did. Engines whose TLB
  // no snapshot can reach (kvm) save nothing and restore nothing.
  virtual void save_tlb(StateWriter& /*out*/) const {}
  virtual void restore_tlb(StateReader& /*in*/) {}
  // The instruction pointer at the last exit; engines override it when they can answer without
  // assembling the whole state.
  virtual uint64_t exit_rip() { return state().rip; }

  // Interrupt injection. can_inject() is true when RFLAGS.IF=1, no interrupt shadow is active and
  // no other event is pending; inject_interrupt() then delivers external interrupt `vector`
  // before the next instruction (and wakes a halted vCPU).
  virtual bool can_inject() = 0;
  // RFLAGS.IF at the last exit (a HLT with it clear can never be woken: rrvm has no NMI).
  virtual bool interrupts_enabled() { return state().rflags & rflags::kIF; }
  virtual void inject_interrupt(uint8_t vector) = 0;
  // Exit with kInterruptWindow as soon as can_inject() becomes true.
  virtual void request_interrupt_window(bool enable) = 0;

  // Debugging: stop after every instruction; breakpoints kept outside guest memory.
  virtual void set_single_step(bool enable) = 0;
  virtual void set_hw_breakpoints(std::span<const HwBreakpoint> points) = 0;
  virtual size_t max_hw_breakpoints() const = 0;

  // Retired-instruction count, for engines that keep an exact one (emu); nullopt otherwise (kvm).
  virtual MaybeCount instruction_count() const = 0;
  // Stop with kInstructionLimit once the count reaches `count` (emu only).
  virtual void set_instruction_limit(MaybeCount count) = 0;
  // Puts the count back to a checkpoint's value (engines that keep one).
  virtual void set_instruction_count(uint64_t) {}
  // Interrupt and exception deliveries since the instruction count reached its value: states at
  // one count differ by it (replay/replay_position.h). Restoring a count puts it back to 0.
  virtual uint64_t deliveries_at_count() const { return 0; }
  // The clock of an instruction-counting engine (--clock icount, adaptive): RDTSC reads
  // `line.ns_at(instruction count) + offset` (the guest's TSC writes), so it agrees with the
  // machine's clock. Until the first call RDTSC reads the instruction count. Engines without an
  // instruction count never get it.
  virtual void set_tsc_clock(const ClockLine& /*line*/, uint64_t /*offset*/) {}

  // The fixed CPUID table the guest sees; a recording stores it.
  virtual const CpuidTable& cpuid() const = 0;
  // Guest memory [gpa, gpa+length) was written behind the engine's back (the debugger): engines
  // that cache decoded code drop it.
  virtual void invalidate_code(uint64_t /*gpa*/, uint64_t /*length*/) {}
  // True when every guest access to an MSR the machine answers (msr_model.h) reaches the machine
  // as a kMsrRead/kMsrWrite exit. False on a KVM without the MSR filter: the guest would then read
  // the host's TSC-family MSRs directly, which no recording could reproduce.
  virtual bool machine_answers_msrs() const { return true; }
  // True when the engine marks every page the guest writes in GuestMemory::written() (emu); a
  // machine whose engine does not (kvm) reads and copies all of memory at a snapshot or restore.
  virtual bool marks_written_pages() const { return false; }
  // Engines without an instruction count are interrupted by host-timer kicks at points only a
  // fingerprint names; they log dirty pages for it (kvm). nullptr: no such capability.
  virtual DirtyPageLog* dirty_page_log() { return nullptr; }
};

} // namespace rrvm
