#include "vmm/kvm/kvm_fpu.h"

#include <cstddef>
#include <cstring>
#include <linux/kvm.h>
#include <sys/ioctl.h>

#include "vmm/kvm/kvm_check.h"
#include "vmm/kvm/kvm_flexible_arrays.h"

namespace rrvm {

namespace {

// The legacy region of the XSAVE area is the 64-bit FXSAVE image. KVM_GET_XSAVE is used rather
// than KVM_GET_FPU, whose MXCSR reads as 0 on some hosts (seen on KVM's PVM module).
namespace fxsave {
constexpr size_t kFcw = 0, kFsw = 2, kFtw = 4, kFop = 6, kFip = 8, kFdp = 16, kMxcsr = 24, kSt = 32,
                 kStStride = 16, kXmm = 160, kXmmStride = 16;
}
// XSAVE header: the XSTATE_BV bitmap says which components hold state (bit 0 x87, bit 1 SSE);
// a clear bit means "initial state", so both are set when rrvm writes them.
constexpr size_t kXstateBv = 512;
constexpr uint64_t kX87AndSse = 0x3;

template <typename T> T load(const KvmXsave& x, size_t offset) {
  T v;
  std::memcpy(&v, reinterpret_cast<const uint8_t*>(x.region) + offset, sizeof v);
  return v;
}

template <typename T> void store(KvmXsave& x, size_t offset, T v) {
  std::memcpy(reinterpret_cast<uint8_t*>(x.region) + offset, &v, sizeof v);
}

uint8_t* at(KvmXsave& x, size_t offset) {
  return reinterpret_cast<uint8_t*>(x.region) + offset;
}

} // namespace

FpuState read_kvm_fpu(int vcpu_fd) {
  KvmXsave x{};
  check_kvm(ioctl(vcpu_fd, kKvmGetXsave, &x), "KVM_GET_XSAVE");
  FpuState fpu;
  for (unsigned i = 0; i < 8; ++i)
    std::memcpy(fpu.st[i].data(), at(x, fxsave::kSt + i * fxsave::kStStride), fpu.st[i].size());
  fpu.fcw = load<uint16_t>(x, fxsave::kFcw);
  fpu.fsw = load<uint16_t>(x, fxsave::kFsw);
  fpu.ftw = load<uint8_t>(x, fxsave::kFtw);
  fpu.fop = load<uint16_t>(x, fxsave::kFop);
  // The 64-bit image keeps the pointers as offsets: no selectors.
  fpu.fip = load<uint64_t>(x, fxsave::kFip);
  fpu.fdp = load<uint64_t>(x, fxsave::kFdp);
  for (unsigned i = 0; i < 16; ++i)
    std::memcpy(fpu.xmm[i].data(), at(x, fxsave::kXmm + i * fxsave::kXmmStride), fpu.xmm[i].size());
  fpu.mxcsr = load<uint32_t>(x, fxsave::kMxcsr);
  return fpu;
}

void write_kvm_fpu(int vcpu_fd, const FpuState& fpu) {
  // Read first so the components rrvm does not model (AVX and later) keep KVM's values.
  KvmXsave x{};
  check_kvm(ioctl(vcpu_fd, kKvmGetXsave, &x), "KVM_GET_XSAVE");
  for (unsigned i = 0; i < 8; ++i)
    std::memcpy(at(x, fxsave::kSt + i * fxsave::kStStride), fpu.st[i].data(), fpu.st[i].size());
  store(x, fxsave::kFcw, fpu.fcw);
  store(x, fxsave::kFsw, fpu.fsw);
  store(x, fxsave::kFtw, fpu.ftw);
  store(x, fxsave::kFop, fpu.fop);
  store(x, fxsave::kFip, fpu.fip);
  store(x, fxsave::kFdp, fpu.fdp);
  for (unsigned i = 0; i < 16; ++i)
    std::memcpy(at(x, fxsave::kXmm + i * fxsave::kXmmStride), fpu.xmm[i].data(), fpu.xmm[i].size());
  store(x, fxsave::kMxcsr, fpu.mxcsr);
  store(x, kXstateBv, load<uint64_t>(x, kXstateBv) | kX87AndSse);
  check_kvm(ioctl(vcpu_fd, kKvmSetXsave, &x), "KVM_SET_XSAVE");
}

} // namespace rrvm
