// `rrvm dump TRACE [--from N] [--count K]`: the header summary, then events one per line, each
// exit with the instruction at its rip when the rip falls inside an embedded guest image.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

namespace rrvm {

// Prints events [from, from + count) to `out`. Returns an ExitCode: kOk; kBadInput when the trace
// is damaged or unfinished before the range ends (everything readable is still printed, and one
// line to `problems` says why it stopped, as it does for a damaged footer); kUsage when `from` is
// past the end of a complete trace (said on `problems`). Throws Error when the trace cannot be
// opened at all.
int dump_trace(const std::string& path, uint64_t from, uint64_t count, std::ostream& out,
               std::ostream& problems);

} // namespace rrvm
