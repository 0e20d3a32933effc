#include "vmm/boot/bzimage.h"

#include <cstdio>
#include <cstring>

#include "vmm/boot/linux_boot_params.h"
#include "vmm/error.h"
#include "vmm/hex_text.h"

namespace rrvm {

namespace {

template <typename T> T field(std::span<const uint8_t> file, uint64_t offset) {
  T value;
  std::memcpy(&value, file.data() + offset, sizeof value);
  return value;
}

std::string version_text(uint16_t version) {
  char text[16];
  std::snprintf(text, sizeof text, "%u.%02u", version >> 8, version & 0xff);
  return text;
}

} // namespace

bool looks_like_bzimage(std::span<const uint8_t> file) {
  using namespace linux_boot;
  return file.size() >= kHeaderMagic + 4 && field<uint16_t>(file, kBootFlag) == kBootFlagValue &&
         field<uint32_t>(file, kHeaderMagic) == kHeaderMagicValue;
}

BzImage parse_bzimage(std::span<const uint8_t> file, const std::string& path) {
  using namespace linux_boot;
  auto bad = [&](const std::string& why) { return Error(ExitCode::kBadInput, path + ": " + why); };
  if (!looks_like_bzimage(file)) throw bad("not a Linux bzImage (no HdrS setup header)");
  BzImage image{};
  image.version = field<uint16_t>(file, kVersion);
  if (image.version < kFirstVersionWith64BitEntry)
    throw bad("Linux boot protocol " + version_text(image.version) +
              " is older than 2.12, the first with a 64-bit entry point");
  const uint64_t header_end = kJump + 2 + file[kJump + 1];
  if (header_end < kSetupHeaderMinEnd || header_end > file.size())
    throw bad("setup header ends at " + hex_text(header_end) + ", outside a protocol " +
              version_text(image.version) + " header or the file");
  image.setup_header = file.subspan(kSetupHeader, header_end - kSetupHeader);
  if (!(field<uint16_t>(file, kXLoadFlags) & kXlfKernel64))
    throw bad("the kernel has no 64-bit entry point (xloadflags lacks XLF_KERNEL_64)");

  // setup_sects 0 means 4, for historical reasons.
  const unsigned setup_sects = file[kSetupSects] ? file[kSetupSects] : 4;
  image.protected_mode_offset = (setup_sects + 1) * 512ull;
  if (image.protected_mode_offset >= file.size())
    throw bad("the file (" + std::to_string(file.size()) + " bytes) ends inside its " +
              std::to_string(image.protected_mode_offset) + " bytes of setup code");
  image.protected_mode_kernel = file.subspan(image.protected_mode_offset);
  const uint64_t payload_offset = field<uint32_t>(file, kPayloadOffset);
  const uint64_t payload_length = field<uint32_t>(file, kPayloadLength);
  if (payload_length < 4 || payload_offset + payload_length > image.protected_mode_kernel.size())
    throw bad("the compressed kernel (" + std::to_string(payload_length) + " bytes at " +
              hex_text(payload_offset) + ") lies outside the file");
  image.payload = image.protected_mode_kernel.subspan(payload_offset, payload_length);
  image.pref_address = field<uint64_t>(file, kPrefAddress);
  image.init_size = field<uint32_t>(file, kInitSize);
  image.cmdline_size = field<uint32_t>(file, kCmdlineSize);
  image.initrd_addr_max = field<uint32_t>(file, kInitrdAddrMax);
  return image;
}

} // namespace rrvm
