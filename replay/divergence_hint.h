// A likely cause for a divergence, when one can be named.
#pragma once

#include <optional>
#include <string>

#include "formats/trace_header.h"

namespace rrvm {

// On kvm, RDTSC and RDTSCP read the host's TSC and cannot be trapped: if the guest's loaded code
// contains them, that is the likely cause. A referenced image is looked for as the replay looked
// for it, in `image_dir` first. Returns a one-line hint, or nullopt.
std::optional<std::string> divergence_hint(const TraceHeader& header, const std::string& engine,
                                           const std::string& image_dir);

} // namespace rrvm
