#include "vmm/kvm/kvm_state.h"

#include <cerrno>
#include <cstddef>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <vector>

#include "vmm/error.h"
#include "vmm/kvm/kvm_check.h"
#include "vmm/kvm/kvm_flexible_arrays.h"
#include "vmm/kvm/kvm_fpu.h"
#include "vmm/msr_model.h"

namespace rrvm {

namespace {

Segment from_kvm(const kvm_segment& s) {
  Segment out;
  out.base = s.base;
  out.limit = s.limit;
  out.selector = s.selector;
  out.type = s.type;
  out.s = s.s;
  out.dpl = s.dpl;
  out.present = s.present;
  out.avl = s.avl;
  out.l = s.l;
  out.db = s.db;
  out.g = s.g;
  out.unusable = s.unusable;
  return out;
}

kvm_segment to_kvm(const Segment& s) {
  kvm_segment out{};
  out.base = s.base;
  out.limit = s.limit;
  out.selector = s.selector;
  out.type = s.type;
  out.s = s.s;
  out.dpl = s.dpl;
  out.present = s.present;
  out.avl = s.avl;
  out.l = s.l;
  out.db = s.db;
  out.g = s.g;
  out.unusable = s.unusable;
  return out;
}

// The MSRs MsrState carries (msr_model.h), in KVM_GET_MSRS/KVM_SET_MSRS order.
const std::vector<const MsrModel*>& msr_state_models() {
  static const std::vector<const MsrModel*> models = [] {
    std::vector<const MsrModel*> out;
    for (const MsrModel& m : msr_models())
      if (m.field) out.push_back(&m);
    return out;
  }();
  return models;
}

// The MSRs CpuState carries, laid out for KVM_GET_MSRS/KVM_SET_MSRS.
KvmArray<kvm_msr_entry> msr_array() {
  const auto& models = msr_state_models();
  KvmArray<kvm_msr_entry> msrs(models.size());
  for (size_t i = 0; i < models.size(); ++i)
    msrs.entries()[i].index = models[i]->index;
  return msrs;
}

// KVM's kvm_regs order differs from the x86 encoding order CpuState uses.
constexpr __u64 kvm_regs::*kGprFields[16] = {
    &kvm_regs::rax, &kvm_regs::rcx, &kvm_regs::rdx, &kvm_regs::rbx, &kvm_regs::rsp, &kvm_regs::rbp,
    &kvm_regs::rsi, &kvm_regs::rdi, &kvm_regs::r8,  &kvm_regs::r9,  &kvm_regs::r10, &kvm_regs::r11,
    &kvm_regs::r12, &kvm_regs::r13, &kvm_regs::r14, &kvm_regs::r15,
};

} // namespace

CpuState read_kvm_state(int vcpu_fd) {
  CpuState state;
  kvm_regs regs{};
  check_kvm(ioctl(vcpu_fd, KVM_GET_REGS, &regs), "KVM_GET_REGS");
  for (unsigned i = 0; i < 16; ++i)
    state.gpr[i] = regs.*kGprFields[i];
  state.rip = regs.rip;
  state.rflags = regs.rflags;

  kvm_sregs sregs{};
  check_kvm(ioctl(vcpu_fd, KVM_GET_SREGS, &sregs), "KVM_GET_SREGS");
  state.cs = from_kvm(sregs.cs);
  state.ds = from_kvm(sregs.ds);
  state.es = from_kvm(sregs.es);
  state.fs = from_kvm(sregs.fs);
  state.gs = from_kvm(sregs.gs);
  state.ss = from_kvm(sregs.ss);
  state.tr = from_kvm(sregs.tr);
  state.ldtr = from_kvm(sregs.ldt);
  state.gdt = {sregs.gdt.base, sregs.gdt.limit};
  state.idt = {sregs.idt.base, sregs.idt.limit};
  state.cr0 = sregs.cr0;
  state.cr2 = sregs.cr2;
  state.cr3 = sregs.cr3;
  state.cr4 = sregs.cr4;
  state.cr8 = sregs.cr8;
  state.efer = sregs.efer;

  auto msrs = msr_array();
  int got = ioctl(vcpu_fd, kKvmGetMsrs, msrs.get());
  for (int i = 0; i < got; ++i)
    state.msr.*msr_state_models()[i]->field = msrs.entries()[i].data;

  state.fpu = read_kvm_fpu(vcpu_fd);

  kvm_debugregs debug{};
  if (ioctl(vcpu_fd, KVM_GET_DEBUGREGS, &debug) == 0) {
    for (unsigned i = 0; i < 4; ++i)
      state.dr[i] = debug.db[i];
    state.dr6 = debug.dr6;
    state.dr7 = debug.dr7;
  }
  kvm_vcpu_events events{};
  if (ioctl(vcpu_fd, KVM_GET_VCPU_EVENTS, &events) == 0) {
    state.interrupt_shadow = events.interrupt.shadow != 0;
    if (events.interrupt.injected) state.pending_interrupt = events.interrupt.nr;
  }
  return state;
}

void write_kvm_state(int vcpu_fd, const CpuState& state) {
  kvm_regs regs{};
  for (unsigned i = 0; i < 16; ++i)
    regs.*kGprFields[i] = state.gpr[i];
  regs.rip = state.rip;
  regs.rflags = state.rflags;
  check_kvm(ioctl(vcpu_fd, KVM_SET_REGS, &regs), "KVM_SET_REGS");

  kvm_sregs sregs{};
  // Read first so fields rrvm does not model (the APIC base, the pending-interrupt bitmap) keep
  // KVM's values.
  check_kvm(ioctl(vcpu_fd, KVM_GET_SREGS, &sregs), "KVM_GET_SREGS");
  sregs.cs = to_kvm(state.cs);
  sregs.ds = to_kvm(state.ds);
  sregs.es = to_kvm(state.es);
  sregs.fs = to_kvm(state.fs);
  sregs.gs = to_kvm(state.gs);
  sregs.ss = to_kvm(state.ss);
  sregs.tr = to_kvm(state.tr);
  sregs.ldt = to_kvm(state.ldtr);
  sregs.gdt.base = state.gdt.base;
  sregs.gdt.limit = state.gdt.limit;
  sregs.idt.base = state.idt.base;
  sregs.idt.limit = state.idt.limit;
  sregs.cr0 = state.cr0;
  sregs.cr2 = state.cr2;
  sregs.cr3 = state.cr3;
  sregs.cr4 = state.cr4;
  sregs.cr8 = state.cr8;
  sregs.efer = state.efer;
  check_kvm(ioctl(vcpu_fd, KVM_SET_SREGS, &sregs), "KVM_SET_SREGS");

  auto msrs = msr_array();
  for (size_t i = 0; i < msr_state_models().size(); ++i)
    msrs.entries()[i].data = state.msr.*msr_state_models()[i]->field;
  ioctl(vcpu_fd, kKvmSetMsrs, msrs.get());
  write_kvm_fpu(vcpu_fd, state.fpu);

  kvm_debugregs debug{};
  for (unsigned i = 0; i < 4; ++i)
    debug.db[i] = state.dr[i];
  debug.dr6 = state.dr6;
  debug.dr7 = state.dr7;
  ioctl(vcpu_fd, KVM_SET_DEBUGREGS, &debug);

  kvm_vcpu_events events{};
  if (ioctl(vcpu_fd, KVM_GET_VCPU_EVENTS, &events) == 0) {
    events.interrupt.injected = state.pending_interrupt >= 0;
    events.interrupt.nr = state.pending_interrupt >= 0 ? uint8_t(state.pending_interrupt) : 0;
    events.interrupt.shadow = state.interrupt_shadow ? KVM_X86_SHADOW_INT_STI : 0;
    events.flags = KVM_VCPUEVENT_VALID_SHADOW;
    ioctl(vcpu_fd, KVM_SET_VCPU_EVENTS, &events);
  }
}

} // namespace rrvm
