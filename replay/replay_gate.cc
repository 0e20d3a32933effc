#include "replay/replay_gate.h"

#include <cstdio>
#include <cstring>

#include "vmm/error.h"
#include "vmm/hex_text.h"

namespace rrvm {

namespace {

std::string describe(const Event& e) {
  return std::visit(
      [](const auto& ev) -> std::string {
        using T = std::decay_t<decltype(ev)>;
        if constexpr (std::is_same_v<T, ExitEvent>)
          return std::string("exit ") + exit_reason_name(ExitReason(ev.reason)) + " at rip " +
                 hex_text(ev.rip);
        else if constexpr (std::is_same_v<T, ClockEvent>)
          return "clock sample " + std::to_string(ev.ns) + " ns";
        else if constexpr (std::is_same_v<T, PortReadEvent>)
          return "port read " + hex_text(ev.port) + "/" + std::to_string(ev.size) + " = " +
                 hex_text(ev.value);
        else if constexpr (std::is_same_v<T, MmioReadEvent>)
          return "mmio read " + hex_text(ev.gpa) + "/" + std::to_string(ev.size) + " = " +
                 hex_text(ev.value);
        else if constexpr (std::is_same_v<T, MsrReadEvent>)
          return "rdmsr " + hex_text(ev.index) + " = " + hex_text(ev.value);
        else if constexpr (std::is_same_v<T, InjectionEvent>)
          return "interrupt vector " + hex_text(ev.vector) + " injected at " +
                 (ev.kind == InjectionKind::kAtIcount ? "instruction " : "exit ") +
                 std::to_string(ev.point);
        else if constexpr (std::is_same_v<T, SerialInputEvent>)
          return std::to_string(ev.bytes.size()) + " bytes of serial input";
        else if constexpr (std::is_same_v<T, KickEvent>)
          return "a host-timer kick at rip " + hex_text(ev.rip);
        else if constexpr (std::is_same_v<T, ClockTieEvent>)
          return std::string("a clock tie (") + clock_tie_point_name(ev.point) +
                 ") at instruction " + std::to_string(ev.icount) + " (" + std::to_string(ev.ns) +
                 " ns)";
        else if constexpr (std::is_same_v<T, GuestExitEvent>)
          return "guest exit with status " + std::to_string(ev.status);
        else
          return event_kind_name(kind_of(Event(ev)));
      },
      e);
}

} // namespace

const Event* ReplayGate::peek() {
  // Statistics samples and checkpoint markers describe the recording; replay does not act on them.
  while (!lookahead_) {
    Event e;
    if (!events_.next(e)) return nullptr;
    EventKind k = kind_of(e);
    if (k == EventKind::kStatsSample || k == EventKind::kCheckpoint) {
      ++consumed_;
      continue;
    }
    lookahead_ = std::move(e);
  }
  return &*lookahead_;
}

void ReplayGate::diverge(const std::string& recorded, const std::string& replayed) {
  throw Error(ExitCode::kDivergence, "replay diverged at event " + std::to_string(current_index_) +
                                         ": the recording has " + recorded + ", the replay " +
                                         replayed);
}

const Event& ReplayGate::expect(EventKind kind, const std::string& what) {
  const Event* next = peek();
  current_index_ = consumed_; // the event a mismatch, found now or by the caller, is about
  if (!next) {
    const TraceStatus& status = events_.status();
    if (!status.complete())
      throw Error(ExitCode::kBadInput, "trace ends early at event " + std::to_string(consumed_) +
                                           " (" + status.reason + "); replayed up to there");
    // A recording that was stopped ends at an exit like any other; the replay ends there too.
    if (events_.recording_was_stopped())
      throw Error(ExitCode::kStopped, "replay reached the end of the recording at event " +
                                          std::to_string(consumed_) + ", where it was stopped");
    diverge("no more events", what);
  }
  if (kind_of(*next) != kind) diverge(describe(*next), what);
  current_ = std::move(*lookahead_);
  lookahead_.reset();
  ++consumed_;
  return current_;
}

void ReplayGate::seek(uint64_t index) {
  if (!events_.seek(index))
    throw Error(ExitCode::kBadInput, "cannot return to trace event " + std::to_string(index) +
                                         ": " + events_.status().reason);
  lookahead_.reset();
  consumed_ = index;
}

uint64_t ReplayGate::sample_clock() {
  return std::get<ClockEvent>(expect(EventKind::kClock, "asked for the time")).ns;
}

std::optional<ClockTie> ReplayGate::clock_tie(ClockTiePoint where, uint64_t icount, uint64_t,
                                              uint64_t) {
  // A tie the replay does not reach here stays next in the trace, and the next event the machine
  // expects reports the divergence.
  const Event* next = peek();
  if (!next || kind_of(*next) != EventKind::kClockTie) return std::nullopt;
  const auto& tie = std::get<ClockTieEvent>(*next);
  if (tie.icount != icount || tie.point != uint8_t(where)) return std::nullopt;
  const ClockTie answer{tie.ns, tie.rate};
  lookahead_.reset();
  ++consumed_;
  return answer;
}

size_t ReplayGate::take_input(std::span<uint8_t> out) {
  const Event* next = peek();
  if (!next || kind_of(*next) != EventKind::kSerialInput) return 0;
  const auto& bytes = std::get<SerialInputEvent>(*next).bytes;
  if (bytes.size() > out.size()) {
    current_index_ = consumed_;
    diverge(describe(*next), "took at most " + std::to_string(out.size()) + " bytes");
  }
  std::memcpy(out.data(), bytes.data(), bytes.size());
  size_t n = bytes.size();
  lookahead_.reset();
  ++consumed_;
  return n;
}

void ReplayGate::on_exit(ExitReason reason, uint64_t rip, std::optional<uint64_t>) {
  ExitEvent replayed{static_cast<uint8_t>(reason), rip};
  const auto& recorded = std::get<ExitEvent>(expect(EventKind::kExit, describe(replayed)));
  if (recorded != replayed) diverge(describe(recorded), describe(replayed));
}

void ReplayGate::on_register_hash(uint64_t hash) {
  const std::string replayed = "registers hashing to " + hex_text(hash);
  const auto& recorded = std::get<RegisterHashEvent>(expect(EventKind::kRegisterHash, replayed));
  if (recorded.hash != hash) diverge("registers hashing to " + hex_text(recorded.hash), replayed);
}

void ReplayGate::on_port_read(uint16_t port, uint8_t size, uint32_t value) {
  PortReadEvent replayed{port, size, value};
  const auto& recorded = std::get<PortReadEvent>(expect(EventKind::kPortRead, describe(replayed)));
  if (recorded != replayed) diverge(describe(recorded), describe(replayed));
}

void ReplayGate::on_mmio_read(uint64_t gpa, uint8_t size, uint64_t value) {
  MmioReadEvent replayed{gpa, size, value};
  const auto& recorded = std::get<MmioReadEvent>(expect(EventKind::kMmioRead, describe(replayed)));
  if (recorded != replayed) diverge(describe(recorded), describe(replayed));
}

void ReplayGate::on_msr_read(uint32_t index, uint64_t value) {
  MsrReadEvent replayed{index, value};
  const auto& recorded = std::get<MsrReadEvent>(expect(EventKind::kMsrRead, describe(replayed)));
  if (recorded != replayed) diverge(describe(recorded), describe(replayed));
}

void ReplayGate::on_injection(uint8_t vector, uint64_t exit_index, std::optional<uint64_t> icount) {
  const Event* next = peek();
  // The recording names the point the way its engine could: by exit index (kvm) or by
  // instruction count (emu). An emu replay of a kvm recording matches the exit index.
  bool by_icount = next && kind_of(*next) == EventKind::kInjection &&
                   std::get<InjectionEvent>(*next).kind == InjectionKind::kAtIcount;
  InjectionEvent replayed{};
  replayed.vector = vector;
  replayed.kind = by_icount ? InjectionKind::kAtIcount : InjectionKind::kAtExit;
  replayed.point = by_icount ? icount.value_or(0) : exit_index;
  const auto& recorded =
      std::get<InjectionEvent>(expect(EventKind::kInjection, describe(replayed)));
  if (recorded.vector != replayed.vector || recorded.kind != replayed.kind ||
      recorded.point != replayed.point)
    diverge(describe(recorded), describe(replayed));
}

std::optional<KickPoint> ReplayGate::next_kick() {
  const Event* next = peek();
  if (!next || kind_of(*next) != EventKind::kKick) return std::nullopt;
  const auto& kick = std::get<KickEvent>(*next);
  return KickPoint{kick.rip, kick.state_hash, kick.dirty_hash};
}

void ReplayGate::on_kick(const KickPoint& kick) {
  const std::string replayed = "a kick at rip " + hex_text(kick.rip);
  const auto& recorded = std::get<KickEvent>(expect(EventKind::kKick, replayed));
  if (KickPoint{recorded.rip, recorded.state_hash, recorded.dirty_hash} != kick)
    diverge("a kick at rip " + hex_text(recorded.rip) + " with other state", replayed);
}

void ReplayGate::on_guest_exit(int status) {
  GuestExitEvent replayed{status};
  const auto& recorded =
      std::get<GuestExitEvent>(expect(EventKind::kGuestExit, describe(replayed)));
  if (recorded != replayed) diverge(describe(recorded), describe(replayed));
}

} // namespace rrvm
