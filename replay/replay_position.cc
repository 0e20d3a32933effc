#include "replay/replay_position.h"

#include <charconv>

namespace rrvm {

namespace {

std::optional<uint64_t> parse_decimal(std::string_view text) {
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

} // namespace

std::string position_text(const ReplayPosition& position) {
  std::string text = std::to_string(position.instructions);
  if (position.deliveries != 0) {
    text += '+';
    text += std::to_string(position.deliveries);
  }
  return text;
}

std::optional<ReplayPosition> parse_position(std::string_view text) {
  const size_t plus = text.find('+');
  const std::optional<uint64_t> instructions = parse_decimal(text.substr(0, plus));
  if (!instructions) return std::nullopt;
  if (plus == std::string_view::npos) return ReplayPosition{*instructions, 0};
  const std::optional<uint64_t> deliveries = parse_decimal(text.substr(plus + 1));
  if (!deliveries) return std::nullopt;
  return ReplayPosition{*instructions, *deliveries};
}

} // namespace rrvm
