#include "tests/boot/bzimage_forge.h"

#include <cstring>
#include <fstream>
#include <gtest/gtest.h>

#include "vmm/boot/linux_boot_params.h"

namespace rrvm::test {

std::vector<uint8_t> ForgedBzImage::bytes() const {
  using namespace linux_boot;
  const size_t protected_mode = (setup_sects + 1) * 512;
  constexpr size_t kPayloadStart = 0x100; // after some "code"
  std::vector<uint8_t> file(protected_mode + kPayloadStart + payload.size(), 0x90);
  std::memset(file.data(), 0, protected_mode);
  auto put = [&](uint64_t offset, auto value) {
    std::memcpy(file.data() + offset, &value, sizeof value);
  };
  file[kSetupSects] = static_cast<uint8_t>(setup_sects);
  put(kBootFlag, kBootFlagValue);
  put(kJump, uint16_t(0xeb | (0x268 - 0x202) << 8));
  put(kHeaderMagic, kHeaderMagicValue);
  put(kVersion, version);
  put(kLoadFlags, kLoadedHigh);
  put(kInitrdAddrMax, initrd_addr_max);
  put(kKernelAlignment, uint32_t(0x200000));
  put(kXLoadFlags, uint16_t(kXlfKernel64 | kXlfCanBeLoadedAbove4G));
  put(kCmdlineSize, cmdline_size);
  put(kPayloadOffset, uint32_t(kPayloadStart));
  put(kPayloadLength, uint32_t(payload.size()));
  put(kPrefAddress, pref_address);
  put(kInitSize, init_size);
  std::memcpy(file.data() + protected_mode + kPayloadStart, payload.data(), payload.size());
  return file;
}

std::string write_temp_file(const std::string& name, const std::vector<uint8_t>& bytes) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  return path;
}

} // namespace rrvm::test
