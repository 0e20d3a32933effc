// The part of the 8042 keyboard controller a PC without a keyboard needs: its status register
// says the input buffer is empty (so a guest waiting to send a command does not spin), and the
// "pulse output port" commands that pulse the reset line (0xfe, Linux's reboot) reset the PC.
// The machine registers it at port 0x64 only: the data port 0x60 stays unclaimed, and every
// other status bit reads as one, as the unclaimed port did, so a guest probing for a keyboard
// controller finds none.
#pragma once

#include "vmm/devices/end_request.h"
#include "vmm/io_device.h"

namespace rrvm {

class I8042 : public IoDevice {
public:
  explicit I8042(EndRequestLatch& end) : end_(end) {}

  std::string_view name() const override { return "i8042"; }
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  void save(StateWriter&) const override {}
  void restore(StateReader&) override {}

private:
  EndRequestLatch& end_;
};

} // namespace rrvm
