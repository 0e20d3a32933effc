// What differs between two runs of the same program (by default the interpreter's, then the
// translator's), line by line, for the differential tests' failure messages.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "vmm/cpu_state.h"

namespace rrvm::test {

class RunDifference {
public:
  explicit RunDifference(std::string first = "interpreted", std::string second = "translated")
      : first_(std::move(first)), second_(std::move(second)) {
    out_ << std::hex;
  }
  // Every general register, RIP, RFLAGS and CR2.
  RunDifference& registers(const CpuState& a, const CpuState& b);
  RunDifference& field(const char* name, uint64_t a, uint64_t b);
  RunDifference& count(uint64_t a, uint64_t b); // in decimal
  // Both lists of exit descriptions, side by side, when they differ.
  RunDifference& exits(const std::vector<std::string>& a, const std::vector<std::string>& b);
  // Empty when nothing differs.
  std::string str() const { return out_.str(); }

private:
  std::string first_, second_;
  std::ostringstream out_;
};

} // namespace rrvm::test
