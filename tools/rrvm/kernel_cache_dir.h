// Where rrvm keeps decompressed Linux kernels between boots (vmm/boot/kernel_cache.h), as the
// environment says: $RRVM_KERNEL_CACHE (off: nowhere), else $XDG_CACHE_HOME/rrvm/kernels, else
// ~/.cache/rrvm/kernels. Empty means no cache.
#pragma once

#include <string>

namespace rrvm {

extern const char* const kKernelCacheHelp;

std::string kernel_cache_dir();

} // namespace rrvm
