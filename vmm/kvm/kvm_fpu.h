// Conversion between FpuState and KVM's kvm_fpu (the FXSAVE image's fields).
#pragma once

#include "vmm/cpu_state.h"

namespace rrvm {

FpuState read_kvm_fpu(int vcpu_fd);
void write_kvm_fpu(int vcpu_fd, const FpuState& fpu);

} // namespace rrvm
