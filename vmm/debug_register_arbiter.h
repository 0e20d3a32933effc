// The one owner of an engine's debug features: its breakpoint slots (kvm: the four debug
// registers) and its single-step flag. Two clients want them at once on a kvm replay: the kick
// seek (KickTracker, a breakpoint at the next kick's rip, a step past a hit that is not the kick)
// and the debugger (gdb's breakpoints, watchpoints and steps). Each client sets its own list; the
// arbiter hands the engine their union, and a debug stop goes to every client it belongs to, so
// neither can overwrite or swallow the other's.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "vmm/engine.h"

namespace rrvm {

enum class DebugClient : uint8_t { kKickSeek, kDebugger };

class DebugRegisterArbiter {
public:
  explicit DebugRegisterArbiter(Engine& engine) : engine_(engine) {}

  // Keeps `slots` of the engine's breakpoints for `client` whether it uses them at the moment or
  // not, so the room the others have does not change while it comes and goes.
  void reserve(DebugClient client, size_t slots);
  // The most points `client` may set: the engine's slots less what the other clients hold or
  // keep reserved.
  size_t room(DebugClient client) const;

  // Replaces `client`'s breakpoints and watchpoints; false, changing nothing, when they do not fit
  // in room(client). The engine is re-armed only when the union changes: re-arming makes an
  // engine forget the breakpoint it just reported (emu steps off it), which it would then report
  // again at once.
  [[nodiscard]] bool set_points(DebugClient client, std::span<const HwBreakpoint> points);
  const std::vector<HwBreakpoint>& points(DebugClient client) const;
  // The engine single-steps while any client asks it to.
  void set_single_step(DebugClient client, bool enable);

  // Whether the debug stop `event` belongs to `client`: a step while it asked for steps, or a hit
  // of one of its own points. A point two clients share belongs to both.
  bool owns(DebugClient client, const DebugEvent& event) const;

  // The engine's state was replaced behind the arbiter (a checkpoint restored): its memory of
  // the breakpoint it last reported is from another moment, so the next set_points() re-arms it
  // even with an unchanged union.
  void forget_armed() { armed_.reset(); }

private:
  struct Claim {
    std::vector<HwBreakpoint> points;
    size_t reserved = 0;
    bool single_step = false;
  };

  Claim& claim(DebugClient client) { return claims_[static_cast<size_t>(client)]; }
  const Claim& claim(DebugClient client) const { return claims_[static_cast<size_t>(client)]; }
  // Every client's points, each distinct point once.
  std::vector<HwBreakpoint> merged() const;

  Engine& engine_;
  std::array<Claim, 2> claims_;
  std::optional<std::vector<HwBreakpoint>> armed_; // what the engine has; nullopt: unknown
  bool stepping_ = false;                          // what the engine was told
};

} // namespace rrvm
