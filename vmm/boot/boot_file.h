// Reads a file a loader needs (the kernel, an initrd) whole.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rrvm {

// Throws Error(kBadInput) "<what> <path>: ..." when it is missing, not a regular file, unreadable
// or empty.
std::vector<uint8_t> read_boot_file(const std::string& what, const std::string& path);

} // namespace rrvm
