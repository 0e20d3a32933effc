// Which of the interpreter's handlers translated code may run without it, or call without the
// exception trampoline. Handlers are recognised by identity: the translator decodes reference
// instructions with the CodeCache's own decoder and notes the handlers they get, so an inlined
// instruction is one the interpreter would run with exactly that handler.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <unordered_set>

#include "vmm/emu/code_cache.h"

namespace rrvm::emu {

// The two-operand ALU operations emitted inline (alu.cc's alu2 on a register destination).
enum class InlineAlu : uint8_t { kAdd, kOr, kAdc, kSbb, kAnd, kSub, kXor, kCmp, kTest, kMov };
// ADC and SBB read CF as well as write it.
constexpr bool takes_carry(InlineAlu op) {
  return op == InlineAlu::kAdc || op == InlineAlu::kSbb;
}

// The shifts and rotates emitted inline by an immediate count (alu.cc's shift).
enum class InlineShift : uint8_t { kRol, kRor, kShl, kShr, kSar };

struct InsnPlan {
  enum class Kind : uint8_t {
    kTrampoline, // may throw: called through the catching trampoline
    kDirect,     // cannot throw in this form: called directly
    kAlu,        // emitted inline: `alu`, on 32- or 64-bit registers or an immediate
    kLea,        // emitted inline
    kIncDec,     // INC/DEC on a 32- or 64-bit register, emitted inline
    kJcc,        // Jcc: inline where the flags come from an inline instruction of the block
    kLoad,       // MOV r32/r64, [mem]: the TLB's fast path inline, the handler behind it
    kAluLoad,    // `alu` r32/r64, [mem] (not MOV, TEST): as kLoad, then as kAlu
    kStore,      // MOV [mem], r/imm, 1 to 8 bytes: write_as's fast path inline, the handler behind
    kPush,       // PUSH r/imm of 4 or 8 bytes: as kStore on the stack
    kPop,        // POP r of 4 or 8 bytes: as kLoad from the stack
    kCall,       // CALL rel of 4 or 8 bytes: as kPush, ends the block
    kRet,        // RET without an immediate, 4 or 8 bytes: as kPop, ends the block
    kLoadExtend, // MOVZX/MOVSX/MOVSXD r32/r64, [mem]: as kLoad
    kAluMem,     // `alu` [mem], r/imm of 4 or 8 bytes (not MOV): read, and written as kStore
    kNeg,        // NEG r, emitted inline
    kNot,        // NOT r, emitted inline
    kExtend,     // MOVZX/MOVSX/MOVSXD r, r, emitted inline (`sign`)
    kSetcc,      // SETcc r8, emitted inline (the condition is Insn::cc)
    kCmovcc,     // CMOVcc r, r, emitted inline
    kShift,      // `shift` r, imm (or 1) with a count within the width, emitted inline
    kImul,       // IMUL r, r and IMUL r, r, imm, emitted inline
    kNop,        // NOP of any length (a kernel function's ftrace pad), PAUSE, fences: no code
    kJmp,        // JMP rel: inline, as a taken Jcc
  };
  Kind kind = Kind::kTrampoline;
  InlineAlu alu = InlineAlu::kAdd;
  bool dec = false;  // kIncDec
  uint8_t cc = 0;    // kJcc: the condition code (0x70 + cc)
  bool sign = false; // kExtend: MOVSX/MOVSXD
  InlineShift shift = InlineShift::kShl;
  bool sign_extend = false; // kLoadExtend: MOVSX or MOVSXD
};

// What an instruction planned to be emitted inline does to the arithmetic flags: all of them
// written without reading any, none touched, some written and the rest kept (INC/DEC keep CF,
// ROL/ROR all but CF and OF; what they read is only what they keep, so the flags before them are
// seen exactly when the flags after them are), or anything else (read, or a call or exit where
// they are seen).
enum class FlagUse : uint8_t { kOverwrites, kUntouched, kMerges, kSeen };
FlagUse flag_use(const Insn& in, const InsnPlan& p);

class HandlerForms {
public:
  explicit HandlerForms(CodeCache& cache);
  InsnPlan plan(const Insn& in) const;

private:
  std::unordered_map<Handler, InlineAlu> alu_;   // register-destination forms
  std::unordered_map<Handler, bool> inc_dec_;    // INC (false) and DEC (true)
  std::unordered_map<Handler, uint8_t> jcc_;     // condition codes
  std::unordered_set<Handler> jmp_rel_;          // JMP rel8, rel16/32
  std::unordered_set<Handler> loads_;            // MOV r32/r64, [mem]
  std::unordered_set<Handler> no_throw_on_regs_; // no exception when no operand is in memory
  Handler lea_ = nullptr;
  Handler nop_ = nullptr; // does nothing, whatever its operands: it never touches memory

  // The memory and stack forms.
  std::unordered_map<Handler, InlineAlu> alu_loads_; // `alu` r32/r64, [mem]
  std::unordered_map<Handler, InlineAlu> alu_mems_;  // `alu` [mem], r32/r64/imm
  std::unordered_set<Handler> stores_;               // MOV [mem], r/imm
  std::unordered_set<Handler> pushes_, pops_;        // of a register or (PUSH) an immediate
  Handler call_rel_ = nullptr, ret_ = nullptr;
  Handler movzx_ = nullptr, movsx_ = nullptr;
  std::unordered_map<Handler, InsnPlan::Kind> unary_; // NEG, NOT, SETcc, CMOVcc of every size
  std::unordered_map<Handler, bool> extend_;          // MOVZX (false), MOVSX and MOVSXD (true)
  std::unordered_map<Handler, InlineShift> shifts_;   // every size
  std::unordered_set<Handler> imul_;                  // IMUL r, r/m (, imm) of every size
};

} // namespace rrvm::emu
