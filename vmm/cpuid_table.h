// The fixed CPUID table a guest sees. It is part of the machine configuration (stored in a trace
// header) so a replay answers CPUID exactly as the recording did.
#pragma once

#include <cstdint>
#include <vector>

#include "vmm/virtual_clock.h"

namespace rrvm {

struct CpuidEntry {
  uint32_t function;
  uint32_t index;
  bool indexed; // `index` (ECX) selects among subleaves
  uint32_t eax, ebx, ecx, edx;
};

class CpuidTable {
public:
  CpuidTable() = default;
  explicit CpuidTable(std::vector<CpuidEntry> entries) : entries_(std::move(entries)) {}

  // The answer for (function, index) as a CPU gives it: an unknown function above the highest
  // basic leaf returns the highest basic leaf's data (Intel behaviour), unknown subleaves zeros.
  CpuidEntry lookup(uint32_t function, uint32_t index) const;

  const std::vector<CpuidEntry>& entries() const { return entries_; }

  // The table rrvm's interpreter implements: a generic 64-bit CPU without the nondeterministic
  // features docs/DESIGN.md lists as hidden (RDRAND, RDSEED, RDTSCP, RDPID, TSC deadline, PMU, KVM
  // leaves). With a clock of the instruction count (icount, adaptive) it also advertises the
  // TSC's frequency (leaves 0x15 and 0x16: 1 GHz, one tick per guest ns) and an invariant TSC, so
  // a guest calibrates the same rate on every run; with the per-exit host clock (emu traces of
  // format 1.1) the TSC counts instructions at no fixed rate against guest time, so nothing is
  // claimed.
  static CpuidTable emulated(ClockMode clock = ClockMode::kHost);

private:
  std::vector<CpuidEntry> entries_;
};

// CPUID feature bits the machine hides from every guest, because their answers cannot be
// reproduced on replay.
namespace cpuid_hidden {
constexpr uint32_t kLeaf1EcxRdrand = 1u << 30;
constexpr uint32_t kLeaf1EcxTscDeadline = 1u << 24;
constexpr uint32_t kLeaf1EcxPdcm = 1u << 15;
constexpr uint32_t kLeaf7EbxRdseed = 1u << 18;
constexpr uint32_t kLeaf7EcxRdpid = 1u << 22;
constexpr uint32_t kLeaf7EbxRtm = 1u << 11;
constexpr uint32_t kLeaf7EbxHle = 1u << 4;
constexpr uint32_t kExt1EdxRdtscp = 1u << 27;
} // namespace cpuid_hidden

} // namespace rrvm
