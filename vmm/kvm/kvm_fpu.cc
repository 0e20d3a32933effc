#include "vmm/kvm/kvm_fpu.h"

#include <cstring>
#include <linux/kvm.h>
#include <sys/ioctl.h>

#include "vmm/kvm/kvm_check.h"

namespace rrvm {

FpuState read_kvm_fpu(int vcpu_fd) {
  kvm_fpu k{};
  check_kvm(ioctl(vcpu_fd, KVM_GET_FPU, &k), "KVM_GET_FPU");
  FpuState fpu;
  for (unsigned i = 0; i < 8; ++i)
    std::memcpy(fpu.st[i].data(), k.fpr[i], fpu.st[i].size());
  fpu.fcw = k.fcw;
  fpu.fsw = k.fsw;
  fpu.ftw = k.ftwx;
  fpu.fop = k.last_opcode;
  // kvm_fpu keeps the 64-bit FXSAVE form of the pointers: no selectors.
  fpu.fip = k.last_ip;
  fpu.fdp = k.last_dp;
  for (unsigned i = 0; i < 16; ++i)
    std::memcpy(fpu.xmm[i].data(), k.xmm[i], fpu.xmm[i].size());
  fpu.mxcsr = k.mxcsr;
  return fpu;
}

void write_kvm_fpu(int vcpu_fd, const FpuState& fpu) {
  kvm_fpu k{};
  for (unsigned i = 0; i < 8; ++i)
    std::memcpy(k.fpr[i], fpu.st[i].data(), fpu.st[i].size());
  k.fcw = fpu.fcw;
  k.fsw = fpu.fsw;
  k.ftwx = fpu.ftw;
  k.last_opcode = fpu.fop;
  k.last_ip = fpu.fip;
  k.last_dp = fpu.fdp;
  for (unsigned i = 0; i < 16; ++i)
    std::memcpy(k.xmm[i], fpu.xmm[i].data(), fpu.xmm[i].size());
  k.mxcsr = fpu.mxcsr;
  check_kvm(ioctl(vcpu_fd, KVM_SET_FPU, &k), "KVM_SET_FPU");
}

} // namespace rrvm
