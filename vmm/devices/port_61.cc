#include "vmm/devices/port_61.h"

namespace rrvm {

namespace {
// The refresh request toggles once per DRAM refresh period: 18 PIT input ticks (15.08 us), what
// BIOSes program into channel 1 and what delay loops polling bit 4 expect.
constexpr uint64_t kRefreshTicks = 18;
} // namespace

uint64_t SystemControlPort::read(uint64_t, unsigned) {
  const bool refresh = (pit_.ticks_now() / kRefreshTicks) & 1;
  return control_ | refresh << 4 | pit_.channel2_output() << 5;
}

void SystemControlPort::write(uint64_t, unsigned, uint64_t value) {
  control_ = value & 0x0F;
  pit_.set_channel2_gate(control_ & 1);
}

} // namespace rrvm
