#include "vmm/io_bus.h"

#include <algorithm>
#include <string>

#include "vmm/error.h"

namespace rrvm {

void IoBus::add(uint64_t base, uint64_t length, IoDevice& device) {
  for (const auto& r : ranges_) {
    if (base < r.base + r.length && r.base < base + length)
      throw Error(ExitCode::kInternal,
                  std::string(device.name()) + " overlaps " + std::string(r.device->name()));
  }
  ranges_.push_back({base, length, &device});
  std::sort(ranges_.begin(), ranges_.end(),
            [](const Range& a, const Range& b) { return a.base < b.base; });
  last_ = nullptr;
  last_miss_ = kNoMiss;
}

IoDevice* IoBus::find(uint64_t address, uint64_t* offset) {
  // Guests hammer one device at a time (a UART, a timer), so remember the last hit; and one
  // address nothing claims (port 0x80, which Linux writes to pause between port accesses).
  if (last_ && address - last_->base < last_->length) {
    if (offset) *offset = address - last_->base;
    return last_->device;
  }
  if (address == last_miss_) return nullptr;
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), address,
                             [](uint64_t a, const Range& r) { return a < r.base; });
  if (it == ranges_.begin() || address - (it - 1)->base >= (it - 1)->length) {
    last_miss_ = address;
    return nullptr;
  }
  --it;
  last_ = &*it;
  if (offset) *offset = address - it->base;
  return it->device;
}

bool IoBus::read(uint64_t address, unsigned size, uint64_t& value) {
  uint64_t offset;
  IoDevice* d = find(address, &offset);
  if (!d) return false;
  value = d->read(offset, size);
  return true;
}

bool IoBus::write(uint64_t address, unsigned size, uint64_t value) {
  uint64_t offset;
  IoDevice* d = find(address, &offset);
  if (!d) return false;
  d->write(offset, size, value);
  return true;
}

} // namespace rrvm
