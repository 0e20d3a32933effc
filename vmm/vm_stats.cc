#include "vmm/vm_stats.h"

#include <cstdio>
#include <iterator>
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

std::optional<VmStat> vm_stat_by_description(std::string_view description) {
  for (unsigned i = 0; i < std::size(kInfo); ++i)
    if (description == kInfo[i].description) return static_cast<VmStat>(i);
  return std::nullopt;
}

void VmStats::print(std::ostream& out, unsigned vcpu) const {
  out << "vcpu" << vcpu << " stats:\n";
  for (unsigned i = 0; i < values_.size(); ++i)
    print_line(out, kInfo[i].description, values_[i]);
}

void VmStats::print_line(std::ostream& out, const char* description, uint64_t value,
                         std::string_view more) {
  char line[256];
  std::snprintf(line, sizeof line, "%-40s\t%lu", description, static_cast<unsigned long>(value));
  out << line;
  if (!more.empty()) out << '\t' << more;
  out << '\n';
}

} // namespace rrvm
