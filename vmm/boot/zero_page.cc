#include "vmm/boot/zero_page.h"

#include <algorithm>
#include <cstring>

#include "vmm/boot/e820_map.h"
#include "vmm/boot/linux_boot_params.h"

namespace rrvm {

void write_zero_page(GuestMemory& memory, uint64_t address, const ZeroPageFields& fields) {
  using namespace linux_boot;
  std::memset(memory.at(address, kZeroPageSize), 0, kZeroPageSize);
  memory.write(address + kSetupHeader,
               fields.setup_header.first(std::min<size_t>(fields.setup_header.size(),
                                                          kSetupHeaderMaxEnd - kSetupHeader)));
  auto low = [](uint64_t value) { return static_cast<uint32_t>(value); };
  auto high = [](uint64_t value) { return static_cast<uint32_t>(value >> 32); };
  memory.store<uint8_t>(address + kTypeOfLoader, kLoaderUndefined);
  memory.store<uint8_t>(address + kLoadFlags,
                        memory.load<uint8_t>(address + kLoadFlags) | kLoadedHigh);
  memory.store<uint32_t>(address + kCode32Start, low(fields.kernel_load_address));
  memory.store<uint32_t>(address + kCmdLinePtr, low(fields.cmdline_address));
  memory.store<uint32_t>(address + kExtCmdLinePtr, high(fields.cmdline_address));
  memory.store<uint32_t>(address + kRamdiskImage, low(fields.initrd_address));
  memory.store<uint32_t>(address + kExtRamdiskImage, high(fields.initrd_address));
  memory.store<uint32_t>(address + kRamdiskSize, low(fields.initrd_size));
  memory.store<uint32_t>(address + kExtRamdiskSize, high(fields.initrd_size));
  // The loader's own setup_data chain and a plain PC, whatever the image's header held.
  memory.store<uint64_t>(address + kSetupData, fields.setup_data_address);
  memory.store<uint32_t>(address + kHardwareSubarch, 0);

  const std::vector<E820Entry> map = e820_map(memory.size());
  memory.store<uint8_t>(address + kE820Entries, static_cast<uint8_t>(map.size()));
  for (size_t i = 0; i < map.size(); ++i) {
    const uint64_t entry = address + kE820Table + i * kE820EntrySize;
    memory.store<uint64_t>(entry, map[i].address);
    memory.store<uint64_t>(entry + 8, map[i].size);
    memory.store<uint32_t>(entry + 16, map[i].type);
  }
}

} // namespace rrvm
