// What a loader put into guest memory and the CPU state it starts the guest in. The description
// goes into a trace header, so that a replay or a dump can find the guest's code without the
// original file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vmm/cpu_state.h"

namespace rrvm {

// kLinux: a bzImage or vmlinux started by the Linux x86 boot protocol's 64-bit entry.
enum class KernelKind : uint8_t { kMultiboot, kElf64, kFlat, kLinux };
constexpr KernelKind kLastKernelKind = KernelKind::kLinux;
// The images a trace holds for a kernel of this kind: the kernel, then a Linux kernel's initrd.
inline size_t max_guest_images(KernelKind kind) {
  return kind == KernelKind::kLinux ? 2 : 1;
}
inline const char* kernel_kind_name(KernelKind kind) {
  switch (kind) {
  case KernelKind::kMultiboot:
    return "multiboot";
  case KernelKind::kElf64:
    return "elf64";
  case KernelKind::kFlat:
    return "flat";
  case KernelKind::kLinux:
    return "linux";
  }
  return "unknown";
}
inline bool kernel_starts_in_long_mode(KernelKind kind) {
  return kind == KernelKind::kElf64 || kind == KernelKind::kLinux;
}

struct LoadedSegment {
  uint64_t gpa;         // where it was loaded
  uint64_t file_offset; // where it comes from in the image file
  uint64_t file_size;   // bytes copied from the file (the rest of memory_size is zeroed)
  uint64_t memory_size;
};

struct BootImage {
  KernelKind kind;
  std::string path;
  std::vector<uint8_t> file; // the whole kernel file
  // The pieces of `file` copied into memory as they are; a bzImage whose payload rrvm
  // decompressed has none (the file holds only the compressed vmlinux).
  std::vector<LoadedSegment> segments;
  uint64_t entry;
  unsigned code_bits; // 16, 32 or 64: how the entry code is decoded
  // Linux: the initial RAM disk, when one was given, and where it was put.
  std::string initrd_path;
  std::vector<uint8_t> initrd;
  uint64_t initrd_gpa = 0;
};

struct BootOptions {
  std::string kernel_path;
  std::string cmdline;
  bool flat = false;
  uint64_t flat_address = 0;
  // Linux only: an initial RAM disk, read from initrd_path unless given as bytes (from a trace).
  std::string initrd_path;
  std::optional<std::vector<uint8_t>> initrd;
  // Linux only: seeds the kernel's random number generator through setup_data (none if empty).
  // Without a seed and without RDRAND, the kernel's first read of /dev/urandom spins for about a
  // second of guest time gathering jitter entropy.
  std::vector<uint8_t> linux_rng_seed;
  // Linux bzImage only: where decompressed kernels are kept between boots (KernelCache); empty:
  // decompress on every boot.
  std::string kernel_cache_dir;
};

struct BootResult {
  BootImage image;
  CpuState cpu;
};

} // namespace rrvm
