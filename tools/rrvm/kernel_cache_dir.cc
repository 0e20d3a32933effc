#include "tools/rrvm/kernel_cache_dir.h"

#include <cstdlib>

namespace rrvm {

const char* const kKernelCacheHelp =
    "environment:\n"
    "  RRVM_KERNEL_CACHE    where decompressed Linux kernels are kept, so that only a bzImage's\n"
    "                       first boot decompresses it (default $XDG_CACHE_HOME/rrvm/kernels,\n"
    "                       else ~/.cache/rrvm/kernels; the 4 most recently used; off: none)\n";

std::string kernel_cache_dir() {
  if (const char* dir = std::getenv("RRVM_KERNEL_CACHE"); dir && *dir)
    return std::string(dir) == "off" ? "" : dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return std::string(xdg) + "/rrvm/kernels";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.cache/rrvm/kernels";
  return "";
}

} // namespace rrvm
