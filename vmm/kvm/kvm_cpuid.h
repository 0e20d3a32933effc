// The fixed CPUID table for KVM guests: what the host's KVM supports, minus every feature whose
// answers cannot be reproduced on replay (docs/DESIGN.md, "kvm").
#pragma once

#include "vmm/cpuid_table.h"

namespace rrvm {

CpuidTable fixed_kvm_cpuid(int kvm_fd);
void set_kvm_cpuid(int vcpu_fd, const CpuidTable& table);

} // namespace rrvm
