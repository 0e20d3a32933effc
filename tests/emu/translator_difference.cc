#include "tests/emu/translator_difference.h"

namespace rrvm::test {

TranslatedDifference& TranslatedDifference::registers(const CpuState& interpreted,
                                                      const CpuState& translated) {
  for (unsigned r = 0; r < 16; ++r)
    if (interpreted.gpr[r] != translated.gpr[r])
      out_ << "gpr " << std::dec << r << std::hex << ": interpreted " << interpreted.gpr[r]
           << " translated " << translated.gpr[r] << "\n";
  field("rip", interpreted.rip, translated.rip);
  field("rflags", interpreted.rflags, translated.rflags);
  return field("cr2", interpreted.cr2, translated.cr2);
}

TranslatedDifference& TranslatedDifference::field(const char* name, uint64_t interpreted,
                                                  uint64_t translated) {
  if (interpreted != translated)
    out_ << name << ": interpreted " << interpreted << " translated " << translated << "\n";
  return *this;
}

TranslatedDifference& TranslatedDifference::count(uint64_t interpreted, uint64_t translated) {
  if (interpreted != translated)
    out_ << "count: interpreted " << std::dec << interpreted << " translated " << translated
         << std::hex << "\n";
  return *this;
}

} // namespace rrvm::test
