#include "debugger/write_history.h"

#include <chrono>
#include <iomanip>
#include <sstream>

#include "debugger/hex.h"
#include "vmm/error.h"
#include "vmm/hex_text.h"
#include "vmm/page_walker.h"

namespace rrvm::gdb {

namespace {

// The scan stops this often to poll for ^C and to see whether a progress line is due. A line
// comes more often than gdb's default remote timeout (2 s): gdb, waiting for the monitor
// command's reply, takes each line as a sign of life instead of giving up on the packet.
constexpr uint64_t kSlice = 1'000'000;
constexpr std::chrono::seconds kProgressInterval{1};
constexpr size_t kWritesBetweenProgressChecks = 4096;

// The range through the page tables the guest has now, as its watchpoints see it.
RangeBytes read_range(Machine& machine, const WatchedRange& range) {
  RangeBytes content(range.length);
  const CpuState cpu = machine.engine().state();
  std::vector<uint8_t> page;
  for (uint64_t done = 0; done < range.length;) {
    const uint64_t linear = range.address + done;
    page.resize(std::min(range.length - done, kPageSize - linear % kPageSize));
    const size_t n = read_linear(machine.memory(), cpu, linear, page);
    for (size_t i = 0; i < n; ++i)
      content[done + i] = page[i];
    done += page.size();
  }
  return content;
}

std::string describe_end(const RunOutcome& outcome) {
  switch (outcome.kind) {
  case RunOutcome::Kind::kGuestExit:
    return "the guest exited with status " + std::to_string(outcome.status);
  case RunOutcome::Kind::kPoweredOff:
    return "the guest powered off";
  case RunOutcome::Kind::kReset:
    return "the guest reset the machine";
  case RunOutcome::Kind::kHung:
    return "the guest hung";
  default:
    return "the replay stopped: " + outcome.message.substr(0, outcome.message.find('\n'));
  }
}

std::string describe_progress(ReplaySession& session) {
  std::ostringstream line;
  line << "rrvm: history scan at trace event " << session.gate().position();
  if (const std::optional<uint64_t> total = session.total_events(); total && *total > 0)
    line << " of " << *total << " (" << session.gate().position() * 100 / *total << " %)";
  line << "\n";
  return line.str();
}

} // namespace

std::vector<HwBreakpoint> write_watchpoints(const WatchedRange& range) {
  std::vector<HwBreakpoint> points;
  for (uint64_t address = range.address, end = range.address + range.length; address < end;) {
    uint8_t size = 8;
    while (address % size != 0 || address + size > end)
      size /= 2;
    points.push_back({address, WatchKind::kWrite, size});
    address += size;
  }
  return points;
}

std::optional<WriteHistory> scan_write_history(ReplaySession& session, const WatchedRange& range,
                                               const ScanHooks& hooks) {
  const auto started = std::chrono::steady_clock::now();
  Machine& machine = session.machine();
  Engine& engine = machine.engine();
  if (!engine.instruction_count())
    throw Error(ExitCode::kUsage, "a history scan needs an emu replay (exact positions)");
  const std::vector<HwBreakpoint> points = write_watchpoints(range);
  if (points.size() > engine.max_hw_breakpoints())
    throw Error(ExitCode::kUsage, "the range needs " + std::to_string(points.size()) +
                                      " watchpoints; the engine has " +
                                      std::to_string(engine.max_hw_breakpoints()));
  engine.set_hw_breakpoints(points);

  WriteHistory history{range, {}, 0, "", 0};
  RangeBytes last = read_range(machine, range);
  auto next_progress = started + kProgressInterval;
  const auto report_progress = [&] {
    if (!hooks.progress || std::chrono::steady_clock::now() < next_progress) return;
    hooks.progress(describe_progress(session));
    next_progress = std::chrono::steady_clock::now() + kProgressInterval;
  };
  for (;;) {
    machine.stop_at(*engine.instruction_count() + kSlice);
    RunOutcome outcome;
    try {
      outcome = machine.run();
    } catch (const Error& e) {
      // The end of a recording that was stopped, or of a truncated trace: the history covers
      // what the trace holds. A divergence is no history at all.
      if (e.code() != ExitCode::kStopped && e.code() != ExitCode::kBadInput) throw;
      history.end = e.what();
      break;
    }
    if (outcome.kind == RunOutcome::Kind::kDebugStop) {
      if (outcome.debug.cause != DebugCause::kWatchWrite || !outcome.debug.accessor_rip)
        throw Error(ExitCode::kInternal, "a history scan stopped without a write it can name");
      RangeBytes now = read_range(machine, range);
      history.writes.push_back(
          {*engine.instruction_count(), *outcome.debug.accessor_rip, std::move(last), now});
      last = std::move(now);
      // A range written all the time stops here far more often than at the slice's end.
      if (history.writes.size() % kWritesBetweenProgressChecks == 0) report_progress();
      continue;
    }
    if (outcome.kind != RunOutcome::Kind::kPositionReached) {
      history.end = describe_end(outcome);
      break;
    }
    if (hooks.interrupted && hooks.interrupted()) return std::nullopt;
    report_progress();
  }
  machine.stop_at(std::nullopt);
  history.end_position = *engine.instruction_count();
  history.scan_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return history;
}

std::string describe_bytes(const RangeBytes& bytes) {
  const size_t n = bytes.size();
  const bool known = std::all_of(bytes.begin(), bytes.end(), [](auto b) { return b.has_value(); });
  if (known && (n == 1 || n == 2 || n == 4 || n == 8)) {
    uint64_t value = 0;
    for (size_t i = n; i-- > 0;)
      value = value << 8 | *bytes[i];
    return hex_text(value);
  }
  std::string text;
  for (const std::optional<uint8_t>& b : bytes) {
    if (!text.empty()) text += ' ';
    text += b ? hex_byte(*b) : "??";
  }
  return text;
}

std::string describe_write(const RangeWrite& write) {
  std::ostringstream line;
  line << std::setw(14) << write.position << "  " << std::left << std::setw(18)
       << hex_text(write.rip) << "  " << describe_bytes(write.before) << " -> "
       << describe_bytes(write.after);
  if (write.before == write.after) line << "  (same value)";
  return line.str();
}

std::vector<bool> writes_to_show(const std::vector<RangeWrite>& writes,
                                 std::optional<uint64_t> now) {
  constexpr size_t kAroundNow = 20, kAtTheEnds = 10;
  std::vector<bool> shown(writes.size(), writes.size() <= kAllWritesShown);
  if (writes.size() <= kAllWritesShown) return shown;
  auto show = [&](size_t from, size_t to) {
    std::fill(shown.begin() + long(from), shown.begin() + long(std::min(to, writes.size())), true);
  };
  show(0, kAtTheEnds);
  show(writes.size() - kAtTheEnds, writes.size());
  if (now) {
    const size_t next =
        size_t(std::partition_point(writes.begin(), writes.end(),
                                    [&](const RangeWrite& w) { return w.position <= *now; }) -
               writes.begin());
    show(next - std::min(next, kAroundNow), next + kAroundNow);
  }
  for (size_t i = 0; i < writes.size(); ++i)
    if (writes[i].before == writes[i].after) show(i - std::min<size_t>(i, 1), i + 1);
  return shown;
}

} // namespace rrvm::gdb
