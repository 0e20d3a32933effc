// Every write to a range of guest memory over a whole trace (`monitor history`, `monitor
// last-write`), found in one forward replay of the trace on emu with write watchpoints covering
// the range: at each hit the scan notes where the write was and what the range holds now, and
// runs on. Addresses are linear, as gdb's and the engine's watchpoints are: in a guest with
// several address spaces, a write at that address in any of them counts.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "replay/replay_session.h"

namespace rrvm::gdb {

// The longest range a scan watches. The engine watches 1, 2, 4 or 8 aligned bytes per
// watchpoint (as x86 debug registers do) and emu has 64 of them: 256 bytes at any alignment
// takes at most 38.
inline constexpr uint64_t kMaxWatchedRange = 256;

struct WatchedRange {
  uint64_t address; // linear
  uint64_t length;  // 1 to kMaxWatchedRange; the range does not wrap around
  auto operator<=>(const WatchedRange&) const = default;
};

// What the range held at one moment, byte by byte in memory order; nullopt where the guest's page
// tables of that moment mapped nothing.
using RangeBytes = std::vector<std::optional<uint8_t>>;

struct RangeWrite {
  uint64_t position; // retired instructions once the write was done, the writer included
  uint64_t rip;      // the writing instruction
  // Before: what the previous write (or the start of the trace) left. A change the watchpoints
  // cannot see (the same memory written through another mapping, or by a device) shows up as
  // `before` differing from the previous write's `after`.
  RangeBytes before;
  RangeBytes after;
};

struct WriteHistory {
  WatchedRange range;
  std::vector<RangeWrite> writes; // in trace order
  uint64_t end_position = 0;      // the instruction count where the trace ends
  std::string end;                // how it ends, e.g. "the guest exited with status 1"
  double scan_seconds = 0;
};

// The aligned 1-, 2-, 4- and 8-byte write watchpoints that together cover `range` exactly.
std::vector<HwBreakpoint> write_watchpoints(const WatchedRange& range);

struct ScanHooks {
  std::function<void(std::string_view)> progress; // a line every second of a long scan
  std::function<bool()> interrupted;              // polled between slices: true abandons it
};

// Replays `session` (an emu replay standing before its first instruction) to the end of its trace
// and returns every write to `range`; nullopt when `hooks.interrupted` abandoned it. Throws Error
// when the range cannot be watched or the replay cannot go on (kDivergence).
std::optional<WriteHistory> scan_write_history(ReplaySession& session, const WatchedRange& range,
                                               const ScanHooks& hooks = {});

// A value as gdb users read one: a 1-, 2-, 4- or 8-byte range as a little-endian hex number,
// anything else (or with unmapped bytes) as bytes in memory order, "??" where unmapped.
std::string describe_bytes(const RangeBytes& bytes);
// One line of the history table: instruction count, rip, old -> new.
std::string describe_write(const RangeWrite& write);

// Which of `writes` the history table lists: all of them up to kAllWritesShown; past that what a
// reader can use of a table gdb would take minutes to print: every write that left the value as
// it was with the write before it (a lost update and the one it lost), the writes nearest the
// replay's position `now`, and the first and last few.
constexpr size_t kAllWritesShown = 2000;
std::vector<bool> writes_to_show(const std::vector<RangeWrite>& writes,
                                 std::optional<uint64_t> now);

} // namespace rrvm::gdb
