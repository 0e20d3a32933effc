#include "formats/trace_event.h"

namespace rrvm {

const char* event_kind_name(EventKind kind) {
  switch (kind) {
  case EventKind::kExit:
    return "exit";
  case EventKind::kClock:
    return "clock";
  case EventKind::kPortRead:
    return "port-read";
  case EventKind::kMmioRead:
    return "mmio-read";
  case EventKind::kMsrRead:
    return "msr-read";
  case EventKind::kInjection:
    return "injection";
  case EventKind::kSerialInput:
    return "serial-input";
  case EventKind::kStatsSample:
    return "stats";
  case EventKind::kCheckpoint:
    return "checkpoint";
  case EventKind::kRegisterHash:
    return "register-hash";
  case EventKind::kGuestExit:
    return "guest-exit";
  case EventKind::kKick:
    return "kick";
  case EventKind::kVerify:
    return "verify";
  case EventKind::kClockTie:
    return "clock-tie";
  }
  return "unknown";
}

const char* verify_kind_name(VerifyKind kind) {
  switch (kind) {
  case VerifyKind::kBoundary:
    return "boundary";
  case VerifyKind::kEnd:
    return "end";
  case VerifyKind::kStop:
    return "stop";
  }
  return "unknown";
}

const char* clock_tie_point_name(uint8_t point) {
  switch (point) {
  case 0:
    return "quantum";
  case 1:
    return "wake";
  case 2:
    return "start";
  }
  return "unknown";
}

} // namespace rrvm
