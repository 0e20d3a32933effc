#include "vmm/kick_tracker.h"

#include <algorithm>

#include "vmm/error.h"
#include "vmm/state_hash.h"

namespace rrvm {

KickTracker::KickTracker(Engine& engine, DebugRegisterArbiter& debug_registers,
                         DirtyPageLog& dirty_log, GuestMemory& memory, Gate& gate)
    : engine_(engine), debug_registers_(debug_registers), dirty_log_(dirty_log), memory_(memory),
      gate_(gate) {
  dirty_log_.enable_dirty_log();
}

std::optional<KickPoint> KickTracker::seek() {
  std::optional<KickPoint> next = gate_.next_kick();
  if (!next && breakpoint_set_) {
    set_breakpoint({});
    breakpoint_set_ = false;
  }
  if (next && !breakpoint_set_ && !stepping_over_) {
    if (due_now(*next)) {
      engine_.kick(); // the next run returns at once, without entering the guest
      return next;
    }
    const HwBreakpoint at_rip{next->rip, WatchKind::kExecute, 1};
    set_breakpoint({&at_rip, 1});
    breakpoint_set_ = true;
  }
  return next;
}

bool KickTracker::found(const KickPoint& sought, VmStats& stats) {
  if (stepping_over_) { // the single step past a non-matching hit is done
    stepping_over_ = false;
    debug_registers_.set_single_step(DebugClient::kKickSeek, false);
    return false;
  }
  stats.add(VmStat::RRVM_REPLAY_BREAKPOINT_HITS);
  set_breakpoint({});
  breakpoint_set_ = false;
  KickPoint here = fingerprint();
  if (here == sought) {
    matched_ = here;
    return true;
  }
  // Not the moment of the kick (same rip, different state): execute this instruction with the
  // breakpoint off, then look again.
  debug_registers_.set_single_step(DebugClient::kKickSeek, true);
  stepping_over_ = true;
  return false;
}

bool KickTracker::due_now(const KickPoint& next) {
  if (engine_.exit_rip() != next.rip) return false;
  KickPoint here = fingerprint();
  if (here != next) return false;
  matched_ = here;
  return true;
}

void KickTracker::report() {
  gate_.on_kick(matched_ ? *matched_ : fingerprint());
  matched_.reset();
  std::fill(dirty_.begin(), dirty_.end(), 0);
}

void KickTracker::set_breakpoint(std::span<const HwBreakpoint> points) {
  // The slot is reserved for the seek (Machine), so it always fits.
  if (!debug_registers_.set_points(DebugClient::kKickSeek, points))
    throw Error(ExitCode::kInternal, "no debug register left to seek the next kick");
}

KickPoint KickTracker::fingerprint() {
  dirty_log_.collect_dirty_pages(dirty_);
  uint64_t dirty_hash = 0;
  for (size_t word = 0; word < dirty_.size(); ++word) {
    for (uint64_t bits = dirty_[word]; bits; bits &= bits - 1) {
      uint64_t page = word * 64 + static_cast<uint64_t>(__builtin_ctzll(bits));
      dirty_hash =
          hash_bytes({memory_.at(page * kPageSize, kPageSize), kPageSize}, dirty_hash ^ page);
    }
  }
  return {engine_.exit_rip(), hash_cpu_state(engine_.state()), dirty_hash};
}

} // namespace rrvm
