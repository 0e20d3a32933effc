// QEMU's isa-debug-exit: lets a test guest end the machine with a status of its choosing.
// Register at port 0xF4 with length 1; 1, 2 and 4-byte writes are accepted.
#pragma once

#include "vmm/devices/end_request.h"
#include "vmm/io_device.h"

namespace rrvm {

class DebugExit : public IoDevice {
public:
  explicit DebugExit(EndRequestLatch& end) : end_(end) {}

  std::string_view name() const override { return "isa-debug-exit"; }
  uint64_t read(uint64_t offset, unsigned size) override;
  // A write of v asks `end` to end the run with status (v << 1) | 1, truncated to the 8 bits a
  // process exit status carries (what a QEMU process running the same guest reports). Always odd,
  // so it never collides with rrvm's own codes.
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  // Stateless: what it asked for is the latch's state.
  void save(StateWriter&) const override {}
  void restore(StateReader&) override {}

private:
  EndRequestLatch& end_;
};

} // namespace rrvm
