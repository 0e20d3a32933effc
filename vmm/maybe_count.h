// An instruction count an engine may not keep (kvm keeps none), or a limit that may not be set,
// as one 64-bit word: all ones means none. std::optional<uint64_t> says the same, but GCC returns
// and passes it through the stack, its flag stored as a byte and loaded back as part of a word:
// a store-forwarding stall at each of the several places an exit's count passes (on emu's
// exit-heavy guests a fifth of an exit's time went there). A count never reaches 2^64 - 1.
#pragma once

#include <cstdint>
#include <optional>

namespace rrvm {

class MaybeCount {
public:
  constexpr MaybeCount() = default;
  constexpr MaybeCount(std::nullopt_t) {}
  constexpr MaybeCount(uint64_t count) : count_(count) {}
  constexpr MaybeCount(const std::optional<uint64_t>& count) : count_(count.value_or(kNone)) {}

  constexpr bool has_value() const { return count_ != kNone; }
  constexpr explicit operator bool() const { return has_value(); }
  constexpr uint64_t operator*() const { return count_; }
  constexpr uint64_t value_or(uint64_t otherwise) const { return has_value() ? count_ : otherwise; }
  constexpr operator std::optional<uint64_t>() const {
    return has_value() ? std::optional<uint64_t>(count_) : std::nullopt;
  }
  friend constexpr bool operator==(MaybeCount, MaybeCount) = default;

private:
  static constexpr uint64_t kNone = ~0ull;
  uint64_t count_ = kNone;
};

} // namespace rrvm
