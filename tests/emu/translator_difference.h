// What differs between a run on the interpreter and the same run on the translator, line by line,
// for the differential tests' failure messages.
#pragma once

#include <sstream>
#include <string>

#include "vmm/cpu_state.h"

namespace rrvm::test {

class TranslatedDifference {
public:
  TranslatedDifference() { out_ << std::hex; }
  // Every general register, RIP, RFLAGS and CR2.
  TranslatedDifference& registers(const CpuState& interpreted, const CpuState& translated);
  TranslatedDifference& field(const char* name, uint64_t interpreted, uint64_t translated);
  TranslatedDifference& count(uint64_t interpreted, uint64_t translated); // in decimal
  // Empty when nothing differs.
  std::string str() const { return out_.str(); }

private:
  std::ostringstream out_;
};

} // namespace rrvm::test
