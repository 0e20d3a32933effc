#include "vmm/host_sampler.h"

#include <cinttypes>
#include <cstdio>
#include <fcntl.h>
#include <string>

#include "vmm/live_gate.h"

namespace rrvm {

namespace {

// Tries at reading the clock and the times of one moment (read_together): a preemption is
// milliseconds long and the three reads a few microseconds, so a second try almost always does.
constexpr int kReadTries = 4;

} // namespace

HostSampler::HostSampler()
    : fd_(::open(("/proc/self/task/" + std::to_string(::gettid()) + "/schedstat").c_str(),
                 O_RDONLY | O_CLOEXEC)),
      start_(read_together()) {}

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

// The scheduler credits a wait to the thread when the thread runs again, so the times a running
// thread reads are complete. A preemption between reading them and reading the clock would put
// the whole wait on the wrong side of the clock's moment: with busy processes on the thread's CPU
// an interval of a few milliseconds then showed 250 % ready. The clock is read between two reads
// of the times, and read again if the wait grew between them.
HostSampler::Moment HostSampler::read_together() const {
  Moment m{};
  for (int tries = 0; tries < kReadTries; ++tries) {
    const SchedTimes before = read();
    m.host_ns = host_monotonic_ns();
    m.times = read();
    if (m.times.wait_ns == before.wait_ns) break;
  }
  return m;
}

HostSampler::Reading HostSampler::now() const {
  const Moment m = read_together();
  const SchedTimes& base = start_.times;
  if (m.times.run_ns < base.run_ns || m.times.wait_ns < base.wait_ns) // the file went away
    return {m.host_ns - start_.host_ns, 0, 0};
  return {m.host_ns - start_.host_ns, m.times.run_ns - base.run_ns, m.times.wait_ns - base.wait_ns};
}

double ready_percent(uint64_t ready_ns, uint64_t interval_ns) {
  if (interval_ns == 0) return 0;
  const double ready_ms = ready_ns / 1e6;
  const double interval_s = interval_ns / 1e9;
  return ready_ms / (interval_s * 1000) * 100;
}

} // namespace rrvm
