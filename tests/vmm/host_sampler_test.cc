// HostSampler's readings against the scheduler: a busy process on the sampling thread's CPU
// preempts it for milliseconds at a time, and no interval between two readings may then hold
// more waiting than it lasts (stats_test once saw an interval at 250 % ready).
#include <gtest/gtest.h>

#include "tests/support/cpu_competitors.h"
#include "tests/support/cpu_pinning.h"
#include "vmm/host_sampler.h"
#include "vmm/live_gate.h"

namespace rrvm {
namespace {

void spin_for(uint64_t ns) {
  const uint64_t until = host_monotonic_ns() + ns;
  while (host_monotonic_ns() < until) {
  }
}

TEST(HostSampler, NoIntervalWaitsLongerThanItLasts) {
  // The scheduler's clock and CLOCK_MONOTONIC tick apart by a little.
  constexpr uint64_t kSlackNs = 50'000;
  test::PinnedToThisCpu pinned;
  test::CpuCompetitors competitor(pinned.cpu(), 1);
  HostSampler sampler;
  HostSampler::Reading previous = sampler.now();
  int preempted = 0;
  const uint64_t until = host_monotonic_ns() + 300'000'000;
  while (host_monotonic_ns() < until) {
    spin_for(100'000);
    const HostSampler::Reading now = sampler.now();
    ASSERT_LE(now.wait_ns - previous.wait_ns, now.elapsed_ns - previous.elapsed_ns + kSlackNs)
        << "an interval of " << now.elapsed_ns - previous.elapsed_ns << " ns waited "
        << now.wait_ns - previous.wait_ns << " ns";
    preempted += now.wait_ns != previous.wait_ns;
    previous = now;
  }
  if (previous.run_ns == 0) GTEST_SKIP() << "this kernel keeps no schedstat";
  EXPECT_GT(preempted, 0) << "the competitor never preempted the sampling thread";
}

} // namespace
} // namespace rrvm
