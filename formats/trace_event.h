// The events of a trace as record/ and replay/ see them, independent of the on-disk encoding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

namespace rrvm {

// Where an injection happened. kAtExit and kAtIcount name the point by a count (`point`);
// kAtKick names it by the state the vCPU was in (rip + hashes), see docs/DESIGN.md "kvm".
enum class InjectionKind : uint8_t { kAtExit, kAtKick, kAtIcount };

struct ExitEvent {
  uint8_t reason; // ExitReason
  uint64_t rip;
  bool operator==(const ExitEvent&) const = default;
};

struct ClockEvent {
  uint64_t ns;
  bool operator==(const ClockEvent&) const = default;
};

struct PortReadEvent {
  uint16_t port;
  uint8_t size;
  uint32_t value;
  bool operator==(const PortReadEvent&) const = default;
};

struct MmioReadEvent {
  uint64_t gpa;
  uint8_t size;
  uint64_t value;
  bool operator==(const MmioReadEvent&) const = default;
};

struct MsrReadEvent {
  uint32_t index;
  uint64_t value;
  bool operator==(const MsrReadEvent&) const = default;
};

struct InjectionEvent {
  uint8_t vector;
  InjectionKind kind;
  uint64_t point; // exit index (kAtExit) or retired-instruction count (kAtIcount)
  uint64_t rip;
  uint64_t state_hash;
  uint64_t dirty_hash; // of the guest pages dirtied since a known-identical point
  bool operator==(const InjectionEvent&) const = default;
};

struct SerialInputEvent {
  std::vector<uint8_t> bytes;
  // Which input poll (0-based count of the gate's take_input calls) returned these bytes: polls
  // that return nothing log nothing. Absent in format 1, where the event's place among the logged
  // exits says when.
  std::optional<uint64_t> poll;
  bool operator==(const SerialInputEvent&) const = default;
};

// Host-time counters that replay cannot recompute, sampled during recording.
struct StatsSampleEvent {
  uint64_t host_ns;
  uint64_t runtime_ns;
  uint64_t ready_ns;
  uint64_t idle_ns;
  uint64_t exits;
  // Since 2.0, when the trace logs no exits (--verify hashes): the exits since the previous
  // sample, indexed by ExitReason (up to the last reason that occurred); empty otherwise.
  std::vector<uint64_t> exits_by_reason;
  bool operator==(const StatsSampleEvent&) const = default;
};

struct CheckpointEvent {
  uint64_t id;
  bool operator==(const CheckpointEvent&) const = default;
};

// Hash of the full register state, logged at every exit under --verify=full.
struct RegisterHashEvent {
  uint64_t hash;
  bool operator==(const RegisterHashEvent&) const = default;
};

struct GuestExitEvent {
  int32_t status;
  bool operator==(const GuestExitEvent&) const = default;
};

// Where a host-timer kick interrupted the vCPU. On KVM a kick lands at a nondeterministic point,
// so replay finds it again with a breakpoint at `rip` and accepts the first hit whose state and
// dirty-page hashes match (docs/DESIGN.md, "kvm").
struct KickEvent {
  uint64_t rip;
  uint64_t icount;     // retired-instruction count there (0 when the engine keeps none)
  uint64_t state_hash; // of the register state there
  uint64_t dirty_hash; // of the guest pages dirtied since the previous kick
  bool operator==(const KickEvent&) const = default;
};

// What a verification event closes (docs/DESIGN.md, "Verification by hashes").
enum class VerifyKind : uint8_t {
  kBoundary, // at an exit, with a hash of the registers there
  kEnd,      // the recording ended without being stopped (guest exit, fault, power-off, hang)
  kStop,     // the user stopped the recording here
};

// Under --verify hashes the machine's reports (exits, read values, injections, guest exit) are
// not logged one by one but folded into a rolling hash (ReportDigest), checked at these events.
struct VerifyEvent {
  VerifyKind kind;
  uint64_t reports;    // reports folded so far
  uint64_t hash;       // ReportDigest over them
  uint64_t icount;     // retired instructions at the last report
  uint64_t state_hash; // kBoundary: hash_cpu_state() there; 0 otherwise
  uint64_t polls;      // input polls so far (where a stop request was seen)
  bool operator==(const VerifyEvent&) const = default;
};

// A tie of the adaptive clock (emu's --clock host): at `icount` retired instructions, at an
// instruction-quantum boundary (point 0), an idle wake-up (1) or the start (2; ClockTiePoint),
// guest time became `ns` and then runs at `rate` guest ns per instruction (ClockLine fixed
// point). The machine computes every other time from these.
struct ClockTieEvent {
  uint64_t icount;
  uint64_t ns;
  uint64_t rate;
  uint8_t point;
  bool operator==(const ClockTieEvent&) const = default;
};

// The alternatives' order is EventKind's order and the on-disk kind byte: append only.
using Event =
    std::variant<ExitEvent, ClockEvent, PortReadEvent, MmioReadEvent, MsrReadEvent, InjectionEvent,
                 SerialInputEvent, StatsSampleEvent, CheckpointEvent, RegisterHashEvent,
                 GuestExitEvent, KickEvent, VerifyEvent, ClockTieEvent>;

enum class EventKind : uint8_t {
  kExit,
  kClock,
  kPortRead,
  kMmioRead,
  kMsrRead,
  kInjection,
  kSerialInput,
  kStatsSample,
  kCheckpoint,
  kRegisterHash,
  kGuestExit,
  kKick,     // since format 1.1
  kVerify,   // since format 2.0
  kClockTie, // since format 2.0
};
constexpr size_t kEventKindCount = std::variant_size_v<Event>;
static_assert(size_t(EventKind::kClockTie) + 1 == kEventKindCount);

inline EventKind kind_of(const Event& event) {
  return EventKind(event.index());
}

const char* event_kind_name(EventKind kind);
const char* verify_kind_name(VerifyKind kind);
// "quantum", "wake", "start" (ClockTieEvent::point).
const char* clock_tie_point_name(uint8_t point);

} // namespace rrvm
