// Conversion between FpuState and the legacy (FXSAVE) region of KVM's XSAVE area.
#pragma once

#include "vmm/cpu_state.h"

namespace rrvm {

FpuState read_kvm_fpu(int vcpu_fd);
void write_kvm_fpu(int vcpu_fd, const FpuState& fpu);

} // namespace rrvm
