#include "vmm/boot/linux_loader.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "vmm/boot/boot_file.h"
#include "vmm/boot/boot_layout.h"
#include "vmm/boot/boot_structures.h"
#include "vmm/boot/bzimage.h"
#include "vmm/boot/kernel_cache.h"
#include "vmm/boot/linux_boot_params.h"
#include "vmm/boot/zero_page.h"
#include "vmm/error.h"
#include "vmm/hex_text.h"

namespace rrvm {

namespace {

// The protocol version rrvm implements, claimed in the header it makes for a bare vmlinux.
constexpr uint16_t kProtocolVersion = 0x020f;
// A vmlinux is a 2 MiB-aligned kernel; the header made for it says so.
constexpr uint32_t kVmlinuxAlignment = 0x200000;
constexpr uint32_t kVmlinuxInitrdAddrMax = 0x7fffffff;

std::string mib(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

// What the loaders decided about the kernel, for the common part of the start.
struct LinuxKernel {
  std::vector<uint8_t> setup_header;
  uint64_t load_address;
  uint64_t end; // the load address plus init_size, or the segments' end if further
  uint32_t cmdline_size;
  uint32_t initrd_addr_max;
};

void check_cmdline(const BootOptions& options, uint32_t cmdline_size) {
  const uint64_t limit = std::min<uint64_t>(cmdline_size, boot_layout::kLinuxCmdlineMax);
  if (options.cmdline.size() > limit)
    throw Error(ExitCode::kBadInput,
                "--append command line is " + std::to_string(options.cmdline.size()) + " bytes; " +
                    options.kernel_path + " takes at most " + std::to_string(limit) +
                    (limit == cmdline_size ? " (its cmdline_size)" : " (rrvm's room for it)"));
}

void check_kernel_fits(const GuestMemory& memory, const std::string& path,
                       const LinuxKernel& kernel) {
  if (kernel.end < kernel.load_address || kernel.end > memory.size())
    throw Error(ExitCode::kBadInput, path + ": the kernel needs RAM up to " + mib(kernel.end) +
                                         " (load address " + hex_text(kernel.load_address) +
                                         " + init_size " + mib(kernel.end - kernel.load_address) +
                                         "), guest has " + mib(memory.size()) +
                                         "; try a larger --mem");
}

uint64_t segments_end(const ElfFile& elf) {
  uint64_t end = 0;
  for (const ElfSegment& s : elf.loadable)
    end = std::max(end, s.paddr + s.memory_size);
  return end;
}

uint64_t segments_start(const ElfFile& elf) {
  uint64_t start = UINT64_MAX;
  for (const ElfSegment& s : elf.loadable)
    start = std::min(start, s.paddr);
  return start;
}

// The setup header a bzImage would carry, for a vmlinux that has none.
std::vector<uint8_t> vmlinux_setup_header(uint64_t load_address, uint64_t init_size) {
  using namespace linux_boot;
  std::vector<uint8_t> zero_page(kSetupHeaderMaxEnd);
  auto put = [&](uint64_t offset, auto value) {
    std::memcpy(zero_page.data() + offset, &value, sizeof value);
  };
  constexpr uint8_t kShortJump = 0xeb;
  constexpr uint64_t kHeaderEnd = 0x268; // protocol 2.15's header, to kernel_info_offset
  put(kBootFlag, kBootFlagValue);
  put(kJump, uint16_t(kShortJump | (kHeaderEnd - kJump - 2) << 8));
  put(kHeaderMagic, kHeaderMagicValue);
  put(kVersion, kProtocolVersion);
  put(kLoadFlags, kLoadedHigh);
  put(kInitrdAddrMax, kVmlinuxInitrdAddrMax);
  put(kKernelAlignment, kVmlinuxAlignment);
  put(kXLoadFlags, uint16_t(kXlfKernel64 | kXlfCanBeLoadedAbove4G));
  put(kCmdlineSize, kDefaultCmdlineSize);
  put(kPrefAddress, load_address);
  put(kInitSize, static_cast<uint32_t>(init_size));
  return {zero_page.begin() + kSetupHeader, zero_page.begin() + kHeaderEnd};
}

// The part of the start both kinds of image share: command line, initrd, zero page, GDT, long
// mode and registers. `result.image` holds the kernel already loaded.
// The seed as the one setup_data node at boot_layout::kLinuxSetupData; its address, or 0 when
// there is no seed.
uint64_t write_rng_seed(GuestMemory& memory, const std::vector<uint8_t>& seed) {
  using namespace linux_boot;
  using boot_layout::kLinuxSetupData;
  if (seed.empty()) return 0;
  memory.store<uint64_t>(kLinuxSetupData + kSetupDataNext, 0);
  memory.store<uint32_t>(kLinuxSetupData + kSetupDataType, kSetupRngSeed);
  memory.store<uint32_t>(kLinuxSetupData + kSetupDataLength, static_cast<uint32_t>(seed.size()));
  memory.write(kLinuxSetupData + kSetupDataPayload, seed);
  return kLinuxSetupData;
}

void start_linux(GuestMemory& memory, const BootOptions& options, const LinuxKernel& kernel,
                 BootResult& result) {
  using namespace boot_layout;
  BootImage& image = result.image;
  if (options.initrd || !options.initrd_path.empty()) {
    image.initrd_path = options.initrd_path;
    image.initrd = options.initrd ? *options.initrd : read_boot_file("initrd", options.initrd_path);
    image.initrd_gpa =
        place_initrd(image.initrd.size(), kernel.end, kernel.initrd_addr_max, memory.size());
    memory.write(image.initrd_gpa, image.initrd);
  }
  std::memset(memory.at(kLinuxCmdline, kLinuxCmdlineMax + 1), 0, kLinuxCmdlineMax + 1);
  memory.write(kLinuxCmdline,
               {reinterpret_cast<const uint8_t*>(options.cmdline.data()), options.cmdline.size()});
  const uint64_t setup_data = write_rng_seed(memory, options.linux_rng_seed);
  write_zero_page(memory, kLinuxZeroPage,
                  {kernel.setup_header, kernel.load_address, kLinuxCmdline, image.initrd_gpa,
                   image.initrd.size(), setup_data});

  CpuState& cpu = result.cpu;
  write_linux_boot_gdt(memory, cpu);
  enter_long_mode(memory, cpu);
  cpu.rip = image.entry;
  cpu.gpr[kRsi] = kLinuxZeroPage;
  cpu.gpr[kRsp] = kStackTop;
}

} // namespace

uint64_t place_initrd(uint64_t size, uint64_t kernel_end, uint64_t initrd_addr_max,
                      uint64_t memory_bytes) {
  constexpr uint64_t kPageMask = 0xfff;
  const uint64_t top = std::min(initrd_addr_max + 1, memory_bytes);
  const uint64_t address = size <= top ? (top - size) & ~kPageMask : 0;
  if (size > top || address < kernel_end)
    throw Error(ExitCode::kBadInput,
                "initrd of " + std::to_string(size) + " bytes (" + mib(size) +
                    ") does not fit in guest RAM between the kernel's end at " +
                    hex_text(kernel_end) + " and " + hex_text(top) + " (" +
                    mib(top > kernel_end ? top - kernel_end : 0) + " free); try a larger --mem");
  return address;
}

BootResult load_linux_bzimage(GuestMemory& memory, const BootOptions& options,
                              std::vector<uint8_t> file) {
  const std::string& path = options.kernel_path;
  const BzImage bz = parse_bzimage(file, path);
  check_cmdline(options, bz.cmdline_size);
  LinuxKernel kernel{
      {bz.setup_header.begin(), bz.setup_header.end()}, 0, 0, bz.cmdline_size, bz.initrd_addr_max};
  BootResult result;
  BootImage& image = result.image;
  image.kind = KernelKind::kLinux;
  image.path = path;
  image.code_bits = 64;
  if (const std::optional<DecompressedKernel> decompressed =
          KernelCache(options.kernel_cache_dir).decompress(bz.payload, path)) {
    const std::span<const uint8_t> vmlinux = decompressed->bytes();
    const std::string what = path + " (decompressed vmlinux)";
    const ElfFile elf = parse_elf(vmlinux, what);
    if (!elf.is64) throw Error(ExitCode::kBadInput, what + ": not an ELF64 file");
    kernel.load_address = segments_start(elf);
    kernel.end = std::max(kernel.load_address + bz.init_size, segments_end(elf));
    check_kernel_fits(memory, path, kernel);
    load_elf_segments(memory, elf, vmlinux, what);
    image.entry = elf.entry; // startup_64
  } else {
    // The kernel decompresses itself, in place at its preferred address.
    kernel.load_address = bz.pref_address;
    kernel.end =
        kernel.load_address + std::max<uint64_t>(bz.init_size, bz.protected_mode_kernel.size());
    check_kernel_fits(memory, path, kernel);
    if (kernel.load_address < boot_layout::kEnd)
      throw Error(ExitCode::kBadInput, path + ": preferred load address " +
                                           hex_text(kernel.load_address) +
                                           " overlaps rrvm's boot area");
    memory.write(kernel.load_address, bz.protected_mode_kernel);
    const uint64_t size = bz.protected_mode_kernel.size();
    image.segments.push_back({kernel.load_address, bz.protected_mode_offset, size, size});
    image.entry = kernel.load_address + linux_boot::k64BitEntryOffset;
  }
  image.file = std::move(file);
  start_linux(memory, options, kernel, result);
  return result;
}

BootResult load_linux_vmlinux(GuestMemory& memory, const BootOptions& options,
                              std::vector<uint8_t> file, const ElfFile& elf) {
  check_cmdline(options, linux_boot::kDefaultCmdlineSize);
  const uint64_t start = segments_start(elf), end = segments_end(elf);
  LinuxKernel kernel{vmlinux_setup_header(start, end - start), start, end,
                     linux_boot::kDefaultCmdlineSize, kVmlinuxInitrdAddrMax};
  check_kernel_fits(memory, options.kernel_path, kernel);
  BootResult result;
  BootImage& image = result.image;
  image.kind = KernelKind::kLinux;
  image.path = options.kernel_path;
  image.code_bits = 64;
  image.entry = elf.entry;
  image.segments = load_elf_segments(memory, elf, file, options.kernel_path);
  image.file = std::move(file);
  start_linux(memory, options, kernel, result);
  return result;
}

} // namespace rrvm
