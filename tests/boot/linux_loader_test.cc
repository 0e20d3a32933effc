// The Linux loader with Debian's stock kernel: every zero-page field it sets, against the boot
// protocol; where the kernel and initrd go; the entry state of the 64-bit protocol. Plus the
// vmlinux and in-guest-decompressor paths, and the initrd placement rule.
#include <cstring>
#include <fstream>
#include <gtest/gtest.h>

#include "tests/boot/bzimage_forge.h"
#include "tests/boot/stock_kernel.h"
#include "tests/support/subprocess.h"
#include "vmm/boot/boot_file.h"
#include "vmm/boot/boot_layout.h"
#include "vmm/boot/bzimage.h"
#include "vmm/boot/e820_map.h"
#include "vmm/boot/elf_file.h"
#include "vmm/boot/kernel_loader.h"
#include "vmm/boot/linux_boot_params.h"
#include "vmm/boot/linux_loader.h"
#include "vmm/boot/payload_decompressor.h"
#include "vmm/boot/rng_seed.h"
#include "vmm/error.h"
#include "vmm/page_walker.h"

namespace rrvm {
namespace {

using namespace linux_boot;
constexpr uint64_t kZeroPage = 0x7000;
constexpr uint64_t kCmdline = 0x8000;
constexpr uint64_t kMemory = 256ull << 20;
constexpr uint64_t kStartup64 = 0x1000000; // Debian's vmlinux: physical address of startup_64

std::vector<uint8_t> initrd_sample() {
  std::vector<uint8_t> bytes((1u << 20) + 123);
  for (size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<uint8_t>(i * 7 + 1);
  return bytes;
}

class StockKernelTest : public ::testing::Test {
protected:
  void SetUp() override {
    path_ = test::stock_kernel_or_fail();
    if (path_.empty()) GTEST_SKIP() << "Debian's kernel is not fetched (tools/fetch-linux.sh)";
    file_ = read_boot_file("kernel", path_);
    BootOptions options;
    options.kernel_path = path_;
    options.cmdline = "console=ttyS0 nokaslr";
    options.initrd_path = "initrd.img";
    options.initrd = initrd_sample();
    result_ = load_kernel(memory_, options);
  }
  template <typename T> T zero_page(uint64_t offset) { return memory_.load<T>(kZeroPage + offset); }
  template <typename T> T file(uint64_t offset) {
    T value;
    std::memcpy(&value, file_.data() + offset, sizeof value);
    return value;
  }

  std::string path_;
  std::vector<uint8_t> file_;
  GuestMemory memory_{kMemory};
  BootResult result_;
};

TEST_F(StockKernelTest, IsRecognisedAsLinuxAndEntersStartup64) {
  EXPECT_EQ(result_.image.kind, KernelKind::kLinux);
  EXPECT_EQ(result_.image.code_bits, 64u);
  EXPECT_EQ(result_.image.entry, kStartup64);
  EXPECT_EQ(result_.cpu.rip, kStartup64);
  // The host decompressed the payload: nothing of the file lies in memory as it is.
  EXPECT_TRUE(result_.image.segments.empty());
  EXPECT_EQ(result_.image.file, file_);
}

TEST_F(StockKernelTest, LoadsTheDecompressedVmlinuxSegmentsAtTheirPhysicalAddresses) {
  const BzImage bz = parse_bzimage(file_, path_);
  ASSERT_EQ(payload_format(bz.payload), PayloadFormat::kXz); // Debian's choice
  const auto vmlinux = decompress_payload(bz.payload, path_);
  ASSERT_TRUE(vmlinux);
  const ElfFile elf = parse_elf(*vmlinux, "vmlinux");
  EXPECT_TRUE(is_linux_vmlinux(elf));
  EXPECT_EQ(elf.entry, kStartup64);
  for (const ElfSegment& s : elf.loadable) {
    SCOPED_TRACE(s.paddr);
    EXPECT_EQ(
        std::memcmp(memory_.at(s.paddr, s.file_size), vmlinux->data() + s.offset, s.file_size), 0);
    const uint8_t* bss = memory_.at(s.paddr + s.file_size, s.memory_size - s.file_size);
    EXPECT_TRUE(
        std::all_of(bss, bss + (s.memory_size - s.file_size), [](uint8_t b) { return !b; }));
  }
}

TEST_F(StockKernelTest, ZeroPageHoldsTheImagesSetupHeader) {
  const uint64_t header_end = kJump + 2 + file_[kJump + 1];
  ASSERT_EQ(header_end, 0x26cu); // protocol 2.15
  // What the loader fills in; every other header byte is the image's.
  const std::vector<std::pair<uint64_t, uint64_t>> written = {
      {kTypeOfLoader, 1}, {kLoadFlags, 1},  {kCode32Start, 4},     {kRamdiskImage, 4},
      {kRamdiskSize, 4},  {kCmdLinePtr, 4}, {kHardwareSubarch, 4}, {kSetupData, 8}};
  for (uint64_t offset = kSetupHeader; offset < header_end; ++offset) {
    bool loader_field = false;
    for (auto [at, size] : written)
      loader_field |= offset >= at && offset < at + size;
    if (!loader_field) {
      EXPECT_EQ(zero_page<uint8_t>(offset), file_[offset]) << "offset " << offset;
    }
  }
  EXPECT_EQ(zero_page<uint16_t>(kBootFlag), 0xaa55);
  EXPECT_EQ(zero_page<uint32_t>(kHeaderMagic), kHeaderMagicValue);
  EXPECT_EQ(zero_page<uint16_t>(kVersion), 0x020f);
  EXPECT_EQ(zero_page<uint32_t>(kCmdlineSize), 2047u);
  EXPECT_EQ(zero_page<uint32_t>(kInitSize), file<uint32_t>(kInitSize));
}

TEST_F(StockKernelTest, ZeroPageHoldsWhatTheLoaderDecided) {
  EXPECT_EQ(zero_page<uint8_t>(kTypeOfLoader), 0xff);
  EXPECT_EQ(zero_page<uint8_t>(kLoadFlags), file_[kLoadFlags] | kLoadedHigh);
  EXPECT_EQ(zero_page<uint32_t>(kCode32Start), kStartup64);
  EXPECT_EQ(zero_page<uint32_t>(kHardwareSubarch), 0u);
  EXPECT_EQ(zero_page<uint64_t>(kSetupData), 0u);

  EXPECT_EQ(zero_page<uint32_t>(kCmdLinePtr), kCmdline);
  EXPECT_EQ(zero_page<uint32_t>(kExtCmdLinePtr), 0u);
  const std::string cmdline = "console=ttyS0 nokaslr";
  EXPECT_EQ(
      std::memcmp(memory_.at(kCmdline, cmdline.size() + 1), cmdline.c_str(), cmdline.size() + 1),
      0);

  const std::vector<uint8_t> initrd = initrd_sample();
  const uint64_t initrd_at = (kMemory - initrd.size()) & ~0xfffull; // top of RAM, page-aligned
  EXPECT_EQ(result_.image.initrd_gpa, initrd_at);
  EXPECT_EQ(zero_page<uint32_t>(kRamdiskImage), initrd_at);
  EXPECT_EQ(zero_page<uint32_t>(kExtRamdiskImage), 0u);
  EXPECT_EQ(zero_page<uint32_t>(kRamdiskSize), initrd.size());
  EXPECT_EQ(zero_page<uint32_t>(kExtRamdiskSize), 0u);
  EXPECT_EQ(std::memcmp(memory_.at(initrd_at, initrd.size()), initrd.data(), initrd.size()), 0);
  EXPECT_EQ(result_.image.initrd, initrd);

  const std::vector<E820Entry> map = e820_map(kMemory);
  ASSERT_EQ(zero_page<uint8_t>(kE820Entries), map.size());
  for (size_t i = 0; i < map.size(); ++i) {
    const uint64_t entry = kE820Table + i * kE820EntrySize;
    EXPECT_EQ(zero_page<uint64_t>(entry), map[i].address);
    EXPECT_EQ(zero_page<uint64_t>(entry + 8), map[i].size);
    EXPECT_EQ(zero_page<uint32_t>(entry + 16), map[i].type);
  }
  EXPECT_EQ(zero_page<uint8_t>(kSentinel), 0);
  // screen_info and the rest outside the header and e820 table stay zero.
  for (uint64_t offset = 0; offset < 0xc0; ++offset)
    EXPECT_EQ(zero_page<uint8_t>(offset), 0);
}

TEST_F(StockKernelTest, EntryStateIsThe64BitBootProtocols) {
  const CpuState& cpu = result_.cpu;
  EXPECT_EQ(cpu.gpr[kRsi], kZeroPage);
  EXPECT_EQ(cpu.cs.selector, kBootCodeSelector);
  EXPECT_EQ(cpu.cs.l, 1);
  EXPECT_EQ(cpu.cs.db, 0);
  EXPECT_EQ(cpu.cs.dpl, 0);
  for (const Segment* data : {&cpu.ds, &cpu.es, &cpu.ss}) {
    EXPECT_EQ(data->selector, kBootDataSelector);
    EXPECT_EQ(data->base, 0u);
    EXPECT_EQ(data->limit, 0xffffffffu);
    EXPECT_EQ(data->type & 0x2, 0x2); // writable
  }
  // The GDT holds flat descriptors at those selectors: 64-bit code (execute/read), data (r/w).
  EXPECT_EQ(memory_.load<uint64_t>(cpu.gdt.base + kBootCodeSelector), 0x00af9b000000ffffull);
  EXPECT_EQ(memory_.load<uint64_t>(cpu.gdt.base + kBootDataSelector), 0x00cf93000000ffffull);
  EXPECT_GE(cpu.gdt.limit, kBootDataSelector + 7);
  EXPECT_EQ(cpu.rflags & rflags::kIF, 0u);
  EXPECT_TRUE(cpu.cr0 & cr0::kPG);
  EXPECT_TRUE(cpu.cr0 & cr0::kPE);
  EXPECT_TRUE(cpu.cr4 & cr4::kPAE);
  EXPECT_TRUE(cpu.efer & efer::kLMA);
  // Identity-mapped: the kernel up to init_size past its load address, the zero page, the
  // command line and the initrd.
  const uint64_t init_end = kStartup64 + file<uint32_t>(kInitSize);
  const uint64_t initrd = result_.image.initrd_gpa;
  for (uint64_t linear : {kStartup64, init_end - 1, kZeroPage, kZeroPage + 0xfff, kCmdline, initrd,
                          initrd + result_.image.initrd.size() - 1, kMemory - 1})
    EXPECT_EQ(linear_to_physical(memory_, cpu, linear), linear) << std::hex << linear;
}

TEST_F(StockKernelTest, AVmlinuxGetsASetupHeaderMadeForIt) {
  const auto vmlinux = decompress_payload(parse_bzimage(file_, path_).payload, path_);
  ASSERT_TRUE(vmlinux);
  GuestMemory memory(kMemory);
  BootOptions options;
  options.kernel_path = "vmlinux";
  options.cmdline = "quiet";
  const BootResult result = load_kernel(memory, options, *vmlinux);
  EXPECT_EQ(result.image.kind, KernelKind::kLinux);
  EXPECT_EQ(result.cpu.rip, kStartup64);
  EXPECT_EQ(result.cpu.gpr[kRsi], kZeroPage);
  EXPECT_FALSE(result.image.segments.empty()); // a vmlinux is loaded as it is
  auto zp = [&]<typename T>(T, uint64_t offset) { return memory.load<T>(kZeroPage + offset); };
  EXPECT_EQ(zp(uint16_t(), kBootFlag), 0xaa55);
  EXPECT_EQ(zp(uint32_t(), kHeaderMagic), kHeaderMagicValue);
  EXPECT_EQ(zp(uint16_t(), kVersion), 0x020f);
  EXPECT_EQ(zp(uint8_t(), kTypeOfLoader), 0xff);
  EXPECT_EQ(zp(uint32_t(), kCmdlineSize), kDefaultCmdlineSize);
  EXPECT_EQ(zp(uint32_t(), kCmdLinePtr), kCmdline);
  EXPECT_EQ(zp(uint64_t(), kPrefAddress), kStartup64);
  EXPECT_TRUE(zp(uint16_t(), kXLoadFlags) & kXlfKernel64);
  const ElfFile elf = parse_elf(*vmlinux, "vmlinux");
  uint64_t end = 0;
  for (const ElfSegment& s : elf.loadable)
    end = std::max(end, s.paddr + s.memory_size);
  EXPECT_EQ(zp(uint32_t(), kInitSize), end - kStartup64);
  EXPECT_EQ(zp(uint32_t(), kRamdiskImage), 0u);
  EXPECT_EQ(zp(uint32_t(), kRamdiskSize), 0u);
}

TEST_F(StockKernelTest, ARngSeedIsTheOneSetupDataNode) {
  GuestMemory memory(kMemory);
  BootOptions options;
  options.kernel_path = path_;
  options.linux_rng_seed = linux_rng_seed(1'700'000'000);
  load_kernel(memory, options);
  const uint64_t node = memory.load<uint64_t>(kZeroPage + kSetupData);
  ASSERT_EQ(node, boot_layout::kLinuxSetupData);
  EXPECT_EQ(memory.load<uint64_t>(node + kSetupDataNext), 0u);
  EXPECT_EQ(memory.load<uint32_t>(node + kSetupDataType), kSetupRngSeed);
  ASSERT_EQ(memory.load<uint32_t>(node + kSetupDataLength), 32u);
  EXPECT_EQ(std::memcmp(memory.at(node + kSetupDataPayload, 32), options.linux_rng_seed.data(), 32),
            0);
  // The node ends before the entry stack's lowest address.
  EXPECT_LE(node + kSetupDataPayload + 32, 0xc000u);
}

TEST(LinuxRngSeedTest, FollowsTheRtcStartTimeOnly) {
  EXPECT_EQ(linux_rng_seed(1'700'000'000), linux_rng_seed(1'700'000'000));
  EXPECT_NE(linux_rng_seed(1'700'000'000), linux_rng_seed(1'700'000'001));
  EXPECT_EQ(linux_rng_seed(0).size(), 32u);
}

TEST(LinuxLoaderTest, RrvmsOwnElf64KernelsAreNotLinux) {
  const std::vector<uint8_t> file = read_boot_file("kernel", test::guest_path("pit_long.elf"));
  EXPECT_FALSE(is_linux_vmlinux(parse_elf(file, "pit_long.elf")));
  GuestMemory memory(64ull << 20);
  BootOptions options;
  options.kernel_path = "pit_long.elf";
  EXPECT_EQ(load_kernel(memory, options, file).image.kind, KernelKind::kElf64);
}

TEST(LinuxLoaderTest, AFormatRrvmCannotReadIsDecompressedByTheKernelItself) {
  test::ForgedBzImage forged; // a bzip2 payload
  const std::vector<uint8_t> file = forged.bytes();
  GuestMemory memory(64ull << 20);
  BootOptions options;
  options.kernel_path = "bzip2.bzImage";
  const BootResult result = load_kernel(memory, options, file);
  EXPECT_EQ(result.image.kind, KernelKind::kLinux);
  EXPECT_EQ(result.cpu.rip, forged.pref_address + k64BitEntryOffset);
  const uint64_t protected_mode = (forged.setup_sects + 1) * 512;
  const uint64_t size = file.size() - protected_mode;
  ASSERT_EQ(result.image.segments.size(), 1u);
  EXPECT_EQ(result.image.segments[0].gpa, forged.pref_address);
  EXPECT_EQ(result.image.segments[0].file_offset, protected_mode);
  EXPECT_EQ(result.image.segments[0].file_size, size);
  EXPECT_EQ(std::memcmp(memory.at(forged.pref_address, size), file.data() + protected_mode, size),
            0);
  EXPECT_EQ(memory.load<uint32_t>(kZeroPage + kCode32Start), forged.pref_address);
  EXPECT_EQ(result.cpu.cs.selector, kBootCodeSelector);
}

TEST(InitrdPlacementTest, HighestPageBelowTheEndOfRamAndInitrdAddrMax) {
  EXPECT_EQ(place_initrd(0x1234, 0x2000000, 0x7fffffff, 256ull << 20), 0x10000000u - 0x2000);
  EXPECT_EQ(place_initrd(0x1000, 0x2000000, 0x7fffffff, 256ull << 20), 0x10000000u - 0x1000);
  // 3 GiB of RAM: initrd_addr_max, not the end of RAM, bounds it.
  EXPECT_EQ(place_initrd(0x1800, 0x2000000, 0x7fffffff, 3ull << 30), 0x80000000u - 0x2000);
  // Exactly the room there is.
  EXPECT_EQ(place_initrd(0x1000000, 0x3000000, 0x7fffffff, 64ull << 20), 0x3000000u);
}

TEST(InitrdPlacementTest, RefusesAnInitrdThatDoesNotFitAboveTheKernel) {
  try {
    place_initrd(0x1001000, 0x3000000, 0x7fffffff, 64ull << 20);
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kBadInput);
    EXPECT_STREQ(e.what(), "initrd of 16781312 bytes (16.0 MiB) does not fit in guest RAM between "
                           "the kernel's end at 0x3000000 and 0x4000000 (16.0 MiB free); try a "
                           "larger --mem");
  }
  EXPECT_THROW(place_initrd(128ull << 20, 0x3000000, 0x7fffffff, 64ull << 20), Error);
}

} // namespace
} // namespace rrvm
