// gdb's register numbering for the guest: the i386 or x86-64 core set (general registers,
// eflags, segment selectors, the x87 registers), the SSE set (xmm0-15, or xmm0-7 for i386, and
// mxcsr), the segment bases, and the control registers. The target description lists them in this
// order, so the 'g' packet and 'p'/'P' numbers follow it too.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vmm/cpu_state.h"

namespace rrvm::gdb {

enum class RegisterId : uint8_t {
  kGpr, // `index` says which
  kRip,
  kEflags,
  kEs,
  kCs,
  kSs,
  kDs,
  kFs,
  kGs,
  kSt, // ST(index), 80 bits
  kFctrl,
  kFstat,
  kFtag, // the full 16-bit tag word, derived from FXSAVE's abridged one
  kFiseg,
  kFioff,
  kFoseg,
  kFooff,
  kFop,
  kXmm, // XMM(index)
  kMxcsr,
  kFsBase,
  kGsBase,
  kCr0,
  kCr2,
  kCr3,
  kCr4,
  kCr8,
  kEfer,
};

struct RegisterInfo {
  std::string name;
  unsigned bits;
  const char* type;    // a target-description type
  const char* feature; // the target-description feature it belongs to
  const char* group;   // nullptr: gdb's default
  RegisterId id;
  unsigned index = 0; // which GPR, ST or XMM register
};

class RegisterMap {
public:
  explicit RegisterMap(bool x86_64);

  bool x86_64() const { return x86_64_; }
  const std::vector<RegisterInfo>& registers() const { return registers_; }
  // The program counter's register number (for stop replies' expedited registers).
  size_t pc_number() const;

  // Little-endian target bytes, as 'g' and 'p' send them; nullopt for an unknown number.
  std::optional<std::vector<uint8_t>> read(const CpuState& cpu, size_t number) const;
  std::vector<uint8_t> read_all(const CpuState& cpu) const;
  // False for an unknown number or a wrong size.
  bool write(CpuState& cpu, size_t number, std::span<const uint8_t> bytes) const;
  // Writes the registers `bytes` covers, in order (gdb may send fewer than all).
  bool write_all(CpuState& cpu, std::span<const uint8_t> bytes) const;

private:
  bool x86_64_;
  std::vector<RegisterInfo> registers_;
};

} // namespace rrvm::gdb
