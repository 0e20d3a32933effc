#include "vmm/boot/kernel_cache.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/boot/payload_decompressor.h"
#include "vmm/sha256.h"

namespace rrvm {

namespace fs = std::filesystem;

namespace {

constexpr char kEntrySuffix[] = ".vmlinux";

// What precedes an entry's content; a different layout gets a different magic.
struct EntryHeader {
  char magic[8];
  uint64_t size;
  uint64_t checksum; // checksum_of() the content
};
constexpr char kEntryMagic[8] = {'r', 'r', 'v', 'm', 'k', 'c', '0', '2'};

// Finds accidental damage (flipped bits, a block of garbage, bytes moved) at memory speed, where
// a CRC-32 took 45 ms of every boot of a 66 MB vmlinux: four lanes of a multiply-rotate fold over
// 8-byte words, each step a bijection of its lane, so no later word cancels a difference.
uint64_t checksum_of(std::span<const uint8_t> bytes) {
  auto mix = [](uint64_t h, uint64_t w) { return std::rotl((h ^ w) * 0x9e3779b97f4a7c15ull, 29); };
  auto word = [&bytes](size_t i) {
    uint64_t w;
    std::memcpy(&w, bytes.data() + i * 8, 8);
    return w;
  };
  constexpr size_t kLanes = 4;
  const size_t words = bytes.size() / 8;
  // The lanes as four locals, not an array indexed by i % 4: GCC kept the array in memory, and the
  // loop ran at half this speed (18 ms instead of 10 on a 66 MB vmlinux).
  uint64_t a = 1, b = 2, c = 3, d = 4;
  size_t i = 0;
  for (; i + kLanes <= words; i += kLanes) {
    a = mix(a, word(i));
    b = mix(b, word(i + 1));
    c = mix(c, word(i + 2));
    d = mix(d, word(i + 3));
  }
  uint64_t lane[kLanes] = {a, b, c, d};
  for (; i < words; ++i)
    lane[i % kLanes] = mix(lane[i % kLanes], word(i));
  uint64_t tail = 0;
  std::memcpy(&tail, bytes.data() + words * 8, bytes.size() % 8);
  uint64_t sum = bytes.size();
  for (uint64_t h : lane)
    sum = mix(sum, h);
  return mix(sum, tail);
}

std::error_code write_entry(const fs::path& file, std::span<const uint8_t> vmlinux) {
  EntryHeader header{};
  std::memcpy(header.magic, kEntryMagic, sizeof kEntryMagic);
  header.size = vmlinux.size();
  header.checksum = checksum_of(vmlinux);
  errno = 0;
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(&header), sizeof header);
  out.write(reinterpret_cast<const char*>(vmlinux.data()),
            static_cast<std::streamsize>(vmlinux.size()));
  out.close();
  return out ? std::error_code() : std::error_code(errno ? errno : EIO, std::generic_category());
}

std::optional<DecompressedKernel> decompressed(std::span<const uint8_t> payload,
                                               const std::string& path) {
  std::optional<std::vector<uint8_t>> bytes = decompress_payload(payload, path);
  if (!bytes) return std::nullopt;
  return DecompressedKernel(std::move(*bytes));
}

} // namespace

std::optional<DecompressedKernel> KernelCache::decompress(std::span<const uint8_t> payload,
                                                          const std::string& path) const {
  if (directory_.empty()) return decompressed(payload, path);
  const fs::path entry = directory_ / (sha256_hex(sha256_of(payload)) + kEntrySuffix);
  if (std::optional<DecompressedKernel> cached = find(entry)) return cached;
  std::optional<DecompressedKernel> vmlinux = decompressed(payload, path);
  if (vmlinux) store(entry, vmlinux->bytes());
  return vmlinux;
}

std::optional<DecompressedKernel> KernelCache::find(const fs::path& entry) const {
  const UniqueFd fd(::open(entry.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st;
  if (!fd || ::fstat(fd.get(), &st) != 0 || static_cast<size_t>(st.st_size) < sizeof(EntryHeader))
    return std::nullopt;
  const size_t length = static_cast<size_t>(st.st_size);
  void* at = ::mmap(nullptr, length, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd.get(), 0);
  if (at == MAP_FAILED) return std::nullopt;
  UniqueMapping mapping(at, length);
  EntryHeader header;
  std::memcpy(&header, at, sizeof header);
  if (std::memcmp(header.magic, kEntryMagic, sizeof kEntryMagic) != 0 ||
      header.size != length - sizeof header)
    return std::nullopt;
  DecompressedKernel vmlinux(std::move(mapping), sizeof header, header.size);
  if (checksum_of(vmlinux.bytes()) != header.checksum) return std::nullopt;
  std::error_code ignored;
  fs::last_write_time(entry, fs::file_time_type::clock::now(), ignored); // most recently used
  return vmlinux;
}

void KernelCache::store(const fs::path& entry, std::span<const uint8_t> vmlinux) const {
  // Written aside and renamed into place: a concurrent boot never reads half an entry.
  const fs::path partial = entry.string() + ".partial." + std::to_string(::getpid());
  std::error_code error;
  fs::create_directories(directory_, error);
  if (!error) error = write_entry(partial, vmlinux);
  if (!error) fs::rename(partial, entry, error);
  if (error) {
    std::error_code ignored;
    fs::remove(partial, ignored);
    std::cerr << "rrvm: warning: cannot store the decompressed kernel in " << directory_.string()
              << ": " << error.message() << " (the next boot decompresses it again)\n";
    return;
  }
  evict_least_recently_used();
}

void KernelCache::evict_least_recently_used() const {
  std::vector<std::pair<fs::file_time_type, fs::path>> entries;
  std::error_code error;
  for (const fs::directory_entry& file : fs::directory_iterator(directory_, error))
    if (file.path().extension() == kEntrySuffix)
      entries.emplace_back(file.last_write_time(error), file.path());
  if (entries.size() <= kEntriesKept) return;
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = kEntriesKept; i < entries.size(); ++i)
    fs::remove(entries[i].second, error);
}

} // namespace rrvm
