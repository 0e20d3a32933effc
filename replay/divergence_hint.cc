#include "replay/divergence_hint.h"

#include <cstdio>

#include "vmm/error.h"

namespace rrvm {

std::optional<std::string> divergence_hint(const TraceHeader& header, const std::string& engine,
                                           const std::string& image_dir) {
  if (engine != "kvm") return std::nullopt;
  for (const GuestImage& image : header.images) {
    std::vector<uint8_t> bytes;
    try {
      bytes = image.bytes(image_dir);
    } catch (const Error&) {
      continue; // a referenced file gone since the replay started: no hint from it
    }
    for (const ImageSegment& segment : image.segments) {
      const uint64_t end = std::min<uint64_t>(segment.file_offset + segment.size, bytes.size());
      for (uint64_t i = segment.file_offset; i + 1 < end; ++i) {
        bool rdtsc = bytes[i] == 0x0f && bytes[i + 1] == 0x31;
        bool rdtscp =
            i + 2 < end && bytes[i] == 0x0f && bytes[i + 1] == 0x01 && bytes[i + 2] == 0xf9;
        if (!rdtsc && !rdtscp) continue;
        char text[200];
        std::snprintf(text, sizeof text,
                      "likely cause: the guest's code has %s at 0x%llx, which kvm cannot trap; "
                      "record with --engine emu, where the TSC is the instruction count",
                      rdtsc ? "RDTSC" : "RDTSCP",
                      static_cast<unsigned long long>(segment.vaddr + (i - segment.file_offset)));
        return text;
      }
    }
  }
  return std::nullopt;
}

} // namespace rrvm
