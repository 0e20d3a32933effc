// The nondeterminism gate (docs/DESIGN.md): everything the machine cannot determine from its own
// state enters here. A live run asks the host; record mode asks the host and logs the answers;
// replay mode reads them back from the trace.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "vmm/engine.h"
#include "vmm/folded_reports.h"

namespace rrvm {

// Where a host-timer kick interrupted a kvm vCPU: an instruction pointer is not enough (the
// guest may pass there many times), so the register state and the contents of the pages written
// since the previous kick identify the moment.
struct KickPoint {
  uint64_t rip;
  uint64_t state_hash;
  uint64_t dirty_hash;
  bool operator==(const KickPoint&) const = default;
};

// Where the machine asks for a clock tie (adaptive clock, docs/DESIGN.md "Devices and the virtual
// clock"): at an instruction-quantum boundary, where guest time may have drifted from host time;
// after an idle wait, which input may have ended before the deadline; and when the guest starts
// (at guest time 0), which may be well after the host time 0 of the gate (loading a kernel).
// The values are the trace's (ClockTieEvent::point).
enum class ClockTiePoint : uint8_t { kQuantum, kWake, kStart };

// A new line for the adaptive clock, starting at the instruction count of the question: guest
// time `ns` there (never less than the current guest time: the machine keeps the larger), then
// `rate` guest ns per instruction (ClockLine fixed point).
struct ClockTie {
  uint64_t ns;
  uint64_t rate;
};

class Gate {
public:
  virtual ~Gate() = default;

  // Guest time in ns, sampled once per exit. Never decreases.
  virtual uint64_t sample_clock() = 0;

  // The adaptive clock asks, at `icount` instructions where guest time is `guest_ns` (running at
  // `rate`), whether to tie guest time to host time anew; nullopt (the usual answer): go on. A
  // live run decides from host time, a recording logs the ties, a replay answers from them.
  virtual std::optional<ClockTie> clock_tie(ClockTiePoint /*where*/, uint64_t /*icount*/,
                                            uint64_t /*guest_ns*/, uint64_t /*rate*/) {
    return std::nullopt;
  }

  // The vCPU is halted until guest time `deadline_ns` (UINT64_MAX: no timer is armed). Returns
  // once that time has come or input has arrived; a replay returns at once (idle fast-forward).
  virtual void wait_idle(uint64_t deadline_ns) = 0;

  // Serial input bytes that arrived since the last call (at most out.size()). Each call is an
  // input poll; a recording names the poll that returned bytes.
  virtual size_t take_input(std::span<uint8_t> out) = 0;

  // True when input may still arrive (an interactive terminal): a halted guest with no timer can
  // then still be woken.
  virtual bool input_possible() = 0;

  // The host CLOCK_MONOTONIC time at which guest time reaches `guest_ns`, for kicking a running
  // vCPU when a device timer is due; 0 when guest time does not follow host time.
  virtual uint64_t host_deadline(uint64_t guest_ns) const = 0;

  // True when the user asked to end the run (e.g. Ctrl-A x on the console).
  virtual bool stop_requested() const { return false; }

  // What the machine saw and did, in order. Recording logs these (or, under --verify hashes, a
  // rolling hash of them); replay checks each (or the hash) against the trace and throws
  // Error(kDivergence) at the first difference found. A live run ignores them.
  // `icount` is the engine's retired-instruction count where it keeps one. on_exit returns
  // whether the gate wants the hash of the registers at this exit (on_register_hash): --verify
  // full at every exit (costly on kvm, so opt-in), --verify hashes at the exit that closes a
  // verification window. One call per exit, as an exit on emu costs a few hundred instructions.
  virtual bool on_exit(ExitReason, uint64_t /*rip*/, MaybeCount /*icount*/) { return false; }
  // Where the machine may fold exits and count input polls itself instead of calling on_exit
  // and take_input (--verify hashes); nullptr: every exit and poll goes to the gate. Asked when a
  // run starts.
  virtual FoldedReports* folded_reports() { return nullptr; }
  virtual void on_port_read(uint16_t /*port*/, uint8_t /*size*/, uint32_t /*value*/) {}
  virtual void on_mmio_read(uint64_t /*gpa*/, uint8_t /*size*/, uint64_t /*value*/) {}
  virtual void on_msr_read(uint32_t /*index*/, uint64_t /*value*/) {}
  virtual void on_injection(uint8_t /*vector*/, uint64_t /*exit_index*/,
                            std::optional<uint64_t> /*icount*/) {}
  virtual void on_guest_exit(int /*status*/) {}
  // The run ended for good (guest exit, power-off, reset, hang, engine error): a replay checks
  // that the recording ended there too.
  virtual void on_run_end() {}
  virtual void on_register_hash(uint64_t /*hash*/) {}

  // Kicks on an engine without an instruction count (kvm). When tracks_kicks(), the machine
  // fingerprints every kick and reports it through on_kick() just before its on_exit(); in
  // replay, next_kick() says where the recording's next kick is (nullopt: the next exit is not a
  // kick), so the machine can stop there with a breakpoint.
  virtual bool tracks_kicks() const { return false; }
  virtual void on_kick(const KickPoint&) {}
  virtual std::optional<KickPoint> next_kick() { return std::nullopt; }
  // A replay whose trace holds every exit: the reason of the recording's next one (kKicked when a
  // kick comes first); nullopt where the trace does not say.
  virtual std::optional<ExitReason> next_exit_reason() { return std::nullopt; }
};

// Whether the machine folds its next report into `folded` (the gate's folded_reports(), asked when
// the run started) itself instead of handing it to the gate: while the gate lets it.
inline bool machine_folds(const FoldedReports* folded) {
  return folded && folded->foldable();
}

// Hands an exit to the gate as the machine does: folded while machine_folds(), else through
// Gate::on_exit. Returns whether the gate wants the registers' hash at this exit.
inline bool report_exit(Gate& gate, FoldedReports* folded, ExitReason reason, uint64_t rip,
                        MaybeCount icount) {
  if (machine_folds(folded)) [[likely]] {
    folded->fold(reason, rip, icount);
    return false;
  }
  return gate.on_exit(reason, rip, icount);
}

// Hands a port, MMIO or MSR read to the gate as the machine does: folded into the digest by
// `kFold` (ReportDigest::port_read, mmio_read or msr_read) while machine_folds(), else through
// `kToGate` (Gate::on_port_read, on_mmio_read or on_msr_read).
template <auto kFold, auto kToGate, typename... Fields>
inline void report_read(Gate& gate, FoldedReports* folded, Fields... fields) {
  if (machine_folds(folded)) [[likely]]
    (folded->digest.*kFold)(fields...);
  else
    (gate.*kToGate)(fields...);
}

// Polls for input as the machine does: answered (with nothing) from `folded` while the gate lets
// the machine, else by Gate::take_input.
inline size_t poll_input(Gate& gate, FoldedReports* folded, std::span<uint8_t> out) {
  if (folded && folded->poll_is_empty()) [[likely]] {
    ++folded->polls;
    return 0;
  }
  return gate.take_input(out);
}

} // namespace rrvm
