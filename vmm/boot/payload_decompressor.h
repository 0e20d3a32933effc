// Decompresses a bzImage's payload (the vmlinux ELF) on the host, so the guest need not run the
// kernel's own decompressor (for Debian's XZ kernel, 2.7 times the instructions of the whole
// boot). The kernel's build appends the uncompressed size as a little-endian u32 to every format.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace rrvm {

enum class PayloadFormat { kGzip, kXz, kLzma, kZstd, kLz4, kBzip2, kLzo, kUnknown };
const char* payload_format_name(PayloadFormat format);

// Recognised by the compressor's magic bytes.
PayloadFormat payload_format(std::span<const uint8_t> payload);

// The decompressed payload; nullopt for formats rrvm does not read (bzip2, lzo, unknown), whose
// kernels run their own decompressor. Throws Error(kBadInput) naming `path` when the data is
// corrupt or does not decompress to the size appended to it.
std::optional<std::vector<uint8_t>> decompress_payload(std::span<const uint8_t> payload,
                                                       const std::string& path);

} // namespace rrvm
