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

// The legacy PC devices are byte registers: a wider access is consecutive byte accesses, lowest
// port first. These split it, so such a device answers one byte at a time.
template <typename ReadByte>
uint64_t read_bytes(uint64_t offset, unsigned size, ReadByte read_byte) {
  uint64_t value = 0;
  for (unsigned i = 0; i < size; ++i)
    value |= uint64_t{read_byte(offset + i)} << (8 * i);
  return value;
}

template <typename WriteByte>
void write_bytes(uint64_t offset, unsigned size, uint64_t value, WriteByte write_byte) {
  for (unsigned i = 0; i < size; ++i)
    write_byte(offset + i, static_cast<uint8_t>(value >> (8 * i)));
}

} // namespace rrvm
