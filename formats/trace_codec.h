// TraceHeader and TraceFooter <-> their FlatBuffers (trace.fbs).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "formats/trace_header.h"

namespace rrvm {

std::vector<uint8_t> encode_header(const TraceHeader& header);
// Verifies `buffer`; returns why it is not a trace header, or nothing (and fills `out`).
std::optional<std::string> decode_header(std::span<const uint8_t> buffer, TraceHeader& out);

std::vector<uint8_t> encode_footer(const TraceFooter& footer);
std::optional<std::string> decode_footer(std::span<const uint8_t> buffer, TraceFooter& out);

} // namespace rrvm
