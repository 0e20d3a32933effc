#include "vmm/host_sampler.h"

#include <cinttypes>
#include <cstdio>
#include <fcntl.h>
#include <string>

#include "vmm/live_gate.h"

namespace rrvm {

HostSampler::HostSampler()
    : fd_(::open(("/proc/self/task/" + std::to_string(::gettid()) + "/schedstat").c_str(),
                 O_RDONLY | O_CLOEXEC)),
      base_(read()), start_ns_(host_monotonic_ns()) {}

HostSampler::SchedTimes HostSampler::read() const {
  SchedTimes t;
  char text[128];
  if (!fd_) return t;
  ssize_t n = ::pread(fd_.get(), text, sizeof text - 1, 0);
  if (n <= 0) return t;
  text[n] = '\0';
  // "run_ns wait_ns timeslices"
  if (std::sscanf(text, "%" SCNu64 " %" SCNu64, &t.run_ns, &t.wait_ns) != 2) return {};
  return t;
}

HostSampler::SchedTimes HostSampler::sched_times() const {
  SchedTimes now = read();
  if (now.run_ns < base_.run_ns || now.wait_ns < base_.wait_ns) return {}; // the file went away
  return {now.run_ns - base_.run_ns, now.wait_ns - base_.wait_ns};
}

uint64_t HostSampler::elapsed_ns() const {
  return host_monotonic_ns() - start_ns_;
}

double ready_percent(uint64_t ready_ns, uint64_t interval_ns) {
  if (interval_ns == 0) return 0;
  const double ready_ms = ready_ns / 1e6;
  const double interval_s = interval_ns / 1e9;
  return ready_ms / (interval_s * 1000) * 100;
}

} // namespace rrvm
