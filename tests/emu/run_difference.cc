#include "tests/emu/run_difference.h"

#include <algorithm>

namespace rrvm::test {

RunDifference& RunDifference::registers(const CpuState& a, const CpuState& b) {
  for (unsigned r = 0; r < 16; ++r)
    if (a.gpr[r] != b.gpr[r])
      out_ << "gpr " << std::dec << r << std::hex << ": " << first_ << " " << a.gpr[r] << " "
           << second_ << " " << b.gpr[r] << "\n";
  field("rip", a.rip, b.rip);
  field("rflags", a.rflags, b.rflags);
  return field("cr2", a.cr2, b.cr2);
}

RunDifference& RunDifference::field(const char* name, uint64_t a, uint64_t b) {
  if (a != b) out_ << name << ": " << first_ << " " << a << " " << second_ << " " << b << "\n";
  return *this;
}

RunDifference& RunDifference::count(uint64_t a, uint64_t b) {
  if (a != b)
    out_ << "count: " << first_ << " " << std::dec << a << " " << second_ << " " << b << std::hex
         << "\n";
  return *this;
}

RunDifference& RunDifference::exits(const std::vector<std::string>& a,
                                    const std::vector<std::string>& b) {
  if (a == b) return *this;
  out_ << "exits differ (" << first_ << " | " << second_ << "):\n";
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i)
    out_ << "  " << (i < a.size() ? a[i] : "-") << " | " << (i < b.size() ? b[i] : "-") << "\n";
  return *this;
}

} // namespace rrvm::test
