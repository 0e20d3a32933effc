#include "tools/rrvm/stats_report.h"

#include <cmath>

#include "formats/trace_reader.h"
#include "vmm/engine.h"
#include "vmm/exit_counts.h"
#include "vmm/host_sampler.h"

namespace rrvm {

namespace {

double percent(uint64_t part_ns, uint64_t whole_ns) {
  return whole_ns ? 100.0 * double(part_ns) / double(whole_ns) : 0;
}

} // namespace

double StatsInterval::ready_percent() const {
  return rrvm::ready_percent(ready_ns, length_ns());
}

double StatsInterval::idle_percent() const {
  return percent(idle_ns, length_ns());
}

double StatsInterval::exits_per_second() const {
  return length_ns() ? double(exits) * 1e9 / double(length_ns()) : 0;
}

StatsReport read_stats_report(const std::string& trace_path) {
  TraceReader reader(trace_path);
  StatsReport report;
  if (const auto& footer = reader.footer()) {
    report.has_summary = true;
    report.guest_exit_status = footer->summary.guest_exit_status;
    for (const auto& [description, value] : footer->summary.stats) {
      if (auto stat = vm_stat_by_description(description))
        report.counters.set(*stat, value);
      else
        report.unknown_counters.emplace_back(description, value);
    }
  }

  // Every exit a sample counts is logged before the sample, so the exits between two samples in
  // the event stream are exactly that interval's.
  StatsSampleEvent previous{};
  StatsInterval current;
  VmStats rebuilt;
  Event event;
  while (reader.next(event)) {
    if (const auto* exit = std::get_if<ExitEvent>(&event)) {
      const auto reason = ExitReason(exit->reason);
      ++current.exits_by_reason[exit_reason_name(reason)];
      count_exits(rebuilt, reason);
    } else if (std::holds_alternative<InjectionEvent>(event)) {
      rebuilt.add(VmStat::VCPU_EXTINT_COUNT);
    } else if (const auto* guest_exit = std::get_if<GuestExitEvent>(&event)) {
      if (!report.has_summary) report.guest_exit_status = guest_exit->status;
    } else if (const auto* sample = std::get_if<StatsSampleEvent>(&event)) {
      current.start_ns = previous.host_ns;
      current.end_ns = sample->host_ns;
      current.runtime_ns = sample->runtime_ns - previous.runtime_ns;
      current.ready_ns = sample->ready_ns - previous.ready_ns;
      current.idle_ns = sample->idle_ns - previous.idle_ns;
      current.exits = sample->exits - previous.exits;
      // A --verify hashes trace logs no exits: its samples count them by reason instead.
      for (size_t reason = 0; reason < sample->exits_by_reason.size(); ++reason) {
        if (const uint64_t n = sample->exits_by_reason[reason])
          current.exits_by_reason[exit_reason_name(ExitReason(reason))] += n;
      }
      report.intervals.push_back(std::move(current));
      current = {};
      previous = *sample;
    }
  }
  if (!reader.status().complete()) report.truncation = reader.status().reason;
  report.every_event = reader.status().every_event;
  if (!report.has_summary) {
    rebuilt.set(VmStat::VCPU_TOTAL_RUNTIME, previous.runtime_ns);
    rebuilt.set(VmStat::VCPU_IDLE_TICKS, previous.idle_ns);
    rebuilt.set(VmStat::RRVM_CPU_READY_NS, previous.ready_ns);
    rebuilt.set(VmStat::RRVM_CPU_READY_PCT100,
                std::llround(ready_percent(previous.ready_ns, previous.host_ns) * 100));
    report.counters = rebuilt;
  }
  return report;
}

} // namespace rrvm
