// Address-range dispatch for port I/O and MMIO.
#pragma once

#include <cstdint>
#include <vector>

#include "vmm/io_device.h"

namespace rrvm {

class IoBus {
public:
  // Registers [base, base+length). Overlapping ranges are a programming error and throw.
  void add(uint64_t base, uint64_t length, IoDevice& device);

  // Dispatch an access. Returns false when no device covers `address` (the caller decides what an
  // unclaimed access means: all-ones reads for ports, counted).
  bool read(uint64_t address, unsigned size, uint64_t& value);
  bool write(uint64_t address, unsigned size, uint64_t value);

  // The device covering `address`, or nullptr.
  IoDevice* find(uint64_t address, uint64_t* offset = nullptr);

private:
  struct Range {
    uint64_t base;
    uint64_t length;
    IoDevice* device;
  };
  std::vector<Range> ranges_; // sorted by base
  static constexpr uint64_t kNoMiss = UINT64_MAX;
  const Range* last_ = nullptr;
  uint64_t last_miss_ = kNoMiss;
};

} // namespace rrvm
