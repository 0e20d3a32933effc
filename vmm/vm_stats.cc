#include "vmm/vm_stats.h"

#include <cstdio>
#include <ostream>

namespace rrvm {

namespace {
constexpr VmStatInfo kInfo[] = {
#define RRVM_STAT_INFO(id, desc, det) {#id, desc, det},
    RRVM_VM_STATS(RRVM_STAT_INFO)
#undef RRVM_STAT_INFO
};
} // namespace

const VmStatInfo& vm_stat_info(VmStat stat) {
  return kInfo[static_cast<unsigned>(stat)];
}

void VmStats::print(std::ostream& out, unsigned vcpu) const {
  out << "vcpu" << vcpu << " stats:\n";
  char line[256];
  for (unsigned i = 0; i < values_.size(); ++i) {
    std::snprintf(line, sizeof line, "%-40s\t%lu\n", kInfo[i].description,
                  static_cast<unsigned long>(values_[i]));
    out << line;
  }
}

} // namespace rrvm
