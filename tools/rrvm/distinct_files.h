// Refuses a command line whose output would overwrite one of its inputs or another output: `record
// -o K K` must not destroy the kernel, `replay --serial file:T T` the trace it reads.
#pragma once

#include <string>
#include <vector>

namespace rrvm {

struct NamedPath {
  std::string role; // how the user gave it: "KERNEL", "-o", "--serial file:"
  std::string path;
};

// Throws Error(kUsage) naming both when an output is the same file as an input or another output:
// the same device and inode when it exists, else the same path once symbolic links and "." and
// ".." are resolved. Device files (/dev/null, a terminal) may be shared.
void require_distinct_files(const std::vector<NamedPath>& inputs,
                            const std::vector<NamedPath>& outputs);

} // namespace rrvm
