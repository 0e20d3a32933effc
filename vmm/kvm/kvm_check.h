// The one way a failed KVM ioctl becomes an rrvm error.
#pragma once

#include <cerrno>
#include <string>

#include "vmm/error.h"

namespace rrvm {

inline void check_kvm(int rc, const char* what) {
  if (rc < 0) throw Error(ExitCode::kNoHost, errno_message(std::string("kvm: ") + what, errno));
}

} // namespace rrvm
