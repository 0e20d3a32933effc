#include "vmm/engine.h"

namespace rrvm {

const char* exit_reason_name(ExitReason reason) {
  switch (reason) {
  case ExitReason::kIo:
    return "io";
  case ExitReason::kMmio:
    return "mmio";
  case ExitReason::kHlt:
    return "hlt";
  case ExitReason::kInterruptWindow:
    return "interrupt-window";
  case ExitReason::kMsrRead:
    return "rdmsr";
  case ExitReason::kMsrWrite:
    return "wrmsr";
  case ExitReason::kShutdown:
    return "shutdown";
  case ExitReason::kDebug:
    return "debug";
  case ExitReason::kKicked:
    return "kicked";
  case ExitReason::kInstructionLimit:
    return "instruction-limit";
  case ExitReason::kInternalError:
    return "internal-error";
  case ExitReason::kUnsupported:
    return "unsupported";
  }
  return "unknown";
}

} // namespace rrvm
