// The code generator behind emit_block(): one Emitter writes one block. Its members are defined
// by instruction family (emitter.cc: the frame, calls and chaining; emit_alu.cc, emit_memory.cc,
// emit_stack.cc, emit_branch.cc: the inline forms), so each family keeps to its own file.
#pragma once

#include <xbyak/xbyak.h>

#include <array>
#include <cstdint>
#include <deque>
#include <exception>
#include <list>
#include <optional>
#include <vector>

#include "vmm/emu/cpu.h"
#include "vmm/emu/jit/block_emitter.h"

namespace rrvm::emu {

// `r` at an operand's width of `size` bytes.
inline Xbyak::Reg sized(const Xbyak::Reg64& r, unsigned size) {
  switch (size) {
  case 1:
    return r.cvt8();
  case 2:
    return r.cvt16();
  case 4:
    return r.cvt32();
  default:
    return r;
  }
}

// Registers while a block runs (all callee-saved, so handler calls keep them): rbx the Cpu, r14
// the RIP the block was entered at, r12, r13, r15 and rbp guest registers, written back to the Cpu
// where it may be read (emit_regs.cc).
class Emitter : public Xbyak::CodeGenerator {
public:
  static constexpr int kNoGuest = -1;
  // Callee-saved first; RSI and RDI, which calls and exit links take, only when those are full
  // (spill_call_clobbered(), exit_link()).
  static constexpr int kCacheRegs[] = {Xbyak::Operand::R12, Xbyak::Operand::R13,
                                       Xbyak::Operand::R15, Xbyak::Operand::RBP,
                                       Xbyak::Operand::RSI, Xbyak::Operand::RDI};
  // The guest register each of kCacheRegs holds, or kNoGuest.
  using CachedGprs = std::array<int, std::size(kCacheRegs)>;
  // Filled rather than listed, so that it stays whole when kCacheRegs grows.
  static constexpr CachedGprs kNothingCached = [] {
    CachedGprs none{};
    none.fill(kNoGuest);
    return none;
  }();

  Emitter(uint8_t* at, size_t room, const EmitContext& ctx);
  // `kept`: the guest registers a block that loops to itself keeps in host registers from one
  // iteration to the next (back_edge()).
  void block(const Block& b, const CachedGprs& kept);
  void lookup();
  // What the cache held where the block branches back to its top; nullopt: it does not.
  const std::optional<CachedGprs>& cached_at_back_edge() const { return at_back_edge_; }

private:
  static constexpr size_t kCalleeSavedSlots = 4;
  // Whether each of kCacheRegs holds a value the Cpu's copy does not have yet.
  using DirtyGprs = std::array<bool, std::size(kCacheRegs)>;

  // A memory access whose fast path missed: the handler runs the whole instruction with the state
  // the interpreter has there.
  struct SlowAccess {
    const Insn* in;
    int32_t offset, pending;
    Xbyak::Label entry, resume;
    CachedGprs cached_at_entry;   // the cache where the fast path jumps to `entry`
    DirtyGprs dirty_at_entry;     // what the stub writes back
    CachedGprs cached_at_resume;  // what the fast path's code after `resume` relies on
    bool next_rip_in_rax = false; // a branch's: the fast path resumes with its target in rax
  };

  Xbyak::Address gpr64(unsigned r) { return qword[rbx + l_.gpr + int32_t(r) * 8]; }

  // emit_regs.cc
  Xbyak::Reg64 cached_gpr(unsigned g);
  Xbyak::Reg64 claim_gpr(unsigned g);
  void set_gpr(unsigned g, const Xbyak::Reg64& value);
  void wrote_gpr(unsigned g);
  void forget_gpr(unsigned g);
  void forget_slot(size_t slot);
  void forget_gprs();
  void write_back_gprs();
  void spill_call_clobbered();
  void write_back_gpr(unsigned g);
  void write_back(size_t slot);
  void reload_gprs(const CachedGprs& cached);
  void reconcile_gprs(const CachedGprs& to);
  size_t cache_slot(unsigned g);
  Xbyak::Reg64 cache_reg(size_t slot) const;
  // emitter.cc
  void push_frame();
  void pop_frame();
  void enter_body();
  void retire_inline(const Insn& in);
  void commit_inline();
  void chain();
  void probe_code_cache(Xbyak::Label& miss);
  void exit_link();
  void call_direct(const Insn& in);
  void call_trampoline(const Insn& in);
  void call_insn(const Insn& in, bool may_throw);
  // emit_alu.cc
  void emit_alu(const Insn& in, InlineAlu op);
  void freeze_recorded_carry();
  void emit_inc_dec(const Insn& in, bool dec);
  void emit_lea(const Insn& in);
  void emit_neg(const Insn& in);
  void emit_not(const Insn& in);
  void emit_extend(const Insn& in, bool sign);
  Xbyak::Address gpr_at(const Operand& o);
  void load_zx(const Xbyak::Reg64& to, const Operand& o);
  void store_reg(const Operand& o, const Xbyak::Reg64& from);
  void record_flags(FlagOp op, unsigned size, const Xbyak::Reg64& a, const Xbyak::Reg64& b,
                    const Xbyak::Reg64& r);
  void record_result(FlagOp op, unsigned size, const Xbyak::Reg64& r);
  void record_constant(int32_t field, uint64_t value);
  void record_first(unsigned size, const Xbyak::Reg64& v);
  Xbyak::Reg64 operand_in_place(const Operand& d);
  void store_in_place(const Operand& d, const Xbyak::Reg64& v);
  void emit_move(const Operand& d, const Operand& s, const Xbyak::Reg64& src);
  FlagOp emit_alu_op(InlineAlu op, const Xbyak::Reg& r, const Xbyak::Reg& s);
  static std::vector<bool> flags_live_after(const Block& b, const std::vector<InsnPlan>& plans);
  void emit_shift(const Insn& in, InlineShift op);
  void emit_imul(const Insn& in);
  void commit_flags();
  void host_szp_to(const Xbyak::Reg64& to, unsigned size, const Xbyak::Reg64& result);
  void flags_to_raw(const Xbyak::Reg64& bits);
  // emit_memory.cc
  SlowAccess& slow_access(const Insn& in);
  void emit_offset(const Operand& m, const Insn& in);
  std::optional<Xbyak::RegExp> address_sum(const Operand& m, const Insn& in, bool narrow);
  void address_by_steps(const Xbyak::Reg64& to, const Operand& m, const Insn& in, bool narrow);
  void emit_linear(unsigned seg, unsigned asize, Xbyak::Label& miss);
  void emit_tlb_hit(unsigned size, bool write, Xbyak::Label& miss);
  void emit_load(const Insn& in);
  void emit_load_extend(const Insn& in, bool sign);
  void emit_alu_load(const Insn& in, InlineAlu op);
  void emit_alu_mem(const Insn& in, InlineAlu op);
  void emit_store(const Insn& in);
  void resume(SlowAccess& s);
  void emit_slow_access(SlowAccess& s);
  // emit_stack.cc
  SlowAccess& stack_access(const Insn& in, unsigned size, bool push);
  template <typename LoadValue>
  SlowAccess& stack_store(const Insn& in, unsigned size, LoadValue load_value);
  SlowAccess& stack_load(const Insn& in, unsigned size);
  void move_stack_pointer(int32_t by);
  void emit_push(const Insn& in);
  void emit_pop(const Insn& in);
  void emit_call(const Insn& in);
  void emit_ret(const Insn& in);
  // emit_branch.cc
  static bool branches_to_its_start(const Block& b, const InsnPlan& last_plan);
  void back_edge();
  void emit_jcc(const Insn& in, uint8_t cc);
  void emit_jmp(const Insn& in);
  void branch_target(const Insn& in);
  void retire_exit(const Insn& in);
  void host_flags();
  void jump_if(uint8_t cc, const Xbyak::Label& to);
  uint8_t host_condition(uint8_t cc);
  void carry_to_host();
  void emit_setcc(const Insn& in);
  void emit_cmovcc(const Insn& in);

  const CpuLayout& l_;
  const HandlerForms& forms_;
  std::exception_ptr* raised_;
  NextTranslation next_;
  std::deque<ExitLink>* links_;
  const CodeCache::FastSlot* fast_table_;
  const uint8_t* lookup_;
  Xbyak::Label top_, done_, out_;
  bool self_loop_ = false; // branches_to_its_start()
  size_t insns_ = 0;       // the block's
  CachedGprs kept_;        // at the loop's top
  std::optional<CachedGprs> at_back_edge_;
  int32_t offset_ = 0;  // bytes of the block retired so far
  int32_t pending_ = 0; // inline instructions retired but not yet counted in the Cpu
  // The lazy-flags operation the block's last flag-writing instruction left, when that was
  // inline code (so known here), and its width.
  std::optional<FlagOp> known_op_;
  unsigned known_bits_ = 0;
  // Whether the flags the instruction being emitted leaves can be seen (flags_live_after).
  bool flags_live_ = true;
  // Whether the host's flags are the guest's: the previous instruction was an inline register
  // ALU operation, whose host instruction set them last (host_flags() has nothing to redo).
  bool flags_in_host_ = false;
  std::list<SlowAccess> slow_accesses_; // a list: labels must not move
  CachedGprs cached_;
  DirtyGprs dirty_{};
  std::array<uint64_t, std::size(kCacheRegs)> last_use_{};
  uint64_t uses_ = 0;
};

} // namespace rrvm::emu
