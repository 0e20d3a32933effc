#include "vmm/clock_tie_policy.h"

#include <algorithm>

#include "vmm/clock_line.h"

namespace rrvm {

std::optional<ClockTie> ClockTiePolicy::at_quantum(uint64_t host_ns, uint64_t icount,
                                                   uint64_t guest_ns, uint64_t rate) {
  if (catch_up_until_ns_ && host_ns < *catch_up_until_ns_) return std::nullopt;
  const bool settling = catch_up_until_ns_.has_value();
  catch_up_until_ns_.reset();
  const int64_t drift = int64_t(host_ns - guest_ns); // > 0: the guest is behind
  if (uint64_t(drift < 0 ? -drift : drift) <= kDriftLimitNs) {
    if (!settling) return std::nullopt;
    return tie(host_ns, icount, guest_ns, measured_rate(host_ns, icount, rate));
  }
  // Guest time gains `drift` over kCatchUpNs of host time; an ahead guest at most halves its
  // rate, a behind one at most doubles it (a larger drift takes several catch-ups).
  constexpr int64_t kCatchUp = int64_t(kCatchUpNs);
  const int64_t gain = std::clamp(drift, -kCatchUp / 2, kCatchUp);
  const unsigned __int128 scaled =
      (unsigned __int128)measured_rate(host_ns, icount, rate) * uint64_t(kCatchUp + gain);
  catch_up_until_ns_ = host_ns + kCatchUpNs;
  return tie(host_ns, icount, guest_ns, uint64_t(scaled / kCatchUpNs));
}

std::optional<ClockTie> ClockTiePolicy::at_start(uint64_t host_ns, uint64_t icount,
                                                 uint64_t guest_ns, uint64_t rate) {
  return tie(host_ns, icount, std::max(host_ns, guest_ns), rate);
}

uint64_t ClockTiePolicy::measured_rate(uint64_t host_ns, uint64_t icount, uint64_t rate) const {
  const uint64_t instructions = icount - tie_icount_;
  const uint64_t elapsed = host_ns - tie_host_ns_;
  const uint64_t running = elapsed > waited_ns_ ? elapsed - waited_ns_ : 0;
  if (instructions == 0 || (instructions < kMinMeasuredInstructions && running < kMinMeasuredNs))
    return rate;
  const unsigned __int128 scaled = (unsigned __int128)running << ClockLine::kRateShift;
  return ClockLine::clamp_rate(uint64_t(scaled / instructions));
}

ClockTie ClockTiePolicy::tie(uint64_t host_ns, uint64_t icount, uint64_t guest_ns, uint64_t rate) {
  tie_host_ns_ = host_ns;
  tie_icount_ = icount;
  waited_ns_ = 0;
  return {guest_ns, ClockLine::clamp_rate(rate)};
}

} // namespace rrvm
