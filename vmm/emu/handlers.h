// Each instruction family picks the handler for a decoded instruction (nullptr: not mine).
// Selectors may also set Insn::ends_block for instructions after which the run loop must look at
// the machine state again (mode, IF, control flow).
#pragma once

#include <Zydis/Zydis.h>

#include "vmm/emu/insn.h"

namespace rrvm::emu {

Handler select_alu(const ZydisDecodedInstruction& zi, Insn& in);
Handler select_data(const ZydisDecodedInstruction& zi, Insn& in);
Handler select_string(const ZydisDecodedInstruction& zi, Insn& in);
Handler select_control(const ZydisDecodedInstruction& zi, Insn& in);
Handler select_system(const ZydisDecodedInstruction& zi, Insn& in);
Handler select_x87(const ZydisDecodedInstruction& zi, Insn& in);
// SSE/MMX/FXSAVE operands are not all expressible as Operands; these selectors see Zydis's and
// convert the ones they keep (memory, GPRs) with `convert`. They run before the others.
using ConvertOperand = bool (*)(const ZydisDecodedOperand&, Operand&, Insn&);
Handler select_simd(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops, Insn& in,
                    ConvertOperand convert);
Handler select_sse_fast(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops, Insn& in,
                        ConvertOperand convert);
Handler select_fxsave(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops, Insn& in,
                      ConvertOperand convert);

// The instantiation of handler template F for an operand size in bytes (nullptr if none).
#define RRVM_EMU_BY_SIZE(F, size)                                                                  \
  [&]() -> Handler {                                                                               \
    switch (size) {                                                                                \
    case 1:                                                                                        \
      return F<uint8_t>;                                                                           \
    case 2:                                                                                        \
      return F<uint16_t>;                                                                          \
    case 4:                                                                                        \
      return F<uint32_t>;                                                                          \
    case 8:                                                                                        \
      return F<uint64_t>;                                                                          \
    }                                                                                              \
    return nullptr;                                                                                \
  }()

// Raises #UD (invalid encodings, and instructions that are invalid in the current mode).
void invalid_opcode(Cpu& c, const Insn& in);
// Stops the run with kUnsupported naming the instruction.
void not_implemented(Cpu& c, const Insn& in);

} // namespace rrvm::emu
