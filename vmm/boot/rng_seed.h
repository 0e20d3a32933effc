// The seed a Linux guest's random number generator gets from the loader (setup_data
// SETUP_RNG_SEED). It is derived from the RTC's start time, which the trace already holds, so a
// replay hands the kernel the same seed and two runs with the same --rtc-time see the same
// /dev/urandom, as every other input of a reproducible machine. It is not secret.
#pragma once

#include <cstdint>
#include <vector>

namespace rrvm {

std::vector<uint8_t> linux_rng_seed(int64_t rtc_base_unix_seconds);

} // namespace rrvm
