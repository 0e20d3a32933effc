#include "vmm/devices/reset_control.h"

namespace rrvm {

namespace {
constexpr uint8_t kResetCpu = 0x04;
constexpr uint8_t kKeptBits = 0x0a; // SYS_RST (hard reset) and FULL_RST
} // namespace

uint64_t ResetControl::read(uint64_t offset, unsigned size) {
  return read_bytes(offset, size,
                    [this](uint64_t at) -> uint8_t { return at == 0 ? control_ : 0xff; });
}

void ResetControl::write(uint64_t offset, unsigned size, uint64_t value) {
  write_bytes(offset, size, value, [this](uint64_t at, uint8_t byte) {
    if (at != 0) return;
    control_ = byte & kKeptBits;
    if (byte & kResetCpu) end_.request(EndRequest::reset(ResetCause::kResetControlRegister, byte));
  });
}

} // namespace rrvm
