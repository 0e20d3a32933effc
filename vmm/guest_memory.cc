#include "vmm/guest_memory.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <string>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

namespace rrvm {

GuestMemory::GuestMemory(uint64_t size) : size_(size) {
  if (size == 0 || size % kPageSize != 0)
    throw Error(ExitCode::kUsage, "guest memory size must be a non-zero multiple of 4 KiB");
  if (size > kMmioHoleStart)
    throw Error(ExitCode::kUsage, "guest memory larger than 3.5 GiB is not supported (MMIO hole)");
  written_.resize((size / kPageSize + 63) / 64);
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (p == MAP_FAILED) throw Error(ExitCode::kIo, errno_message("mmap guest memory", errno));
  // RAM a booting Linux touches faults in 2 MiB at a time (its 256 MiB boot: 44 K host page
  // faults instead of 67 K), and a kvm guest gets fewer TLB misses. Advice only: where
  // transparent huge pages are off, memory stays in 4 KiB pages.
  madvise(p, size, MADV_HUGEPAGE);
  host_ = static_cast<uint8_t*>(p);
}

GuestMemory::~GuestMemory() {
  munmap(host_, size_);
}

std::string GuestMemory::out_of_range(uint64_t gpa, uint64_t length) const {
  char buf[160];
  std::snprintf(buf, sizeof buf,
                "guest-physical range 0x%llx+0x%llx is outside guest memory (0x%llx bytes)",
                (unsigned long long)gpa, (unsigned long long)length, (unsigned long long)size_);
  return buf;
}

void GuestMemory::mark_all_written() {
  std::fill(written_.begin(), written_.end(), ~0ull);
}

void GuestMemory::clear_written() {
  std::fill(written_.begin(), written_.end(), 0);
  if (clear_listener_) clear_listener_();
}

uint64_t GuestMemory::resident_bytes() const {
  std::vector<unsigned char> vec(size_ / kPageSize);
  if (mincore(host_, size_, vec.data()) != 0) return 0;
  uint64_t pages = 0;
  for (unsigned char v : vec)
    pages += v & 1;
  return pages * kPageSize;
}

uint64_t parse_size(const std::string& text, const char* what) {
  auto bad = [&] {
    return Error(ExitCode::kUsage, std::string("bad ") + what + " '" + text +
                                       "': expected a number with an optional K, M or G suffix");
  };
  // Decimal, or hexadecimal after "0x" (addresses); never octal ("010M" is 10 MiB), never signed
  // (stoull would wrap "-1" around).
  const bool hex = text.rfind("0x", 0) == 0 || text.rfind("0X", 0) == 0;
  const std::string digits = hex ? text.substr(2) : text;
  if (digits.empty() || !std::isxdigit(static_cast<unsigned char>(digits[0])) ||
      (!hex && !std::isdigit(static_cast<unsigned char>(digits[0]))))
    throw bad();
  size_t pos = 0;
  unsigned long long value;
  try {
    value = std::stoull(digits, &pos, hex ? 16 : 10);
  } catch (const std::exception&) {
    throw bad();
  }
  std::string suffix = digits.substr(pos);
  unsigned shift = 0;
  if (suffix == "K" || suffix == "k" || suffix == "KiB")
    shift = 10;
  else if (suffix == "M" || suffix == "m" || suffix == "MiB")
    shift = 20;
  else if (suffix == "G" || suffix == "g" || suffix == "GiB")
    shift = 30;
  else if (!suffix.empty())
    throw bad();
  if (value > (UINT64_MAX >> shift)) throw bad();
  return value << shift;
}

} // namespace rrvm
