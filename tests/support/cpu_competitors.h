// Processes that keep one host CPU busy until destroyed: the competition for a vCPU thread's CPU
// that CPU ready time measures.
#pragma once

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "tests/support/cpu_pinning.h"

namespace rrvm::test {

class CpuCompetitors {
public:
  CpuCompetitors(int cpu, int count) {
    for (int i = 0; i < count; ++i) {
      pid_t pid = fork();
      if (pid == 0) {
        pin_to_cpu(cpu);
        for (;;)
          asm volatile("" ::: "memory"); // a loop the compiler must keep
      }
      pids_.push_back(pid);
    }
  }
  ~CpuCompetitors() {
    for (pid_t pid : pids_) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
  CpuCompetitors(const CpuCompetitors&) = delete;
  CpuCompetitors& operator=(const CpuCompetitors&) = delete;

private:
  std::vector<pid_t> pids_;
};

} // namespace rrvm::test
