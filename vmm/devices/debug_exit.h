// QEMU's isa-debug-exit: lets a test guest end the machine with a status of its choosing.
// Register at port 0xF4 with length 1; 1, 2 and 4-byte writes are accepted.
#pragma once

#include <optional>

#include "vmm/io_device.h"

namespace rrvm {

class DebugExit : public IoDevice {
public:
  std::string_view name() const override { return "isa-debug-exit"; }
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  void save(StateWriter& out) const override;
  void restore(StateReader& in) override;

  // Set once the guest wrote value v: (v << 1) | 1, truncated to the 8 bits a process exit status
  // carries (what a QEMU process running the same guest reports). The machine polls this after
  // each I/O exit and stops when it is set. Always odd, so it never collides with rrvm's own codes.
  std::optional<int> exit_status() const { return exit_status_; }

private:
  std::optional<int> exit_status_;
};

} // namespace rrvm
