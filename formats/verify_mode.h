// What a recording logs to verify its replay (the trace header's machine.verify_mode).
#pragma once

#include <optional>
#include <string>

namespace rrvm {

enum class VerifyMode {
  kHashes, // emu: only a rolling hash of the reports, checked every kVerifyReports (since 2.0)
  kExits,  // every exit, read value and injection, checked one by one
  kFull,   // kExits and a hash of the registers at every exit
};

inline const char* verify_mode_name(VerifyMode mode) {
  switch (mode) {
  case VerifyMode::kHashes:
    return "hashes";
  case VerifyMode::kExits:
    return "exits";
  case VerifyMode::kFull:
    return "full";
  }
  return "unknown";
}

inline std::optional<VerifyMode> parse_verify_mode(const std::string& name) {
  for (VerifyMode mode : {VerifyMode::kHashes, VerifyMode::kExits, VerifyMode::kFull})
    if (name == verify_mode_name(mode)) return mode;
  return std::nullopt;
}

// Under kHashes, reports between two boundary checks: the first exit after this many reports
// takes one. A divergence is pinned to such a window.
constexpr uint64_t kVerifyReports = 16 * 1024;

} // namespace rrvm
