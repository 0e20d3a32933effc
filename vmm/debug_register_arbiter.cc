#include "vmm/debug_register_arbiter.h"

#include <algorithm>

namespace rrvm {

namespace {

bool same_point(const HwBreakpoint& a, const HwBreakpoint& b) {
  return a.address == b.address && a.kind == b.kind && a.length == b.length;
}

bool same_points(std::span<const HwBreakpoint> a, std::span<const HwBreakpoint> b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), same_point);
}

// The kind of point that reports `cause`; nullopt for a step.
std::optional<WatchKind> kind_reporting(DebugCause cause) {
  switch (cause) {
  case DebugCause::kStep:
    return std::nullopt;
  case DebugCause::kBreakpoint:
    return WatchKind::kExecute;
  case DebugCause::kWatchWrite:
    return WatchKind::kWrite;
  case DebugCause::kWatchRead:
    return WatchKind::kRead;
  case DebugCause::kWatchAccess:
    return WatchKind::kAccess;
  }
  return std::nullopt;
}

} // namespace

void DebugRegisterArbiter::reserve(DebugClient client, size_t slots) {
  claim(client).reserved = slots;
}

size_t DebugRegisterArbiter::room(DebugClient client) const {
  size_t others = 0;
  for (size_t i = 0; i < claims_.size(); ++i)
    if (i != static_cast<size_t>(client))
      others += std::max(claims_[i].reserved, claims_[i].points.size());
  const size_t slots = engine_.max_hw_breakpoints();
  return others < slots ? slots - others : 0;
}

bool DebugRegisterArbiter::set_points(DebugClient client, std::span<const HwBreakpoint> points) {
  if (points.size() > room(client)) return false;
  claim(client).points.assign(points.begin(), points.end());
  std::vector<HwBreakpoint> all = merged();
  if (armed_ && same_points(*armed_, all)) return true;
  engine_.set_hw_breakpoints(all);
  armed_ = std::move(all);
  return true;
}

const std::vector<HwBreakpoint>& DebugRegisterArbiter::points(DebugClient client) const {
  return claim(client).points;
}

void DebugRegisterArbiter::set_single_step(DebugClient client, bool enable) {
  claim(client).single_step = enable;
  const bool any =
      std::any_of(claims_.begin(), claims_.end(), [](const Claim& c) { return c.single_step; });
  if (any == stepping_) return;
  engine_.set_single_step(any);
  stepping_ = any;
}

bool DebugRegisterArbiter::owns(DebugClient client, const DebugEvent& event) const {
  const Claim& c = claim(client);
  const std::optional<WatchKind> kind = kind_reporting(event.cause);
  if (!kind) return c.single_step;
  return std::any_of(c.points.begin(), c.points.end(), [&](const HwBreakpoint& p) {
    return p.kind == *kind && p.address == event.address;
  });
}

std::vector<HwBreakpoint> DebugRegisterArbiter::merged() const {
  std::vector<HwBreakpoint> all;
  for (const Claim& c : claims_)
    for (const HwBreakpoint& p : c.points)
      if (std::none_of(all.begin(), all.end(),
                       [&](const HwBreakpoint& q) { return same_point(p, q); }))
        all.push_back(p);
  return all;
}

} // namespace rrvm
