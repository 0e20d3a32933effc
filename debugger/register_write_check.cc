#include "debugger/register_write_check.h"

#include "vmm/emu/simd.h"
#include "vmm/hex_text.h"

namespace rrvm::gdb {

namespace {

// The RFLAGS bits the architecture defines; the others are reserved (bit 1 always reads 1).
constexpr uint64_t kDefinedRflags =
    rflags::kCF | rflags::kFixed1 | rflags::kPF | rflags::kAF | rflags::kZF | rflags::kSF |
    rflags::kTF | rflags::kIF | rflags::kDF | rflags::kOF | rflags::kIOPL | rflags::kNT |
    rflags::kRF | rflags::kVM | rflags::kAC | rflags::kVIF | rflags::kVIP | rflags::kID;
// CR0: PE MP EM TS ET NE (bits 0-5), WP (16), AM (18), NW CD PG (29-31).
constexpr uint64_t kDefinedCr0 = 0x3f | cr0::kWP | cr0::kAM | cr0::kNW | cr0::kCD | cr0::kPG;
// CR4: bits 0-14 and 16-24 (VME ... PKS); 15 and 25-63 are reserved.
constexpr uint64_t kDefinedCr4 = 0x1ff7fff;
constexpr uint64_t kCr4La57 = 1u << 12;
// EFER: SCE, LME, LMA, NXE, SVME, LMSLE, FFXSR, TCE.
constexpr uint64_t kDefinedEfer = efer::kSCE | 0xfu << 8 | 0xfu << 12;
constexpr uint64_t kCr3Reserved = 0xfffull << 52; // above the widest physical address
constexpr uint64_t kCr8Defined = 0xf;             // the task-priority class

bool canonical(uint64_t address) {
  return uint64_t(int64_t(address << 16) >> 16) == address;
}

// An address register (rip, a segment base): canonical where it is 64 bits wide, else 32 bits.
std::optional<std::string> address_problem(bool wide, uint64_t address) {
  if (wide) {
    if (!canonical(address)) return "non-canonical address " + hex_text(address);
  } else if (address > UINT32_MAX) {
    return "address " + hex_text(address) + " beyond 32 bits";
  }
  return std::nullopt;
}

// A selector gdb wrote into segment register `name`. Only the selector changes (the descriptor
// cache keeps what the guest loaded), but the selector must still name a descriptor.
std::optional<std::string> selector_problem(const CpuState& cpu, const char* name,
                                            uint16_t selector) {
  if (!cpu.protected_mode() || (cpu.rflags & rflags::kVM)) return std::nullopt; // any paragraph
  const bool code = name[0] == 'c', stack = name[0] == 's';
  const unsigned cpl = cpu.cs.selector & 3;
  const std::string what = "selector " + hex_text(selector);
  if ((selector & ~3u) == 0) {
    if (code || (stack && !(cpu.long_mode_active() && cpu.cs.l)))
      return "a null " + what + " in " + name;
    return std::nullopt;
  }
  const bool local = selector & 4;
  if (local && cpu.ldtr.unusable) return what + " points into an LDT the guest has not loaded";
  const uint32_t limit = local ? cpu.ldtr.limit : cpu.gdt.limit;
  if ((selector | 7u) > limit) return what + " lies beyond the descriptor table's limit";
  if ((code || stack) && (selector & 3) != cpl)
    return what + " has RPL " + std::to_string(selector & 3) + " at CPL " + std::to_string(cpl);
  return std::nullopt;
}

std::optional<std::string> control_problem(const CpuState& before, const CpuState& after) {
  if (after.cr0 & ~kDefinedCr0) return "cr0: reserved bits " + hex_text(after.cr0 & ~kDefinedCr0);
  if ((after.cr0 & cr0::kNW) && !(after.cr0 & cr0::kCD)) return "cr0: NW set without CD";
  if ((after.cr0 ^ before.cr0) & (cr0::kPE | cr0::kPG))
    return "cr0: gdb cannot switch protection or paging on or off";
  if (after.cr4 & ~kDefinedCr4) return "cr4: reserved bits " + hex_text(after.cr4 & ~kDefinedCr4);
  if ((after.cr4 ^ before.cr4) & (cr4::kPAE | kCr4La57))
    return "cr4: gdb cannot change the paging mode (PAE, LA57)";
  if (after.efer & ~kDefinedEfer)
    return "efer: reserved bits " + hex_text(after.efer & ~kDefinedEfer);
  if ((after.efer ^ before.efer) & (efer::kLME | efer::kLMA))
    return "efer: gdb cannot switch long mode on or off";
  if (after.cr3 & kCr3Reserved) return "cr3: reserved bits " + hex_text(after.cr3 & kCr3Reserved);
  if (after.cr8 & ~kCr8Defined) return "cr8: reserved bits " + hex_text(after.cr8 & ~kCr8Defined);
  return std::nullopt;
}

} // namespace

std::optional<std::string> register_write_problem(const CpuState& before, const CpuState& after) {
  if (after.rflags & ~kDefinedRflags)
    return "eflags: reserved bits " + hex_text(after.rflags & ~kDefinedRflags);
  if ((after.rflags ^ before.rflags) & rflags::kVM)
    return "eflags: gdb cannot switch virtual-8086 mode (the VM flag) on or off";
  if (auto problem = control_problem(before, after)) return problem;
  // LDMXCSR raises #GP for these; the engines compute under MXCSR and must never hold them.
  if (after.fpu.mxcsr & ~emu::mxcsr::kWritable)
    return "mxcsr: reserved bits " + hex_text(after.fpu.mxcsr & ~emu::mxcsr::kWritable);
  if (after.rip != before.rip)
    if (auto problem = address_problem(after.code_bits() == 64, after.rip))
      return "rip: " + *problem;
  if (after.fs.base != before.fs.base)
    if (auto problem = address_problem(after.long_mode_active(), after.fs.base))
      return "fs_base: " + *problem;
  if (after.gs.base != before.gs.base)
    if (auto problem = address_problem(after.long_mode_active(), after.gs.base))
      return "gs_base: " + *problem;
  const std::pair<const char*, const Segment CpuState::*> segments[] = {
      {"cs", &CpuState::cs}, {"ss", &CpuState::ss}, {"ds", &CpuState::ds},
      {"es", &CpuState::es}, {"fs", &CpuState::fs}, {"gs", &CpuState::gs}};
  for (const auto& [name, segment] : segments) {
    const uint16_t selector = (after.*segment).selector;
    if (selector == (before.*segment).selector) continue;
    if (auto problem = selector_problem(before, name, selector))
      return std::string(name) + ": " + *problem;
  }
  return std::nullopt;
}

} // namespace rrvm::gdb
