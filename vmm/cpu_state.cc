#include "vmm/cpu_state.h"

namespace rrvm {

const char* CpuState::mode_name() const {
  if (!protected_mode()) return "real mode";
  if (rflags & rflags::kVM) return "virtual-8086 mode";
  if (long_mode_active()) return cs.l ? "64-bit long mode" : "compatibility mode";
  if (paging())
    return cs.db ? "32-bit protected mode with paging" : "16-bit protected mode with paging";
  return cs.db ? "32-bit protected mode" : "16-bit protected mode";
}

} // namespace rrvm
