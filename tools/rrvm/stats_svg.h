// `rrvm stats --plot FILE.svg`: a StatsReport's intervals as a self-contained SVG timeline, two
// panels sharing the time axis: exits per second (total and by reason) and ready % / idle %.
// Each series is a <polyline class="series" data-series="NAME"> with a legend entry
// <g class="legend" data-series="NAME">, so tests and scripts can find them.
#pragma once

#include <iosfwd>
#include <string>

#include "tools/rrvm/stats_report.h"

namespace rrvm {

void write_stats_svg(std::ostream& out, const StatsReport& report, const std::string& title);

} // namespace rrvm
