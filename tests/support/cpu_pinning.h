// Binding the calling thread to one host CPU, for tests that make processes compete for it.
#pragma once

#include <sched.h>

namespace rrvm::test {

inline void pin_to_cpu(int cpu) {
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  sched_setaffinity(0, sizeof one, &one);
}

// Pins the calling thread to the CPU it is on until destroyed.
class PinnedToThisCpu {
public:
  PinnedToThisCpu() : cpu_(sched_getcpu()) {
    sched_getaffinity(0, sizeof saved_, &saved_);
    pin_to_cpu(cpu_);
  }
  ~PinnedToThisCpu() { sched_setaffinity(0, sizeof saved_, &saved_); }
  PinnedToThisCpu(const PinnedToThisCpu&) = delete;
  PinnedToThisCpu& operator=(const PinnedToThisCpu&) = delete;
  int cpu() const { return cpu_; }

private:
  int cpu_;
  cpu_set_t saved_;
};

} // namespace rrvm::test
