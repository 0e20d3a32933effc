#include "tools/rrvm/stats_svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <ostream>
#include <string_view>
#include <vector>

namespace rrvm {

namespace {

constexpr double kWidth = 960, kPlotLeft = 80, kPlotRight = 700, kPanelHeight = 220;
constexpr double kTop = 50, kPanelGap = 70;
constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                   "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

std::string escaped(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

// The smallest 1, 2 or 5 × 10^k at least `value`, so axis labels are round.
double round_up(double value) {
  if (value <= 0) return 1;
  const double power = std::pow(10, std::floor(std::log10(value)));
  for (double step : {1.0, 2.0, 5.0, 10.0})
    if (step * power >= value) return step * power;
  return 10 * power;
}

struct Series {
  std::string name;
  std::function<double(const StatsInterval&)> value;
};

class Plot {
public:
  Plot(std::ostream& out, const StatsReport& report) : out_(out), report_(report) {
    for (const StatsInterval& interval : report.intervals)
      end_s_ = std::max(end_s_, interval.end_ns / 1e9);
    end_s_ = round_up(end_s_);
  }

  void panel(unsigned index, const std::string& y_title, double y_max,
             const std::vector<Series>& series) {
    const double top = kTop + index * (kPanelHeight + kPanelGap);
    const double bottom = top + kPanelHeight;
    auto x = [&](double s) { return kPlotLeft + (kPlotRight - kPlotLeft) * s / end_s_; };
    auto y = [&](double v) { return bottom - kPanelHeight * std::min(v, y_max) / y_max; };

    out_ << "<g class=\"panel\">\n";
    for (int tick = 0; tick <= 5; ++tick) {
      const double value = y_max * tick / 5, at = y(value);
      out_ << "<line x1=\"" << kPlotLeft << "\" y1=\"" << at << "\" x2=\"" << kPlotRight
           << "\" y2=\"" << at << "\" stroke=\"#e0e0e0\"/>\n<text x=\"" << kPlotLeft - 6
           << "\" y=\"" << at + 4 << "\" text-anchor=\"end\">" << number(value) << "</text>\n";
      const double seconds = end_s_ * tick / 5;
      out_ << "<line x1=\"" << x(seconds) << "\" y1=\"" << bottom << "\" x2=\"" << x(seconds)
           << "\" y2=\"" << bottom + 5 << "\" stroke=\"black\"/>\n<text x=\"" << x(seconds)
           << "\" y=\"" << bottom + 18 << "\" text-anchor=\"middle\">" << number(seconds)
           << "</text>\n";
    }
    out_ << "<path d=\"M" << kPlotLeft << " " << top << " V" << bottom << " H" << kPlotRight
         << "\" fill=\"none\" stroke=\"black\"/>\n"
         << "<text x=\"" << (kPlotLeft + kPlotRight) / 2 << "\" y=\"" << bottom + 36
         << "\" text-anchor=\"middle\">host time (s)</text>\n"
         << "<text transform=\"translate(20 " << (top + bottom) / 2
         << ") rotate(-90)\" text-anchor=\"middle\">" << escaped(y_title) << "</text>\n";

    for (size_t i = 0; i < series.size(); ++i) {
      const char* color = kColors[(color_++) % std::size(kColors)];
      const std::string name = escaped(series[i].name);
      out_ << "<polyline class=\"series\" data-series=\"" << name << "\" fill=\"none\" stroke=\""
           << color << "\" stroke-width=\"1.5\" points=\"";
      for (const StatsInterval& interval : report_.intervals)
        out_ << number(x(interval.end_ns / 1e9)) << "," << number(y(series[i].value(interval)))
             << " ";
      out_ << "\"/>\n";
      // Markers too, so that a run with a single interval still shows its values.
      out_ << "<g fill=\"" << color << "\">";
      for (const StatsInterval& interval : report_.intervals)
        out_ << "<circle cx=\"" << number(x(interval.end_ns / 1e9)) << "\" cy=\""
             << number(y(series[i].value(interval))) << "\" r=\"2.5\"/>";
      out_ << "</g>\n";
      const double legend_y = top + 10 + 18 * i;
      out_ << "<g class=\"legend\" data-series=\"" << name << "\"><rect x=\"" << kPlotRight + 20
           << "\" y=\"" << legend_y - 9 << "\" width=\"14\" height=\"10\" fill=\"" << color
           << "\"/><text x=\"" << kPlotRight + 40 << "\" y=\"" << legend_y << "\">" << name
           << "</text></g>\n";
    }
    out_ << "</g>\n";
  }

private:
  std::ostream& out_;
  const StatsReport& report_;
  double end_s_ = 0;
  size_t color_ = 0;
};

} // namespace

void write_stats_svg(std::ostream& out, const StatsReport& report, const std::string& title) {
  // Exits per second: the total, then each reason the trace has, most frequent first.
  std::map<std::string, uint64_t> reason_totals;
  for (const StatsInterval& interval : report.intervals)
    for (const auto& [reason, count] : interval.exits_by_reason)
      reason_totals[reason] += count;
  std::vector<std::pair<std::string, uint64_t>> reasons(reason_totals.begin(), reason_totals.end());
  std::stable_sort(reasons.begin(), reasons.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<Series> rates = {{"total exits/s", &StatsInterval::exits_per_second}};
  double rate_max = 0;
  for (const StatsInterval& interval : report.intervals)
    rate_max = std::max(rate_max, interval.exits_per_second());
  for (const auto& [reason, total] : reasons) {
    rates.push_back({reason + " exits/s", [reason](const StatsInterval& interval) {
                       auto it = interval.exits_by_reason.find(reason);
                       if (it == interval.exits_by_reason.end() || !interval.length_ns())
                         return 0.0;
                       return double(it->second) * 1e9 / double(interval.length_ns());
                     }});
  }
  const std::vector<Series> shares = {{"ready %", &StatsInterval::ready_percent},
                                      {"idle %", &StatsInterval::idle_percent}};

  const double height = kTop + 2 * kPanelHeight + kPanelGap + 50;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\"" << height
      << "\" viewBox=\"0 0 " << kWidth << " " << height
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << kPlotLeft << "\" y=\"24\" font-size=\"16\">" << escaped(title)
      << "</text>\n";
  if (report.intervals.empty())
    out << "<text x=\"" << kPlotLeft << "\" y=\"" << kTop + kPanelHeight / 2
        << "\">no statistics samples in this trace</text>\n";
  Plot plot(out, report);
  plot.panel(0, "exits per second", round_up(rate_max), rates);
  plot.panel(1, "% of interval", 100, shares);
  out << "</svg>\n";
}

} // namespace rrvm
