// Guest RAM: one anonymous mapping at guest-physical address 0.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>

#include "vmm/error.h"

namespace rrvm {

// Guest-physical addresses at and above this are never RAM (the PCI/MMIO hole holds the HPET at
// 0xFED00000 and the local APIC/IOAPIC region), so RAM is limited to below it.
constexpr uint64_t kMmioHoleStart = 0xE0000000;
constexpr uint64_t kPageSize = 4096;

class GuestMemory {
public:
  explicit GuestMemory(uint64_t size);
  ~GuestMemory();
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;

  uint64_t size() const { return size_; }
  uint8_t* host() const { return host_; }

  bool contains(uint64_t gpa, uint64_t length) const {
    return gpa <= size_ && length <= size_ - gpa;
  }
  // Host pointer for [gpa, gpa+length); throws when the range is not RAM.
  uint8_t* at(uint64_t gpa, uint64_t length) const {
    if (!contains(gpa, length)) throw Error(ExitCode::kBadInput, out_of_range(gpa, length));
    return host_ + gpa;
  }
  void write(uint64_t gpa, std::span<const uint8_t> bytes) {
    std::memcpy(at(gpa, bytes.size()), bytes.data(), bytes.size());
  }
  void read(uint64_t gpa, std::span<uint8_t> out) const {
    std::memcpy(out.data(), at(gpa, out.size()), out.size());
  }
  template <typename T> T load(uint64_t gpa) const {
    T v;
    std::memcpy(&v, at(gpa, sizeof(T)), sizeof(T));
    return v;
  }
  template <typename T> void store(uint64_t gpa, T v) {
    std::memcpy(at(gpa, sizeof(T)), &v, sizeof(T));
  }

  // Pages of guest memory that are actually backed by host memory (mincore), in bytes.
  uint64_t resident_bytes() const;

private:
  std::string out_of_range(uint64_t gpa, uint64_t length) const;
  uint64_t size_;
  uint8_t* host_;
};

// Parses "64M", "1G", "512K", "1048576", "0x7c00" into bytes (decimal unless "0x"); throws a usage
// error naming `what` otherwise.
uint64_t parse_size(const std::string& text, const char* what);

} // namespace rrvm
