#include "vmm/devices/i8042.h"

namespace rrvm {

namespace {
constexpr uint8_t kInputBufferFull = 0x02; // status bit 1: a written byte awaits the controller
// Commands 0xf0-0xff pulse the output port lines whose bit is clear in their low nibble; output
// port bit 0 is the CPU's reset line.
constexpr uint8_t kPulseOutputPort = 0xf0;
constexpr uint8_t kResetLine = 0x01;
} // namespace

uint64_t I8042::read(uint64_t offset, unsigned size) {
  return read_bytes(offset, size, [](uint64_t at) -> uint8_t {
    return at == 0 ? uint8_t(0xff & ~kInputBufferFull) : 0xff;
  });
}

void I8042::write(uint64_t offset, unsigned size, uint64_t value) {
  write_bytes(offset, size, value, [this](uint64_t at, uint8_t command) {
    if (at == 0 && (command & 0xf0) == kPulseOutputPort && !(command & kResetLine))
      end_.request(EndRequest::reset(ResetCause::kKeyboardController, command));
  });
}

} // namespace rrvm
