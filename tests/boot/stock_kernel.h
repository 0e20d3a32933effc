// Debian's stock kernel for the Linux boot tests, fetched by tools/fetch-linux.sh into the cache
// CMake names (RRVM_LINUX_CACHE).
#pragma once

#include <string>

namespace rrvm::test {

// The vmlinuz path, or "" when it was not fetched: the test then skips, except under CI=true,
// where its absence fails the calling test.
std::string stock_kernel_or_fail();

} // namespace rrvm::test
