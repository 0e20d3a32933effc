// Conversion between rrvm's CpuState and KVM's register structures.
#pragma once

#include "vmm/cpu_state.h"

namespace rrvm {

CpuState read_kvm_state(int vcpu_fd);
void write_kvm_state(int vcpu_fd, const CpuState& state);

} // namespace rrvm
