// The interface every port-I/O and MMIO device implements (kvmtool style: a tiny read/write pair).
#pragma once

#include <cstdint>
#include <string_view>

#include "vmm/state_buffer.h"

namespace rrvm {

class IoDevice {
public:
  virtual ~IoDevice() = default;
  virtual std::string_view name() const = 0;
  // `offset` is relative to the start of the range the device was registered at; `size` is 1, 2,
  // 4 or 8 bytes. Reads return the value in the low `size` bytes.
  virtual uint64_t read(uint64_t offset, unsigned size) = 0;
  virtual void write(uint64_t offset, unsigned size, uint64_t value) = 0;
  // Whole device state, for checkpoints. restore() takes exactly what save() wrote.
  virtual void save(StateWriter& out) const = 0;
  virtual void restore(StateReader& in) = 0;
};

} // namespace rrvm
