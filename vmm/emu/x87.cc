// x87 instructions. Data instructions (loads, stores, arithmetic, compares, transcendental,
// stack and tag manipulation) run on the host FPU (x87_host.h); the control instructions that
// move the environment between the FPU and memory or initialise it are done here.
//
// Exceptions: #NM when CR0.EM or CR0.TS is set (WAIT/FWAIT: CR0.TS with CR0.MP). A waiting
// instruction with an unmasked exception pending (FSW.ES) raises #MF when CR0.NE is set. With
// CR0.NE clear a PC routes the error through FERR# to IRQ13 and the chipset's IGNNE#; emu models
// IGNNE# asserted: the pending exception is ignored and the instruction executes.
//
// Pointers, as this host's Intel CPUs keep them (CPUID.7.EBX FDP_EXCPTN_ONLY and the deprecated
// FCS/FDS): every non-control instruction records its address in FIP (FCS 0); FOP and FDP (FDS 0)
// change only when the instruction raises an unmasked exception, FDP only for a memory operand.
// In real and virtual-8086 mode the pointers are linear addresses.
#include <cstring>

#include <Zydis/Zydis.h>

#include "vmm/emu/cpu.h"
#include "vmm/emu/handlers.h"
#include "vmm/emu/x87_env.h"
#include "vmm/emu/x87_host.h"
#include "vmm/emu/x87_state.h"

namespace rrvm::emu {

namespace {

using namespace x87;

// Insn::cc for data instructions: memory operand size in bytes, whether it is stored, whether
// the instruction writes RFLAGS (FCOMI family). Insn::extra holds the 11-bit FOP.
constexpr uint8_t kSizeMask = 0x0f, kStore = 0x10, kSetsFlags = 0x20;

constexpr uint16_t kFninitFcw = 0x037f;

bool real_addressing(const Cpu& c) {
  return !(c.cr0 & cr0::kPE) || (c.flags_raw & rflags::kVM);
}

void enter(Cpu& c, bool waiting) {
  if (c.cr0 & (cr0::kEM | cr0::kTS)) Cpu::fault(vec::kNM);
  if (waiting && (c.fpu.fsw & fsw::kSummary) && (c.cr0 & cr0::kNE)) Cpu::fault(vec::kMF);
}

void read_bytes(Cpu& c, uint64_t la, uint8_t* out, size_t n) {
  for (size_t i = 0; i < n;) {
    const unsigned chunk = n - i >= 8 ? 8 : n - i >= 4 ? 4 : 2;
    const uint64_t v = c.read_sized((la + i) & c.lin_mask, chunk);
    std::memcpy(out + i, &v, chunk);
    i += chunk;
  }
}

void write_bytes(Cpu& c, uint64_t la, const uint8_t* in, size_t n) {
  for (size_t i = 0; i < n;) {
    const unsigned chunk = n - i >= 8 ? 8 : n - i >= 4 ? 4 : 2;
    uint64_t v = 0;
    std::memcpy(&v, in + i, chunk);
    c.write_sized((la + i) & c.lin_mask, chunk, v);
    i += chunk;
  }
}

uint64_t operand_linear(Cpu& c, const Insn& in, size_t size, Cpu::Access a) {
  return c.linear(in.op[0].seg, c.offset(in.op[0], in), unsigned(size), a);
}

void op_data(Cpu& c, const Insn& in) {
  enter(c, true);
  const unsigned size = in.cc & kSizeMask;
  const bool store = in.cc & kStore;
  uint8_t operand[10] = {};
  uint64_t offset = 0, la = 0;
  if (size) {
    offset = c.offset(in.op[0], in);
    la = c.linear(in.op[0].seg, offset, size, store ? Cpu::Access::kWrite : Cpu::Access::kRead);
    if (!store) read_bytes(c, la, operand, size);
  }
  const uint8_t modrm = uint8_t(in.extra);
  const HostResult r =
      run_on_host(c.fpu, uint8_t(0xd8 | in.extra >> 8), modrm, operand, uint8_t(c.rflags()));
  // An unmasked exception other than precision suppresses the store.
  if (store && !(r.new_unmasked & ~fsw::kPrecision)) write_bytes(c, la, operand, size);

  FpuState& f = c.fpu;
  f.st = r.st;
  f.ftw = r.ftw;
  f.fsw = r.fsw;
  const bool real = real_addressing(c);
  f.fip = real ? c.linear(kCS, c.rip) : c.rip;
  f.fcs = 0;
  if (r.new_unmasked) {
    f.fop = uint16_t(in.extra);
    if (size) {
      f.fdp = real ? c.linear(in.op[0].seg, offset) : offset;
      f.fds = 0;
    }
  }
  if (in.cc & kSetsFlags)
    c.set_arith(kArithFlags, r.flags & (rflags::kZF | rflags::kPF | rflags::kCF));
}

// FISTTP is SSE3's: #UD unless CPUID advertises it.
void op_fisttp(Cpu& c, const Insn& in) {
  constexpr uint32_t kSse3 = 1u << 0; // CPUID.1:ECX
  if (!(c.cpuid.lookup(1, 0).ecx & kSse3)) Cpu::fault(vec::kUD);
  op_data(c, in);
}

void reset(FpuState& f) {
  f.fcw = kFninitFcw;
  set_status(f, 0);
  f.ftw = 0;
  f.fop = 0;
  f.fip = f.fdp = 0;
  f.fcs = f.fds = 0;
}

void op_fninit(Cpu& c, const Insn&) {
  enter(c, false);
  reset(c.fpu);
}

void op_fnclex(Cpu& c, const Insn&) {
  enter(c, false);
  c.fpu.fsw &= ~(fsw::kBusy | fsw::kSummary | fsw::kStackFault | fsw::kExceptions);
}

// FENI, FDISI and FSETPM of the 8087/287: later CPUs ignore them, as control instructions that
// neither wait nor record FIP.
void op_legacy_control(Cpu& c, const Insn&) {
  enter(c, false);
}

void op_fwait(Cpu& c, const Insn&) {
  if ((c.cr0 & (cr0::kTS | cr0::kMP)) == (cr0::kTS | cr0::kMP)) Cpu::fault(vec::kNM);
  if ((c.fpu.fsw & fsw::kSummary) && (c.cr0 & cr0::kNE)) Cpu::fault(vec::kMF);
}

void op_fldcw(Cpu& c, const Insn& in) {
  enter(c, true);
  const uint16_t v = c.read<uint16_t>(operand_linear(c, in, 2, Cpu::Access::kRead));
  c.fpu.fcw = canonical_fcw(v);
  c.fpu.fsw = with_summary(c.fpu.fsw, c.fpu.fcw);
}

void op_fnstcw(Cpu& c, const Insn& in) {
  enter(c, false);
  c.write<uint16_t>(operand_linear(c, in, 2, Cpu::Access::kWrite), c.fpu.fcw);
}

void op_fnstsw(Cpu& c, const Insn& in) {
  enter(c, false);
  if (in.op[0].kind == OpKind::kMem)
    c.write<uint16_t>(operand_linear(c, in, 2, Cpu::Access::kWrite), c.fpu.fsw);
  else
    c.set_reg<uint16_t>(kRax, c.fpu.fsw);
}

EnvLayout layout(const Cpu& c, const Insn& in) {
  return EnvLayout{in.osize != 2, real_addressing(c)};
}

void op_fnstenv(Cpu& c, const Insn& in) {
  enter(c, false);
  const EnvLayout l = layout(c, in);
  uint8_t image[28];
  store_env(c.fpu, l, image);
  write_bytes(c, operand_linear(c, in, l.env_size(), Cpu::Access::kWrite), image, l.env_size());
  c.fpu.fcw |= fsw::kExceptions; // FNSTENV then masks every exception
  c.fpu.fsw = with_summary(c.fpu.fsw, c.fpu.fcw);
}

void op_fldenv(Cpu& c, const Insn& in) {
  enter(c, true);
  const EnvLayout l = layout(c, in);
  uint8_t image[28];
  read_bytes(c, operand_linear(c, in, l.env_size(), Cpu::Access::kRead), image, l.env_size());
  load_env(c.fpu, l, image);
}

void op_fnsave(Cpu& c, const Insn& in) {
  enter(c, false);
  const EnvLayout l = layout(c, in);
  uint8_t image[108];
  store_env(c.fpu, l, image);
  for (unsigned i = 0; i < 8; ++i)
    std::memcpy(image + l.env_size() + 10 * i, c.fpu.st[i].data(), 10);
  write_bytes(c, operand_linear(c, in, l.save_size(), Cpu::Access::kWrite), image, l.save_size());
  reset(c.fpu);
}

void op_frstor(Cpu& c, const Insn& in) {
  enter(c, true);
  const EnvLayout l = layout(c, in);
  uint8_t image[108];
  read_bytes(c, operand_linear(c, in, l.save_size(), Cpu::Access::kRead), image, l.save_size());
  load_env(c.fpu, l, image);
  for (unsigned i = 0; i < 8; ++i)
    std::memcpy(c.fpu.st[i].data(), image + l.env_size() + 10 * i, 10);
}

// The memory operand of a data instruction: size in bytes, and whether it is stored.
struct MemoryForm {
  uint8_t size;
  bool store;
};
MemoryForm memory_form(uint8_t opcode, unsigned reg) {
  switch (opcode) {
  case 0xd8:
  case 0xda:
    return {4, false};
  case 0xdc:
    return {8, false};
  case 0xde:
    return {2, false};
  case 0xd9: // FLD, FST, FSTP m32real
    return {4, reg != 0};
  case 0xdb: // FILD, FISTTP, FIST, FISTP m32int; FLD, FSTP m80real
    return reg >= 5 ? MemoryForm{10, reg == 7} : MemoryForm{4, reg != 0};
  case 0xdd: // FLD, FISTTP, FST, FSTP m64
    return {8, reg != 0};
  default: // DF: FILD, FISTTP, FIST, FISTP m16int; FBLD, FILD m64int, FBSTP, FISTP m64int
    if (reg == 4 || reg == 6) return {10, reg == 6};
    if (reg == 5 || reg == 7) return {8, reg == 7};
    return {2, reg != 0};
  }
}

} // namespace

Handler select_x87(const ZydisDecodedInstruction& zi, Insn& in) {
  if (zi.mnemonic == ZYDIS_MNEMONIC_FWAIT) return op_fwait;
  if (zi.opcode_map != ZYDIS_OPCODE_MAP_DEFAULT || zi.opcode < 0xd8 || zi.opcode > 0xdf)
    return nullptr;
  const uint8_t modrm = uint8_t(zi.raw.modrm.mod << 6 | zi.raw.modrm.reg << 3 | zi.raw.modrm.rm);
  in.extra = uint64_t(zi.opcode & 7) << 8 | modrm;
  for (unsigned i = 1; i < 3; ++i)
    if (in.op[i].kind == OpKind::kMem) in.op[0] = in.op[i];
  switch (zi.mnemonic) {
  case ZYDIS_MNEMONIC_FNINIT:
    return op_fninit;
  case ZYDIS_MNEMONIC_FNCLEX:
    return op_fnclex;
  case ZYDIS_MNEMONIC_FENI8087_NOP:
  case ZYDIS_MNEMONIC_FDISI8087_NOP:
  case ZYDIS_MNEMONIC_FSETPM287_NOP:
    return op_legacy_control;
  case ZYDIS_MNEMONIC_FLDCW:
    return op_fldcw;
  case ZYDIS_MNEMONIC_FNSTCW:
    return op_fnstcw;
  case ZYDIS_MNEMONIC_FNSTSW:
    return op_fnstsw;
  case ZYDIS_MNEMONIC_FNSTENV:
    return op_fnstenv;
  case ZYDIS_MNEMONIC_FLDENV:
    return op_fldenv;
  case ZYDIS_MNEMONIC_FNSAVE:
    return op_fnsave;
  case ZYDIS_MNEMONIC_FRSTOR:
    return op_frstor;
  case ZYDIS_MNEMONIC_FCOMI:
  case ZYDIS_MNEMONIC_FCOMIP:
  case ZYDIS_MNEMONIC_FUCOMI:
  case ZYDIS_MNEMONIC_FUCOMIP:
    in.cc = kSetsFlags;
    return op_data;
  default:
    break;
  }
  if (zi.raw.modrm.mod != 3) {
    const MemoryForm m = memory_form(zi.opcode, zi.raw.modrm.reg);
    in.cc = uint8_t(m.size | (m.store ? kStore : 0));
  }
  return zi.mnemonic == ZYDIS_MNEMONIC_FISTTP ? op_fisttp : op_data;
}

} // namespace rrvm::emu
