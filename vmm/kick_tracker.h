// Host-timer kicks on kvm (docs/DESIGN.md, "kvm"): a kick interrupts the vCPU at a point no count
// names, so recording fingerprints it (rip, register hash, hash of the pages written since the
// previous kick) and replay finds it again with a hardware breakpoint at that rip, taking the
// first hit whose fingerprint matches and single-stepping past the others. The breakpoint and the
// steps go through the machine's DebugRegisterArbiter, which the debugger shares.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "vmm/debug_register_arbiter.h"
#include "vmm/engine.h"
#include "vmm/gate.h"
#include "vmm/guest_memory.h"
#include "vmm/vm_stats.h"

namespace rrvm {

class KickTracker {
public:
  // Breakpoint slots the seek needs: one, at the next kick's rip.
  static constexpr size_t kBreakpointSlots = 1;

  // Starts dirty-page logging: a fingerprint covers the pages written since the last kick.
  KickTracker(Engine& engine, DebugRegisterArbiter& debug_registers, DirtyPageLog& dirty_log,
              GuestMemory& memory, Gate& gate);

  // Before each run: where the recording's next kick is, with the breakpoint set for it
  // (nullopt: the next exit is not a kick).
  std::optional<KickPoint> seek();
  // On a debug exit while seeking: true when this is the kick; false when the run must go on
  // (a hit with another state, now being stepped over, or the end of that step).
  bool found(const KickPoint& sought, VmStats& stats);
  // At a kick exit: hands its fingerprint to the gate (logged or checked) and starts the next
  // dirty-page interval.
  void report();

private:
  // Whether the machine stands at `next` already. The recording's kick may have come as the vCPU
  // was entered, before the guest ran on (under host load, just after an exit that queued an
  // interrupt): no breakpoint finds that one, since entering would deliver the interrupt before
  // the instruction at rip. Nothing ran, so the fingerprint is the one recorded.
  bool due_now(const KickPoint& next);
  KickPoint fingerprint();
  void set_breakpoint(std::span<const HwBreakpoint> points);

  Engine& engine_;
  DebugRegisterArbiter& debug_registers_;
  DirtyPageLog& dirty_log_;
  GuestMemory& memory_;
  Gate& gate_;
  bool breakpoint_set_ = false;
  bool stepping_over_ = false;
  std::vector<uint64_t> dirty_; // one bit per guest page written since the last kick
  std::optional<KickPoint> matched_;
};

} // namespace rrvm
