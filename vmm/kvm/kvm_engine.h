// The KVM engine: one VM with one vCPU on /dev/kvm, no in-kernel irqchip or PIT (every interrupt
// is injected by rrvm's userspace devices, so every injection is visible to recording).
#pragma once

#include <atomic>
#include <linux/kvm.h>
#include <sys/types.h>

#include "vmm/cpuid_table.h"
#include "vmm/engine.h"
#include "vmm/guest_memory.h"
#include "vmm/unique_fd.h"

namespace rrvm {

// What this host's /dev/kvm is: hardware virtualization or not (PVM on the build machines).
struct KvmHostInfo {
  bool available;      // /dev/kvm opens read-write
  bool hardware_virt;  // the CPU advertises vmx or svm
  std::string why_not; // when !available: the reason, for messages
};
KvmHostInfo probe_kvm_host();

class KvmEngine final : public Engine, private DirtyPageLog {
public:
  explicit KvmEngine(GuestMemory& memory);

  const char* name() const override { return "kvm"; }
  Exit& run() override;
  void kick() override;
  void cancel_kick() override { run_->immediate_exit = 0; }

  CpuState state() override;
  uint64_t exit_rip() override;
  void set_state(const CpuState& state) override;

  bool can_inject() override;
  bool interrupts_enabled() override;
  void inject_interrupt(uint8_t vector) override;
  void request_interrupt_window(bool enable) override;

  void set_single_step(bool enable) override;
  void set_hw_breakpoints(std::span<const HwBreakpoint> points) override;
  size_t max_hw_breakpoints() const override { return 4; }

  MaybeCount instruction_count() const override { return std::nullopt; }
  void set_instruction_limit(MaybeCount) override {}

  // Host-supported features minus the hidden ones.
  const CpuidTable& cpuid() const override { return cpuid_; }
  bool machine_answers_msrs() const override { return msr_filter_active_; }
  DirtyPageLog* dirty_page_log() override { return this; }

private:
  void enable_dirty_log() override;
  void collect_dirty_pages(std::vector<uint64_t>& bitmap) override;
  void setup_msr_filter();
  void apply_guest_debug();
  [[noreturn]] void fail(const char* what, int err);

  GuestMemory& memory_;
  UniqueFd kvm_;
  UniqueFd vm_;
  UniqueFd vcpu_;
  UniqueMapping run_mapping_;
  kvm_run* run_ = nullptr;
  CpuidTable cpuid_;
  Exit exit_{};
  std::atomic<pid_t> vcpu_tid_{0};
  bool msr_filter_active_ = false;
  bool sync_regs_ = false; // KVM copies the registers into kvm_run at every exit
  bool single_step_ = false;
  std::vector<HwBreakpoint> breakpoints_;
  uint64_t msr_value_ = 0;
  bool msr_fault_ = false;
};

} // namespace rrvm
