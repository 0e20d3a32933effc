// Host-time measurements of the vCPU thread, which only a recording can take and a replay cannot
// recompute: its time on a host CPU and its time runnable but waiting for one (VMware's "CPU
// ready"), from the scheduler's per-task statistics in /proc/self/task/TID/schedstat.
#pragma once

#include <cstdint>

#include "vmm/exit_counts.h"
#include "vmm/unique_fd.h"

namespace rrvm {

// The host-time counters at one moment, cumulative since the run started; a trace stores them as
// StatsSampleEvents.
struct HostSample {
  uint64_t host_ns = 0;    // host CLOCK_MONOTONIC time since the run started
  uint64_t runtime_ns = 0; // the vCPU thread on a host CPU
  uint64_t ready_ns = 0;   // the vCPU thread runnable, waiting in a run queue
  uint64_t idle_ns = 0;    // the guest halted, the thread waiting for its next event
  ExitCounts exits;        // the exits so far, by reason
};

class HostSampler {
public:
  // Measures the calling thread (the vCPU thread) from now on.
  HostSampler();

  // The thread's scheduler times and the host clock, since construction; the times are zeros
  // when the kernel keeps no schedstat (CONFIG_SCHED_INFO off).
  struct Reading {
    uint64_t elapsed_ns = 0;
    uint64_t run_ns = 0;
    uint64_t wait_ns = 0;
  };
  Reading now() const;

private:
  struct SchedTimes {
    uint64_t run_ns = 0;
    uint64_t wait_ns = 0;
  };
  struct Moment {
    uint64_t host_ns;
    SchedTimes times;
  };
  SchedTimes read() const;
  // The host clock and the scheduler times as of one moment: see host_sampler.cc.
  Moment read_together() const;

  UniqueFd fd_; // kept open: a reading is then two preads
  Moment start_;
};

// Ready % of an interval as VMware defines it: ready_ms / (interval_s × 1000) × 100.
double ready_percent(uint64_t ready_ns, uint64_t interval_ns);

} // namespace rrvm
