// Errors a user can cause, each with its own process exit status.
#pragma once

#include <stdexcept>
#include <string>

namespace rrvm {

// Process exit statuses of the rrvm command. A guest's isa-debug-exit status, (v << 1) | 1, is
// always odd and is passed through unchanged, so rrvm's own failures are even numbers. The one
// exception is kDivergence, fixed at 3 by the replay contract (a guest can also exit with 3; a
// divergence is always reported on stderr too).
enum class ExitCode : int {
  kOk = 0,
  kDivergence = 3,  // replay did not follow the trace
  kUsage = 64,      // bad command line
  kBadInput = 66,   // kernel image or trace unusable
  kNoHost = 68,     // /dev/kvm missing, not permitted, or lacking a capability
  kGuestFault = 70, // the guest ran something the engine cannot run (KVM internal error,
                    // unsupported instruction)
  kGuestHung = 72,  // HLT with interrupts enabled and nothing that can ever wake the guest
  kInternal = 74,   // a bug in rrvm
  kIo = 76,         // host I/O failure
  kStopped = 78,    // stopped by SIGINT/SIGTERM/SIGHUP (outputs finished), or a replay reached the
                    // end of a recording that was stopped
  kPoweredOff = 80, // HLT with interrupts disabled: how a PC without ACPI powers off (Linux's
                    // `poweroff -f` halts so)
  kReset = 82,      // the guest reset the PC: a triple fault, the keyboard controller's reset
                    // command or the reset control register at port 0xcf9
};

class Error : public std::runtime_error {
public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

private:
  ExitCode code_;
};

// Formats errno into a message: "what: strerror(errno)".
std::string errno_message(const std::string& what, int err);

} // namespace rrvm
