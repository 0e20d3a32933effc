// The architectural state of one x86 vCPU, shared by both engines, the loaders, checkpoints and the
// debugger.
#pragma once

#include <array>
#include <cstdint>

namespace rrvm {

// General-purpose registers in x86 encoding order (the ModRM/REX register number).
enum Gpr : unsigned {
  kRax,
  kRcx,
  kRdx,
  kRbx,
  kRsp,
  kRbp,
  kRsi,
  kRdi,
  kR8,
  kR9,
  kR10,
  kR11,
  kR12,
  kR13,
  kR14,
  kR15,
};

struct Segment {
  uint64_t base = 0;
  uint32_t limit = 0xffff;
  uint16_t selector = 0;
  uint8_t type = 0; // descriptor type field (4 bits)
  uint8_t s = 1;    // 1 = code/data, 0 = system
  uint8_t dpl = 0;
  uint8_t present = 1;
  uint8_t avl = 0;
  uint8_t l = 0;  // 64-bit code segment
  uint8_t db = 0; // default operand size 32
  uint8_t g = 0;  // limit in 4 KiB units (already applied to `limit`)
  uint8_t unusable = 0;
};

struct DescriptorTable {
  uint64_t base = 0;
  uint16_t limit = 0xffff;
};

namespace cr0 {
constexpr uint64_t kPE = 1u << 0, kMP = 1u << 1, kEM = 1u << 2, kTS = 1u << 3, kET = 1u << 4,
                   kNE = 1u << 5, kWP = 1u << 16, kAM = 1u << 18, kNW = 1u << 29, kCD = 1u << 30,
                   kPG = 1u << 31;
}
namespace cr4 {
constexpr uint64_t kVME = 1u << 0, kPVI = 1u << 1, kTSD = 1u << 2, kDE = 1u << 3, kPSE = 1u << 4,
                   kPAE = 1u << 5, kMCE = 1u << 6, kPGE = 1u << 7, kOSFXSR = 1u << 9,
                   kOSXMMEXCPT = 1u << 10, kFSGSBASE = 1u << 16, kSMEP = 1u << 20, kSMAP = 1u << 21;
}
namespace efer {
constexpr uint64_t kSCE = 1u << 0, kLME = 1u << 8, kLMA = 1u << 10, kNXE = 1u << 11;
}
namespace rflags {
constexpr uint64_t kCF = 1u << 0, kFixed1 = 1u << 1, kPF = 1u << 2, kAF = 1u << 4, kZF = 1u << 6,
                   kSF = 1u << 7, kTF = 1u << 8, kIF = 1u << 9, kDF = 1u << 10, kOF = 1u << 11,
                   kIOPL = 3u << 12, kNT = 1u << 14, kRF = 1u << 16, kVM = 1u << 17, kAC = 1u << 18,
                   kVIF = 1u << 19, kVIP = 1u << 20, kID = 1u << 21;
}

// MSRs whose values are part of the architectural state the engines must carry.
struct MsrState {
  uint64_t star = 0, lstar = 0, cstar = 0, sfmask = 0, kernel_gs_base = 0;
  uint64_t sysenter_cs = 0, sysenter_esp = 0, sysenter_eip = 0;
  uint64_t pat = 0x0007040600070406ull;
  uint64_t tsc_aux = 0;
};

// x87 and SSE state in the terms of the FXSAVE image (and of KVM's kvm_fpu and gdb's i387/SSE
// registers), so every consumer converts from one form.
struct FpuState {
  std::array<std::array<uint8_t, 10>, 8> st{}; // ST(0)-ST(7), 80-bit, in stack order
  uint16_t fcw = 0x037f;                        // the value FNINIT leaves
  uint16_t fsw = 0;                             // TOP is bits 11-13
  uint8_t ftw = 0; // abridged tag: bit i set = physical register i is not empty
  uint16_t fop = 0;
  uint64_t fip = 0, fdp = 0; // last instruction and data pointers (offsets in long mode)
  uint16_t fcs = 0, fds = 0;
  alignas(16) std::array<std::array<uint8_t, 16>, 16> xmm{};
  uint32_t mxcsr = 0x1f80; // all exceptions masked, round to nearest
};

struct CpuState {
  std::array<uint64_t, 16> gpr{};
  uint64_t rip = 0xfff0;
  uint64_t rflags = rflags::kFixed1;
  Segment es, cs, ss, ds, fs, gs, ldtr, tr;
  DescriptorTable gdt, idt;
  uint64_t cr0 = cr0::kET, cr2 = 0, cr3 = 0, cr4 = 0, cr8 = 0;
  uint64_t efer = 0;
  std::array<uint64_t, 4> dr{};
  uint64_t dr6 = 0xffff0ff0, dr7 = 0x400;
  MsrState msr;
  FpuState fpu;
  bool interrupt_shadow = false;  // STI / MOV SS blocking for one instruction
  int16_t pending_interrupt = -1; // vector injected but not yet delivered, or -1
  bool halted = false;

  // The mode the CPU fetches instructions in.
  bool protected_mode() const { return cr0 & cr0::kPE; }
  bool long_mode_active() const { return efer & efer::kLMA; }
  bool paging() const { return cr0 & cr0::kPG; }
  // Code size in bits: 16, 32 or 64.
  unsigned code_bits() const {
    if (!protected_mode() || (rflags & rflags::kVM)) return 16;
    if (long_mode_active() && cs.l) return 64;
    return cs.db ? 32 : 16;
  }
  // A short human name for the mode: "real", "protected16", "protected32", "long64", "compat32"…
  const char* mode_name() const;
};

} // namespace rrvm
