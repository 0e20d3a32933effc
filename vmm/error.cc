#include "vmm/error.h"

#include <cstring>

namespace rrvm {

std::string errno_message(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

} // namespace rrvm
