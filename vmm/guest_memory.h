// Guest RAM: one anonymous mapping at guest-physical address 0, and the pages written since the
// machine last took or restored a snapshot of it (vmm/memory_image.h), so that a snapshot or a
// restore reads and copies only those.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <vector>

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
    mark_written(gpa, bytes.size());
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
    mark_written(gpa, sizeof(T));
  }

  // Written pages, one bit per 4 KiB page (page n is bit n % 64 of word n / 64). write() and
  // store() mark theirs, and so must every other writer whose writes a snapshot or restore has to
  // see: emu marks the guest's writes. Writes through at()'s pointer (the loaders, before the
  // first snapshot) and kvm's (which has its own dirty log) are not marked: a machine whose
  // engine does not mark its writes marks everything before a snapshot or restore.
  const std::vector<uint64_t>& written() const { return written_; }
  void mark_page_written(uint64_t page) { written_[page / 64] |= 1ull << (page % 64); }
  bool page_written(uint64_t page) const { return (written_[page / 64] >> (page % 64)) & 1; }
  void mark_written(uint64_t gpa, uint64_t length) {
    if (length == 0) return;
    for (uint64_t page = gpa / kPageSize; page <= (gpa + length - 1) / kPageSize; ++page)
      mark_page_written(page);
  }
  void mark_all_written();
  void clear_written();
  // Called by clear_written(): a writer that skips marking pages it knows to be marked (emu's
  // fast writes) must learn that they no longer are. One listener; an empty function removes it.
  void on_clear_written(std::function<void()> listener) { clear_listener_ = std::move(listener); }

  // Pages of guest memory that are actually backed by host memory (mincore), in bytes.
  uint64_t resident_bytes() const;

private:
  std::string out_of_range(uint64_t gpa, uint64_t length) const;
  uint64_t size_;
  uint8_t* host_;
  std::vector<uint64_t> written_;
  std::function<void()> clear_listener_;
};

// Parses "64M", "1G", "512K", "1048576", "0x7c00" into bytes (decimal unless "0x"); throws a usage
// error naming `what` otherwise.
uint64_t parse_size(const std::string& text, const char* what);

} // namespace rrvm
