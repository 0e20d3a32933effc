#include "vmm/boot/e820_map.h"

#include "vmm/boot/linux_boot_params.h"

namespace rrvm {

namespace {

constexpr uint64_t kLowRamEnd = 0x9fc00; // where the EBDA starts on a PC
constexpr uint64_t kHighRamStart = 0x100000;

} // namespace

std::vector<E820Entry> e820_map(uint64_t memory_bytes) {
  using namespace linux_boot;
  std::vector<E820Entry> map = {{0, kLowRamEnd, kE820Ram},
                                {kLowRamEnd, kHighRamStart - kLowRamEnd, kE820Reserved}};
  if (memory_bytes > kHighRamStart)
    map.push_back({kHighRamStart, memory_bytes - kHighRamStart, kE820Ram});
  return map;
}

} // namespace rrvm
