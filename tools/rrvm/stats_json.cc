#include "tools/rrvm/stats_json.h"

#include <cmath>
#include <cstdio>
#include <ostream>
#include <string_view>

namespace rrvm {

namespace {

void put_string(std::ostream& out, std::string_view s) {
  out << '"';
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out << '\\' << c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
      out << escaped;
    } else {
      out << c;
    }
  }
  out << '"';
}

void put_number(std::ostream& out, double value) {
  // JSON has no NaN or infinity; an empty interval gives 0.
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", std::isfinite(value) ? value : 0.0);
  out << text;
}

void put_counters(std::ostream& out, const VmStats& counters) {
  out << "[";
  for (unsigned i = 0; i < static_cast<unsigned>(VmStat::kCount); ++i) {
    const VmStat stat = static_cast<VmStat>(i);
    const VmStatInfo& info = vm_stat_info(stat);
    out << (i ? ",\n    " : "\n    ") << "{\"id\": ";
    put_string(out, info.id);
    out << ", \"description\": ";
    put_string(out, info.description);
    out << ", \"value\": " << counters.get(stat)
        << ", \"deterministic\": " << (info.deterministic ? "true" : "false") << "}";
  }
  out << "]";
}

void put_interval(std::ostream& out, const StatsInterval& interval) {
  out << "{\"start_ns\": " << interval.start_ns << ", \"end_ns\": " << interval.end_ns
      << ", \"runtime_ns\": " << interval.runtime_ns << ", \"ready_ns\": " << interval.ready_ns
      << ", \"idle_ns\": " << interval.idle_ns << ", \"exits\": " << interval.exits
      << ", \"ready_pct\": ";
  put_number(out, interval.ready_percent());
  out << ", \"idle_pct\": ";
  put_number(out, interval.idle_percent());
  out << ", \"exits_per_s\": ";
  put_number(out, interval.exits_per_second());
  out << ", \"exits_by_reason\": {";
  const char* separator = "";
  for (const auto& [reason, count] : interval.exits_by_reason) {
    out << separator;
    put_string(out, reason);
    out << ": " << count;
    separator = ", ";
  }
  out << "}}";
}

} // namespace

void write_stats_json(std::ostream& out, const StatsReport& report) {
  out << "{\"vcpus\": [{\"vcpu\": 0, \"stats\": ";
  put_counters(out, report.counters);
  out << "}],\n\"summary\": " << (report.has_summary ? "true" : "false")
      << ",\n\"guest_exit_status\": ";
  if (report.guest_exit_status)
    out << *report.guest_exit_status;
  else
    out << "null";
  out << ",\n\"truncated\": ";
  if (report.truncation.empty())
    out << "null";
  else
    put_string(out, report.truncation);
  out << ",\n\"unknown_stats\": [";
  for (size_t i = 0; i < report.unknown_counters.size(); ++i) {
    out << (i ? ", " : "") << "{\"description\": ";
    put_string(out, report.unknown_counters[i].first);
    out << ", \"value\": " << report.unknown_counters[i].second << "}";
  }
  out << "],\n\"intervals\": [";
  for (size_t i = 0; i < report.intervals.size(); ++i) {
    out << (i ? ",\n  " : "\n  ");
    put_interval(out, report.intervals[i]);
  }
  out << "]}\n";
}

} // namespace rrvm
