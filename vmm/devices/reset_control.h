// The reset control register at port 0xcf9 (Intel chipsets, and QEMU's PIIX): bit 1 chooses a
// hard (1) or soft (0) reset, bit 3 a full one, and writing bit 2 (RST_CPU) resets the PC. A
// guest reads back what it wrote, RST_CPU excepted. Register it at port 0xcf9 with length 1:
// the PCI configuration address at 0xcf8 is a dword port that a byte register beside it does not
// disturb (the bus dispatches by the first port of an access).
#pragma once

#include "vmm/devices/end_request.h"
#include "vmm/io_device.h"

namespace rrvm {

class ResetControl : public IoDevice {
public:
  explicit ResetControl(EndRequestLatch& end) : end_(end) {}

  std::string_view name() const override { return "reset-control"; }
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  void save(StateWriter& out) const override { out.put(control_); }
  void restore(StateReader& in) override { in.get(control_); }

private:
  EndRequestLatch& end_;
  uint8_t control_ = 0;
};

} // namespace rrvm
