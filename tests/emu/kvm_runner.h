// A minimal /dev/kvm harness for differential tests: one vCPU in 64-bit long mode running a
// snippet natively (at ring 3 on PVM hosts) until it writes to an I/O port.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "vmm/cpu_state.h"

namespace rrvm::test {

class KvmRunner {
public:
  // nullopt-like failure is reported through `error()`; `available()` says whether it works.
  explicit KvmRunner(uint64_t ram_size);
  ~KvmRunner();
  KvmRunner(const KvmRunner&) = delete;
  KvmRunner& operator=(const KvmRunner&) = delete;

  bool available() const { return vcpu_fd_ >= 0; }
  const std::string& error() const { return error_; }
  uint8_t* memory() const { return mem_; }

  // Runs from `state` (general registers, RIP, RFLAGS, and the segments/CRs/EFER/GDT/IDT/TR)
  // until a port write; returns the final state, or nullopt with error() set.
  std::optional<CpuState> run(const CpuState& state);

private:
  int kvm_fd_ = -1, vm_fd_ = -1, vcpu_fd_ = -1;
  uint8_t* mem_ = nullptr;
  uint64_t mem_size_;
  void* run_ = nullptr;
  size_t run_size_ = 0;
  std::string error_;
};

} // namespace rrvm::test
