// The decompressed-kernel cache: a miss stores, a hit is read back without decompressing, a
// damaged entry or an unusable directory only costs the decompression, and the most recently used
// entries are kept.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>

#include "tests/boot/gzip.h"
#include "vmm/boot/kernel_cache.h"
#include "vmm/sha256.h"

namespace rrvm {
namespace {

namespace fs = std::filesystem;

// What the cache gives for `payload`, as bytes (empty for nothing).
std::vector<uint8_t> kernel_of(const KernelCache& cache, std::span<const uint8_t> payload) {
  const std::optional<DecompressedKernel> kernel = cache.decompress(payload, "bzImage");
  if (!kernel) return {};
  return {kernel->bytes().begin(), kernel->bytes().end()};
}

// A bzImage's gzip payload of `size` bytes of `fill`.
std::vector<uint8_t> gzip_payload(size_t size, uint8_t fill) {
  return test::gzip(std::vector<uint8_t>(size, fill));
}

class KernelCacheTest : public ::testing::Test {
protected:
  void SetUp() override {
    char dir[] = "/tmp/rrvm-kernel-cache-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    root_ = dir;
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path entry_of(std::span<const uint8_t> payload) const {
    return cache_dir() / (sha256_hex(sha256_of(payload)) + ".vmlinux");
  }
  fs::path cache_dir() const { return root_ / "kernels"; }
  size_t entries() const {
    size_t n = 0;
    for (const auto& file : fs::directory_iterator(cache_dir()))
      n += file.path().extension() == ".vmlinux";
    return n;
  }

  fs::path root_;
};

TEST_F(KernelCacheTest, AMissStoresAndAHitReadsTheEntryWithoutDecompressing) {
  const auto payload = gzip_payload(100000, 0x5a), other = gzip_payload(3000, 0x11);
  const KernelCache cache(cache_dir());
  const auto first = kernel_of(cache, payload);
  EXPECT_EQ(first, std::vector<uint8_t>(100000, 0x5a));
  ASSERT_TRUE(fs::exists(entry_of(payload)));
  EXPECT_EQ(entries(), 1u);
  // Found by its key alone: under another payload's key, the entry is what that payload gives.
  fs::copy_file(entry_of(payload), entry_of(other));
  EXPECT_EQ(kernel_of(cache, other), first);
  // A hit makes the entry the most recently used.
  const auto hour_ago = fs::file_time_type::clock::now() - std::chrono::hours(1);
  fs::last_write_time(entry_of(payload), hour_ago);
  EXPECT_EQ(kernel_of(cache, payload), first);
  EXPECT_GT(fs::last_write_time(entry_of(payload)), hour_ago + std::chrono::minutes(59));
}

TEST_F(KernelCacheTest, ADamagedEntryIsDecompressedAgainAndReplaced) {
  const auto payload = gzip_payload(50000, 0x42);
  const KernelCache cache(cache_dir());
  const auto good = kernel_of(cache, payload);
  ASSERT_EQ(good.size(), 50000u);
  const fs::path entry = entry_of(payload);
  const auto size = fs::file_size(entry);
  {
    std::fstream file(entry, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(size - 100));
    file.put(0x43); // a flipped byte in the content
  }
  EXPECT_EQ(kernel_of(cache, payload), good);
  fs::resize_file(entry, size - 1); // truncated
  EXPECT_EQ(kernel_of(cache, payload), good);
  std::ofstream(entry, std::ios::trunc) << "not an entry";
  EXPECT_EQ(kernel_of(cache, payload), good);
  EXPECT_EQ(fs::file_size(entry), size); // the last miss stored a good entry again
}

TEST_F(KernelCacheTest, AnUnusableDirectoryWarnsOnceAndStillBoots) {
  std::ofstream(cache_dir()) << "a file where the directory should be";
  const auto payload = gzip_payload(20000, 0x33);
  ::testing::internal::CaptureStderr();
  const auto vmlinux = kernel_of(KernelCache(cache_dir()), payload);
  const std::string warning = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(vmlinux, std::vector<uint8_t>(20000, 0x33));
  EXPECT_NE(warning.find("rrvm: warning: cannot store the decompressed kernel in"),
            std::string::npos)
      << warning;
  EXPECT_EQ(std::count(warning.begin(), warning.end(), '\n'), 1);
}

TEST_F(KernelCacheTest, AnEmptyDirectoryDisablesTheCache) {
  const auto payload = gzip_payload(20000, 0x77);
  EXPECT_EQ(kernel_of(KernelCache(""), payload), std::vector<uint8_t>(20000, 0x77));
  EXPECT_FALSE(fs::exists(cache_dir()));
}

TEST_F(KernelCacheTest, KeepsTheMostRecentlyUsedEntries) {
  const KernelCache cache(cache_dir());
  const auto oldest = gzip_payload(1000, 0);
  ASSERT_FALSE(kernel_of(cache, oldest).empty());
  // Used an hour ago: older than the others however coarse the file system's clock.
  fs::last_write_time(entry_of(oldest), fs::file_time_type::clock::now() - std::chrono::hours(1));
  std::vector<std::vector<uint8_t>> payloads;
  for (uint8_t i = 1; i <= KernelCache::kEntriesKept; ++i) {
    payloads.push_back(gzip_payload(1000, i));
    ASSERT_FALSE(kernel_of(cache, payloads.back()).empty());
  }
  EXPECT_EQ(entries(), KernelCache::kEntriesKept);
  EXPECT_FALSE(fs::exists(entry_of(oldest)));
  for (const auto& payload : payloads)
    EXPECT_TRUE(fs::exists(entry_of(payload)));
}

} // namespace
} // namespace rrvm
