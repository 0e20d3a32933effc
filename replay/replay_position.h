// A point in a replay on an instruction-counting engine (emu), exact at every event boundary.
//
// The instruction count alone does not name a state: an interrupt or exception delivery (an
// external interrupt, a fault, INT n's fault, a single-step trap, the interrupt that wakes a HLT)
// changes the registers and memory without retiring anything. A position is the count plus the
// deliveries made since the count reached its value: (n, 0) just after instruction n retired,
// (n, 1) at the first handler's first instruction, (n, 2) when that instruction faulted too.
// Exits to the VMM are no positions: an instruction that exits before retiring (a port read)
// completes within the same move. Positions are totally ordered in execution order; a debugger's
// single step moves to the next one, a reverse step to the previous one.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rrvm {

struct ReplayPosition {
  uint64_t instructions = 0; // retired
  uint64_t deliveries = 0;   // since `instructions` was reached

  auto operator<=>(const ReplayPosition&) const = default;
};

// "N", or "N+K" with deliveries.
std::string position_text(const ReplayPosition& position);
// Parses position_text()'s form (decimal); nullopt for anything else.
std::optional<ReplayPosition> parse_position(std::string_view text);

} // namespace rrvm
