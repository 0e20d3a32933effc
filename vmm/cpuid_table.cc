#include "vmm/cpuid_table.h"

namespace rrvm {

CpuidEntry CpuidTable::lookup(uint32_t function, uint32_t index) const {
  uint32_t max_basic = 0, max_extended = 0x80000000;
  for (const auto& e : entries_) {
    if (e.function == 0) max_basic = e.eax;
    if (e.function == 0x80000000) max_extended = e.eax;
  }
  bool extended = function >= 0x80000000;
  if ((!extended && function > max_basic) || (extended && function > max_extended))
    function = max_basic;
  for (const auto& e : entries_) {
    if (e.function == function && (!e.indexed || e.index == index)) return e;
  }
  return CpuidEntry{function, index, false, 0, 0, 0, 0};
}

namespace {
constexpr uint32_t fourcc(const char* s) {
  return uint32_t(uint8_t(s[0])) | uint32_t(uint8_t(s[1])) << 8 | uint32_t(uint8_t(s[2])) << 16 |
         uint32_t(uint8_t(s[3])) << 24;
}
} // namespace

CpuidTable CpuidTable::emulated(ClockMode clock) {
  // Leaf 1 EDX: FPU, VME off, DE, PSE, TSC, MSR, PAE, MCE off, CX8, APIC off, SEP, MTRR off, PGE,
  // CMOV, PAT, PSE36 off, CLFSH, MMX, FXSR, SSE, SSE2.
  constexpr uint32_t leaf1_edx = (1u << 0) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) |
                                 (1u << 6) | (1u << 8) | (1u << 11) | (1u << 13) | (1u << 15) |
                                 (1u << 16) | (1u << 19) | (1u << 23) | (1u << 24) | (1u << 25) |
                                 (1u << 26);
  // Leaf 1 ECX: SSE3, SSSE3, CX16, SSE4.1, SSE4.2, POPCNT, hypervisor: the x86-64-v2 level.
  // PCLMULQDQ, MONITOR, FMA, MOVBE, AES, XSAVE/OSXSAVE, AVX and F16C stay hidden and their
  // instructions raise #UD.
  constexpr uint32_t leaf1_ecx =
      (1u << 0) | (1u << 9) | (1u << 13) | (1u << 19) | (1u << 20) | (1u << 23) | (1u << 31);
  constexpr uint32_t ext1_edx = (1u << 11) | (1u << 20) | (1u << 29); // SYSCALL, NX, LM
  constexpr uint32_t ext1_ecx = (1u << 0);                            // LAHF/SAHF in 64-bit
  std::vector<CpuidEntry> entries = {
      {0, 0, false, 0xd, fourcc("Genu"), fourcc("ntel"), fourcc("ineI")},
      {1, 0, false, 0x000306a9, 0x00000800, leaf1_ecx, leaf1_edx}, // family 6 model 58
      {7, 0, true, 0, 0, 0, 1u << 29}, // IA32_ARCH_CAPABILITIES (msr_model.cc)
      {0xd, 0, true, 0, 0, 0, 0},
      {0x80000000, 0, false, 0x80000008, 0, 0, 0},
      {0x80000001, 0, false, 0, 0, ext1_ecx, ext1_edx},
      {0x80000002, 0, false, fourcc("rrvm"), fourcc(" emu"), fourcc("late"), fourcc("d x8")},
      {0x80000003, 0, false, fourcc("6-64"), fourcc(" CPU"), 0, 0},
      {0x80000004, 0, false, 0, 0, 0, 0},
      {0x80000008, 0, false, 0x00003027, 0, 0, 0}, // 39-bit physical, 48-bit virtual
  };
  if (clock != ClockMode::kHost) {
    // Leaf 0x15: TSC = crystal (ECX Hz) × EBX / EAX; leaf 0x16: base and maximum MHz, bus MHz.
    constexpr uint32_t tsc_mhz = kGuestTscHz / 1'000'000;
    entries[0].eax = 0x16;
    entries.push_back({0x15, 0, false, 1, 1, uint32_t(kGuestTscHz), 0});
    entries.push_back({0x16, 0, false, tsc_mhz, tsc_mhz, 100, 0});
    entries.push_back({0x80000007, 0, false, 0, 0, 0, 1u << 8}); // invariant TSC
  }
  return CpuidTable(std::move(entries));
}

} // namespace rrvm
