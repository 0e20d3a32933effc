// A trace header is input like a kernel: a damaged or forged one must be refused as such
// ("trace header: ..." with status 66), not as a command-line option the user never typed.
#pragma once

#include "formats/trace_header.h"

namespace rrvm {

// Throws Error(kBadInput) naming `path` and the first field a machine could not be built from.
void check_trace_header(const std::string& path, const TraceHeader& header);

} // namespace rrvm
