// Port 0x61, the AT system control port B: channel 2 gate, speaker enable, the DRAM refresh
// toggle and channel 2's output. The machine registers it at 0x61 with length 1.
#pragma once

#include "vmm/devices/pit_8254.h"
#include "vmm/io_device.h"

namespace rrvm {

class SystemControlPort : public IoDevice {
public:
  explicit SystemControlPort(Pit8254& pit) : pit_(pit) {}

  std::string_view name() const override { return "port-61"; }
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  void save(StateWriter& out) const override { out.put(control_); }
  void restore(StateReader& in) override { in.get(control_); }

private:
  Pit8254& pit_;
  uint8_t control_ = 0; // bits 0-3 as written
};

} // namespace rrvm
