// KVM structures that end in a flexible array. In C++ the kernel's __DECLARE_FLEX_ARRAY adds an
// empty struct, which moves the array and changes sizeof (and so the ioctl numbers), so rrvm
// declares the headers itself with the layout the kernel expects: two u32s, then the entries.
#pragma once

#include <cstdint>
#include <linux/kvm.h>
#include <vector>

namespace rrvm {

struct KvmArrayHeader {
  uint32_t count;
  uint32_t padding;
};
static_assert(sizeof(KvmArrayHeader) == 8);

constexpr unsigned long kKvmGetSupportedCpuid = _IOWR(KVMIO, 0x05, KvmArrayHeader);
constexpr unsigned long kKvmSetCpuid2 = _IOW(KVMIO, 0x90, KvmArrayHeader);
constexpr unsigned long kKvmGetMsrs = _IOWR(KVMIO, 0x88, KvmArrayHeader);
constexpr unsigned long kKvmSetMsrs = _IOW(KVMIO, 0x89, KvmArrayHeader);

// kvm_xsave ends in a flexible `extra` array too; the fixed part is the 4 KiB XSAVE area.
struct KvmXsave {
  uint32_t region[1024];
};
static_assert(sizeof(KvmXsave) == 4096);
constexpr unsigned long kKvmGetXsave = _IOR(KVMIO, 0xa4, KvmXsave);
constexpr unsigned long kKvmSetXsave = _IOW(KVMIO, 0xa5, KvmXsave);

// A header followed by `capacity` entries, laid out as the kernel reads it.
template <typename Entry> class KvmArray {
public:
  explicit KvmArray(uint32_t capacity)
      : words_((sizeof(KvmArrayHeader) + capacity * sizeof(Entry) + 7) / 8) {
    header()->count = capacity;
  }
  KvmArrayHeader* header() { return reinterpret_cast<KvmArrayHeader*>(words_.data()); }
  Entry* entries() { return reinterpret_cast<Entry*>(header() + 1); }
  void* get() { return words_.data(); }

private:
  std::vector<uint64_t> words_;
};

} // namespace rrvm
