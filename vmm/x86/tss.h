// Task-state segment layouts: where the CPU finds the inner-privilege stacks, the interrupt
// stack table and the I/O permission bitmap.
#pragma once

#include <cstdint>

namespace rrvm::x86 {

namespace tss16 {
constexpr uint32_t sp(unsigned cpl) { // SP0-SP2
  return 2 + 4 * cpl;
}
constexpr uint32_t ss(unsigned cpl) { // SS0-SS2
  return 4 + 4 * cpl;
}
} // namespace tss16

namespace tss32 {
constexpr uint32_t esp(unsigned cpl) { // ESP0-ESP2
  return 4 + 8 * cpl;
}
constexpr uint32_t ss(unsigned cpl) { // SS0-SS2
  return 8 + 8 * cpl;
}
constexpr uint32_t kIoMapBase = 0x66;
constexpr uint32_t kMinLimit = 0x67; // the smallest limit a 32-bit TSS may have
} // namespace tss32

namespace tss64 {
constexpr uint32_t rsp(unsigned cpl) { // RSP0-RSP2
  return 4 + 8 * cpl;
}
constexpr uint32_t ist(unsigned slot) { // IST1-IST7
  return 0x24 + 8 * (slot - 1);
}
constexpr uint32_t kIoMapBase = 0x66;
constexpr uint32_t kMinLimit = 0x67;
} // namespace tss64

} // namespace rrvm::x86
