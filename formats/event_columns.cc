#include "formats/event_columns.h"

namespace rrvm {

size_t EventColumns::count(EventKind kind) const {
  switch (kind) {
  case EventKind::kExit:
    return exit_reasons.size();
  case EventKind::kClock:
    return clock_ns.size();
  case EventKind::kPortRead:
    return port_ports.size();
  case EventKind::kMmioRead:
    return mmio_gpas.size();
  case EventKind::kMsrRead:
    return msr_indexes.size();
  case EventKind::kInjection:
    return injections.size();
  case EventKind::kSerialInput:
    return serial_lengths.size();
  case EventKind::kStatsSample:
    return stats.size();
  case EventKind::kCheckpoint:
    return checkpoints.size();
  case EventKind::kRegisterHash:
    return register_hashes.size();
  case EventKind::kGuestExit:
    return guest_exits.size();
  case EventKind::kKick:
    return kicks.size();
  case EventKind::kVerify:
    return verifies.size();
  case EventKind::kClockTie:
    return clock_ties.size();
  }
  return 0;
}

} // namespace rrvm
