#include "tests/emu/kvm_runner.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rrvm::test {

namespace {

kvm_segment to_kvm(const Segment& s) {
  kvm_segment k{};
  k.base = s.base;
  k.limit = s.limit;
  k.selector = s.selector;
  k.type = s.type;
  k.present = s.present;
  k.dpl = s.dpl;
  k.db = s.db;
  k.s = s.s;
  k.l = s.l;
  k.g = s.g;
  k.avl = s.avl;
  k.unusable = s.unusable;
  return k;
}

} // namespace

KvmRunner::KvmRunner(uint64_t ram_size) : mem_size_(ram_size) {
  auto fail = [&](const char* what) { error_ = std::string(what) + ": " + std::strerror(errno); };
  kvm_fd_ = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm_fd_ < 0) {
    fail("open /dev/kvm");
    return;
  }
  vm_fd_ = ioctl(kvm_fd_, KVM_CREATE_VM, 0);
  if (vm_fd_ < 0) {
    fail("KVM_CREATE_VM");
    return;
  }
  void* m = mmap(nullptr, mem_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    fail("mmap guest memory");
    return;
  }
  mem_ = static_cast<uint8_t*>(m);
  kvm_userspace_memory_region region{};
  region.slot = 0;
  region.guest_phys_addr = 0;
  region.memory_size = mem_size_;
  region.userspace_addr = reinterpret_cast<uint64_t>(mem_);
  if (ioctl(vm_fd_, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
    fail("KVM_SET_USER_MEMORY_REGION");
    return;
  }
  int vcpu = ioctl(vm_fd_, KVM_CREATE_VCPU, 0);
  if (vcpu < 0) {
    fail("KVM_CREATE_VCPU");
    return;
  }
  int size = ioctl(kvm_fd_, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (size <= 0) {
    close(vcpu);
    {
      fail("KVM_GET_VCPU_MMAP_SIZE");
      return;
    }
  }
  run_size_ = size_t(size);
  void* r = mmap(nullptr, run_size_, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
  if (r == MAP_FAILED) {
    close(vcpu);
    {
      fail("mmap kvm_run");
      return;
    }
  }
  run_ = r;
  vcpu_fd_ = vcpu;
}

KvmRunner::~KvmRunner() {
  if (run_) munmap(run_, run_size_);
  if (mem_) munmap(mem_, mem_size_);
  for (int fd : {vcpu_fd_, vm_fd_, kvm_fd_})
    if (fd >= 0) close(fd);
}

std::optional<CpuState> KvmRunner::run(const CpuState& s) {
  kvm_sregs sr{};
  if (ioctl(vcpu_fd_, KVM_GET_SREGS, &sr) < 0) {
    error_ = std::string("KVM_GET_SREGS: ") + std::strerror(errno);
    return std::nullopt;
  }
  sr.cs = to_kvm(s.cs);
  sr.ds = to_kvm(s.ds);
  sr.es = to_kvm(s.es);
  sr.fs = to_kvm(s.fs);
  sr.gs = to_kvm(s.gs);
  sr.ss = to_kvm(s.ss);
  sr.tr = to_kvm(s.tr);
  sr.ldt = to_kvm(s.ldtr);
  sr.gdt.base = s.gdt.base;
  sr.gdt.limit = s.gdt.limit;
  sr.idt.base = s.idt.base;
  sr.idt.limit = s.idt.limit;
  sr.cr0 = s.cr0;
  sr.cr3 = s.cr3;
  sr.cr4 = s.cr4;
  sr.efer = s.efer;
  if (ioctl(vcpu_fd_, KVM_SET_SREGS, &sr) < 0) {
    error_ = std::string("KVM_SET_SREGS: ") + std::strerror(errno);
    return std::nullopt;
  }
  kvm_regs r{};
  const uint64_t* g = s.gpr.data();
  r.rax = g[kRax], r.rbx = g[kRbx], r.rcx = g[kRcx], r.rdx = g[kRdx];
  r.rsi = g[kRsi], r.rdi = g[kRdi], r.rsp = g[kRsp], r.rbp = g[kRbp];
  r.r8 = g[kR8], r.r9 = g[kR9], r.r10 = g[kR10], r.r11 = g[kR11];
  r.r12 = g[kR12], r.r13 = g[kR13], r.r14 = g[kR14], r.r15 = g[kR15];
  r.rip = s.rip;
  r.rflags = s.rflags;
  if (ioctl(vcpu_fd_, KVM_SET_REGS, &r) < 0) {
    error_ = std::string("KVM_SET_REGS: ") + std::strerror(errno);
    return std::nullopt;
  }
  auto* kr = static_cast<kvm_run*>(run_);
  for (;;) {
    if (ioctl(vcpu_fd_, KVM_RUN, 0) < 0) {
      if (errno == EINTR) continue;
      error_ = std::string("KVM_RUN: ") + std::strerror(errno);
      return std::nullopt;
    }
    if (kr->exit_reason == KVM_EXIT_IO) break;
    error_ = "unexpected KVM exit " + std::to_string(kr->exit_reason);
    return std::nullopt;
  }
  if (ioctl(vcpu_fd_, KVM_GET_REGS, &r) < 0 || ioctl(vcpu_fd_, KVM_GET_SREGS, &sr) < 0) {
    error_ = std::string("KVM_GET_REGS: ") + std::strerror(errno);
    return std::nullopt;
  }
  CpuState out = s;
  uint64_t* o = out.gpr.data();
  o[kRax] = r.rax, o[kRbx] = r.rbx, o[kRcx] = r.rcx, o[kRdx] = r.rdx;
  o[kRsi] = r.rsi, o[kRdi] = r.rdi, o[kRsp] = r.rsp, o[kRbp] = r.rbp;
  o[kR8] = r.r8, o[kR9] = r.r9, o[kR10] = r.r10, o[kR11] = r.r11;
  o[kR12] = r.r12, o[kR13] = r.r13, o[kR14] = r.r14, o[kR15] = r.r15;
  out.rip = r.rip;
  out.rflags = r.rflags;
  return out;
}

} // namespace rrvm::test
