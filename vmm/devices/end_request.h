// How a device ends the machine's run: with the guest's own status (isa-debug-exit) or by
// resetting the PC (the keyboard controller's reset line, the reset control register). Devices
// put their request into the platform's one EndRequestLatch; the machine looks at it after every
// port I/O exit and ends the run with it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "vmm/state_buffer.h"

namespace rrvm {

enum class ResetCause : uint8_t {
  kKeyboardController,   // a pulse of the reset line, commanded through port 0x64
  kResetControlRegister, // RST_CPU written to port 0xcf9
};

struct EndRequest {
  enum class Kind : uint8_t { kGuestExit, kReset };

  static EndRequest guest_exit(int status) { return {Kind::kGuestExit, status, {}, 0}; }
  static EndRequest reset(ResetCause cause, uint8_t value) {
    return {Kind::kReset, 0, cause, value};
  }

  Kind kind;
  int status;       // kGuestExit: the process status
  ResetCause cause; // kReset
  uint8_t value;    // kReset: the byte the guest wrote to ask for it
};

// "the keyboard controller's reset command (0xfe written to port 0x64)", for messages.
std::string describe_reset(const EndRequest& request);

class EndRequestLatch {
public:
  // The first request stands: the machine ends the run at the exit that made it.
  void request(const EndRequest& request) {
    if (!pending_) pending_ = request;
  }
  const std::optional<EndRequest>& pending() const { return pending_; }

  void save(StateWriter& out) const;
  void restore(StateReader& in);

private:
  std::optional<EndRequest> pending_;
};

} // namespace rrvm
