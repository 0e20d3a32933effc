// Segment selectors and descriptors as the GDT, LDT and IDT hold them: the type field of code,
// data and system descriptors, and the fields of call, interrupt, trap and task gates.
#pragma once

#include <cstdint>

namespace rrvm::x86 {

namespace selector {
constexpr uint16_t kRplMask = 3;
constexpr uint16_t kTableLocal = 4;     // TI: the LDT rather than the GDT
constexpr uint16_t kIndexMask = 0xfff8; // the byte offset of the descriptor in its table
// The error code a selector contributes to #GP/#NP/#SS/#TS: index and TI, without the RPL.
constexpr uint32_t error_code(uint16_t sel) {
  return sel & 0xfffc;
}
constexpr bool is_null(uint16_t sel) {
  return (sel & 0xfffc) == 0;
}
} // namespace selector

// The type field of a code or data descriptor (S=1).
namespace segment_type {
constexpr uint8_t kAccessed = 1;
constexpr uint8_t kWritable = 2;   // data
constexpr uint8_t kReadable = 2;   // code
constexpr uint8_t kExpandDown = 4; // data
constexpr uint8_t kConforming = 4; // code
constexpr uint8_t kCode = 8;
} // namespace segment_type

// The type field of a system descriptor (S=0). In long mode the 32-bit TSS, call-gate,
// interrupt-gate and trap-gate types name their 64-bit forms and the 16-bit ones are invalid.
namespace system_type {
constexpr uint8_t kTss16Available = 0x1, kLdt = 0x2, kTss16Busy = 0x3, kCallGate16 = 0x4,
                  kTaskGate = 0x5, kInterruptGate16 = 0x6, kTrapGate16 = 0x7, kTssAvailable = 0x9,
                  kTssBusy = 0xb, kCallGate = 0xc, kInterruptGate = 0xe, kTrapGate = 0xf;
constexpr uint8_t kTssBusyBit = 0x2; // available -> busy
constexpr bool is_tss32(uint8_t type) {
  return type == kTssAvailable || type == kTssBusy;
}
constexpr bool is_tss16(uint8_t type) {
  return type == kTss16Available || type == kTss16Busy;
}
} // namespace system_type

// Bit positions of an 8-byte descriptor.
namespace descriptor {
constexpr unsigned kTypeShift = 40; // type (4 bits), then S, DPL (2), P
constexpr unsigned kAccessByte = 5; // byte holding type, S, DPL and P
constexpr uint64_t kAccessedBit = 1ull << 40;
constexpr uint64_t kTssBusyBit = 1ull << 41;
} // namespace descriptor

// An IDT (or call) gate decoded from its 8 bytes (`lo`) and, in long mode, the next 8 (`hi`).
struct Gate {
  uint16_t selector;
  uint64_t offset;
  uint8_t type; // system_type
  uint8_t dpl;
  bool present;
  uint8_t ist; // long mode only: the interrupt stack table slot, 0 for none

  static constexpr Gate decode(uint64_t lo, uint64_t hi) {
    return Gate{uint16_t(lo >> 16),        (lo & 0xffff) | ((lo >> 48) & 0xffff) << 16 | hi << 32,
                uint8_t((lo >> 40) & 0xf), uint8_t((lo >> 45) & 3),
                bool((lo >> 47) & 1),      uint8_t((lo >> 32) & 7)};
  }
  constexpr bool is_trap() const { return type & 1; } // trap gates leave IF alone
  constexpr bool is_16bit() const {
    return type == system_type::kInterruptGate16 || type == system_type::kTrapGate16;
  }
  constexpr bool is_32or64bit() const {
    return type == system_type::kInterruptGate || type == system_type::kTrapGate;
  }
};

} // namespace rrvm::x86
