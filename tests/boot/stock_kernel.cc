#include "tests/boot/stock_kernel.h"

#include <cstdlib>
#include <gtest/gtest.h>
#include <unistd.h>

namespace rrvm::test {

std::string stock_kernel_or_fail() {
  const std::string path = RRVM_LINUX_CACHE "/vmlinuz";
  if (access(path.c_str(), R_OK) == 0) return path;
  const char* ci = std::getenv("CI");
  if (ci && std::string(ci) == "true")
    ADD_FAILURE() << path << " is missing, and CI=true requires it (tools/fetch-linux.sh)";
  return "";
}

} // namespace rrvm::test
