// The code generator behind emit_block(): one Emitter writes one block. Its members are defined
// by instruction family (emitter.cc: the frame, calls and chaining; emit_alu.cc, emit_memory.cc,
// emit_stack.cc, emit_branch.cc: the inline forms), so each family keeps to its own file.
#pragma once

#include <xbyak/xbyak.h>

#include <cstdint>
#include <deque>
#include <exception>
#include <list>
#include <optional>

#include "vmm/emu/cpu.h"
#include "vmm/emu/jit/block_emitter.h"

namespace rrvm::emu {

// Registers while a block runs (all callee-saved, so handler calls keep them): rbx the Cpu, r12
// the exception slot, r13 the trampoline, r14 the RIP the block was entered at.
class Emitter : public Xbyak::CodeGenerator {
public:
  Emitter(uint8_t* at, size_t room, const EmitContext& ctx);
  void block(const Block& b);

private:
  // A memory access whose fast path missed: the handler runs the whole instruction with the state
  // the interpreter has there.
  struct SlowAccess {
    const Insn* in;
    int32_t offset, pending;
    Xbyak::Label entry, resume;
  };

  Xbyak::Address gpr64(unsigned r) { return qword[rbx + l_.gpr + int32_t(r) * 8]; }
  Xbyak::Address gpr32(unsigned r) { return dword[rbx + l_.gpr + int32_t(r) * 8]; }

  // emitter.cc
  void retire_inline(const Insn& in);
  void commit_inline();
  void chain(const Block& b, bool to_self);
  void exit_link();
  void call_direct(const Insn& in);
  void call_insn(const Insn& in, bool may_throw);
  // emit_alu.cc
  void emit_alu(const Insn& in, InlineAlu op);
  void emit_inc_dec(const Insn& in, bool dec);
  void emit_lea(const Insn& in);
  void emit_neg(const Insn& in);
  void emit_not(const Insn& in);
  void emit_extend(const Insn& in, bool sign);
  Xbyak::Address gpr_at(const Operand& o);
  void load_zx(const Xbyak::Reg64& to, const Operand& o);
  void store_reg(const Operand& o, const Xbyak::Reg64& from);
  void set_lazy(FlagOp op, unsigned size);
  bool flags_dead_after(const Block& b, const Insn& in) const;
  void emit_shift(const Insn& in, InlineShift op, bool flags_dead);
  void emit_imul(const Insn& in, bool flags_dead);
  void commit_flags();
  void host_szp_to(const Xbyak::Reg64& to, unsigned size);
  void flags_to_raw(const Xbyak::Reg64& bits);
  // emit_memory.cc
  SlowAccess& slow_access(const Insn& in);
  void emit_offset(const Operand& m, const Insn& in);
  void emit_linear(unsigned seg, unsigned asize, Xbyak::Label& miss);
  void emit_tlb_hit(unsigned size, bool write, Xbyak::Label& miss);
  void emit_code_page_check(Xbyak::Label& fail);
  void emit_load(const Insn& in);
  void emit_load_extend(const Insn& in, bool sign);
  void emit_alu_load(const Insn& in, InlineAlu op);
  void emit_alu_mem(const Insn& in, InlineAlu op);
  void emit_store(const Insn& in);
  void emit_slow_access(SlowAccess& s);
  // emit_stack.cc
  void emit_stack_address(unsigned size, bool push, Xbyak::Label& miss);
  void emit_push(const Insn& in);
  void emit_pop(const Insn& in);
  void emit_call(const Insn& in);
  void emit_ret(const Insn& in);
  void retire_branch();
  // emit_branch.cc
  void loop_to_self(const Block& b);
  void emit_jcc(const Insn& in, uint8_t cc);
  void host_flags();
  void jump_if(uint8_t cc, const Xbyak::Label& to);
  uint8_t host_condition(uint8_t cc);
  void emit_setcc(const Insn& in);
  void emit_cmovcc(const Insn& in);

  const CpuLayout& l_;
  const HandlerForms& forms_;
  std::exception_ptr* raised_;
  NextTranslation next_;
  void* next_arg_;
  const bool* chaining_;
  std::deque<ExitLink>* links_;
  const uint64_t* generation_;
  Xbyak::Label top_, done_, out_;
  int32_t offset_ = 0;  // bytes of the block retired so far
  int32_t pending_ = 0; // inline instructions retired but not yet counted in the Cpu
  // The lazy-flags operation the block's last flag-writing instruction left, when that was
  // inline code (so known here), and its width.
  std::optional<FlagOp> known_op_;
  unsigned known_bits_ = 0;
  std::list<SlowAccess> slow_accesses_; // a list: labels must not move
};

} // namespace rrvm::emu
