#include "vmm/emu/jit/emitter.h"

namespace rrvm::emu {

namespace {

using G = Xbyak::CodeGenerator;
using JumpTo = void (G::*)(const Xbyak::Label&, G::LabelType);

// The host's Jcc for each condition code, which are the guest's.
constexpr JumpTo kJumps[16] = {&G::jo,  &G::jno,  &G::jb,  &G::jnb, &G::jz, &G::jnz,
                               &G::jbe, &G::jnbe, &G::js,  &G::jns, &G::jp, &G::jnp,
                               &G::jl,  &G::jnl,  &G::jle, &G::jnle};
using SetTo = void (G::*)(const Xbyak::Operand&);
constexpr SetTo kSets[16] = {&G::seto,  &G::setno,  &G::setb,  &G::setnb, &G::setz, &G::setnz,
                             &G::setbe, &G::setnbe, &G::sets,  &G::setns, &G::setp, &G::setnp,
                             &G::setl,  &G::setnl,  &G::setle, &G::setnle};
using MoveIf = void (G::*)(const Xbyak::Reg&, const Xbyak::Operand&);
constexpr MoveIf kMoves[16] = {
    &G::cmovo, &G::cmovno, &G::cmovb, &G::cmovnb, &G::cmovz, &G::cmovnz, &G::cmovbe, &G::cmovnbe,
    &G::cmovs, &G::cmovns, &G::cmovp, &G::cmovnp, &G::cmovl, &G::cmovnl, &G::cmovle, &G::cmovnle};
constexpr uint8_t kCarry = 2, kNotZero = 5;

// Cpu::cond for code that cannot know the flags' writer: a direct call (it never throws).
bool guest_condition(const Cpu* c, unsigned cc) noexcept {
  return c->cond(cc);
}

} // namespace

// Whether the block ends in an inline branch (emit_jcc, emit_jmp) to its own start: a loop whose
// iterations back_edge() may join without leaving the block.
bool Emitter::branches_to_its_start(const Block& b, const InsnPlan& last_plan) {
  if (b.spans()) return false; // next_translation checks its second page too
  if (last_plan.kind != InsnPlan::Kind::kJcc && last_plan.kind != InsnPlan::Kind::kJmp)
    return false;
  const int64_t disp = b.insns.back().op[0].disp;
  if (disp != int32_t(disp)) return false;
  int64_t length = 0;
  for (const Insn& in : b.insns)
    length += in.len;
  return length + disp == 0;
}

// A block ending in a branch back to its own start (a loop) goes round again without leaving
// when execute()'s path to the next block would lead here again: what chain() checks between
// blocks, room under the limit for all of this block's instructions, and the fetch epoch the
// block's entry kept in the frame's spare slot (nothing changed what its RIP fetches; the block
// is live, or the stop flag would be set). The guest registers the cache holds at the top stay
// in their host registers (kept_: none are stored or loaded again per iteration) and the branch
// retires by the count alone: everything that could read RIP in the block sets it first. When a
// check fails, the code after this goes on to the branch's exit, as a block without the loop
// takes it.
void Emitter::back_edge() {
  if (!self_loop_) return;
  Xbyak::Label exit;
  at_back_edge_ = cached_;
  reconcile_gprs(kept_);
  cmp(qword[rbx + l_.run_flags], 0);
  jne(exit, T_NEAR);
  test(qword[rbx + l_.flags_raw], int32_t(rflags::kTF));
  jnz(exit, T_NEAR);
  const int32_t retired = pending_ + 1;
  mov(rcx, qword[rbx + l_.icount]);
  add(rcx, retired + int32_t(insns_));
  cmp(rcx, qword[rbx + l_.limit]);
  ja(exit, T_NEAR);
  mov(rdx, qword[rbx + l_.fetch_epoch]);
  cmp(rdx, qword[rsp]);
  jne(exit, T_NEAR);
  add(qword[rbx + l_.icount], retired);
  mov(dword[rbx + l_.inputs_next], 0); // as execute() starts each block
  jmp(top_, T_NEAR);
  L(exit);
}

// The host's arithmetic flags (all but AF after logic operations) made equal to the guest's,
// from the lazy record the block's last inline flag writer left: its operation done again at its
// width, as flags.cc derives them (INC and DEC keep CF, which lazy_incdec froze in flags_raw), or
// flags_raw's when that writer committed them (kNone). Nothing when the host's flags are the
// guest's already (flags_in_host_).
void Emitter::host_flags() {
  if (flags_in_host_) return;
  const int bits = int(known_bits_);
  const Xbyak::Reg a = bits == 64   ? static_cast<const Xbyak::Reg&>(rax)
                       : bits == 32 ? static_cast<const Xbyak::Reg&>(eax)
                       : bits == 16 ? static_cast<const Xbyak::Reg&>(ax)
                                    : static_cast<const Xbyak::Reg&>(al);
  const Xbyak::AddressFrame& at = bits == 64   ? qword
                                  : bits == 32 ? dword
                                  : bits == 16 ? word
                                               : byte;
  switch (*known_op_) {
  case FlagOp::kAdd:
    mov(a, at[rbx + l_.lazy_a]);
    add(a, at[rbx + l_.lazy_b]);
    break;
  case FlagOp::kSub:
    mov(a, at[rbx + l_.lazy_a]);
    cmp(a, at[rbx + l_.lazy_b]);
    break;
  case FlagOp::kLogic:
    mov(a, at[rbx + l_.lazy_r]);
    test(a, a);
    break;
  case FlagOp::kInc:
  case FlagOp::kDec:
    bt(dword[rbx + l_.flags_raw], 0); // CF
    mov(a, at[rbx + l_.lazy_a]);
    if (*known_op_ == FlagOp::kInc)
      inc(a);
    else
      dec(a);
    break;
  case FlagOp::kNone:
    // flags_raw's: OF by an overflowing add, the rest by SAHF.
    mov(edx, dword[rbx + l_.flags_raw]);
    mov(eax, edx);
    shr(eax, 11);
    and_(eax, 1);
    add(al, 0x7f);
    mov(ah, dl);
    sahf();
    break;
  }
}

// The guest's CF in the host's CF (ADC, SBB): nothing when the host's flags are the guest's,
// host_flags() when this block's inline code wrote them, else Cpu::cond's answer. Clobbers what
// host_condition() does.
void Emitter::carry_to_host() {
  if (flags_in_host_ || known_op_) return host_flags();
  spill_call_clobbered();
  mov(rdi, rbx);
  mov(esi, kCarry);
  mov(rax, reinterpret_cast<uint64_t>(&guest_condition));
  call(rax);
  bt(eax, 0);
}

void Emitter::jump_if(uint8_t cc, const Xbyak::Label& to) {
  (this->*kJumps[cc])(to, T_NEAR);
}

// Guest condition `cc` on the host's flags: host_flags(), or Cpu::cond's answer when the flags'
// writer is not inline code of this block. Returns the host condition code that holds when it
// does; rcx, rdx and r8..r11 are free to load into until it is tested.
uint8_t Emitter::host_condition(uint8_t cc) {
  if (flags_in_host_ || known_op_) {
    host_flags();
    return cc;
  }
  spill_call_clobbered();
  mov(rdi, rbx);
  mov(esi, cc);
  mov(rax, reinterpret_cast<uint64_t>(&guest_condition));
  call(rax);
  test(al, al);
  return kNotZero;
}

// op_setcc on a register.
void Emitter::emit_setcc(const Insn& in) {
  const uint8_t cc = host_condition(in.cc);
  (this->*kSets[cc])(gpr_at(in.op[0]));
  forget_gpr(in.op[0].reg);
}

// op_cmovcc<T> on registers: the source when the condition holds, else the destination (which
// a 32-bit form still zero-extends).
void Emitter::emit_cmovcc(const Insn& in) {
  const uint8_t cc = host_condition(in.cc);
  load_zx(rcx, in.op[0]);
  load_zx(rdx, in.op[1]);
  (this->*kMoves[cc])(rcx, rdx);
  store_reg(in.op[0], rcx);
}

// op_jcc<CC>: the condition on the host's flags (host_condition()), then RIP and the count as
// the handler leaves them, each way with its own exit link. The exit's RIP is in rax and its
// link in rsi.
void Emitter::emit_jcc(const Insn& in, uint8_t cc) {
  Xbyak::Label taken, leave;
  const uint8_t host_cc = host_condition(cc);
  if (!self_loop_) write_back_gprs(); // moves only: the flags stay for the jump
  const CachedGprs cached = cached_;
  const DirtyGprs dirty = dirty_;
  jump_if(host_cc, taken);
  write_back_gprs();
  lea(rax, ptr[r14 + offset_ + in.len]);
  exit_link();
  jmp(leave, T_NEAR);
  L(taken);
  cached_ = cached;
  dirty_ = dirty;
  back_edge();
  write_back_gprs();
  branch_target(in);
  exit_link();
  L(leave);
  retire_exit(in);
}

// JMP rel: the block's exit, as a taken Jcc's.
void Emitter::emit_jmp(const Insn& in) {
  back_edge();
  write_back_gprs();
  branch_target(in);
  exit_link();
  retire_exit(in);
}

// A relative branch's target in rax, as control.cc's rel_target computes it.
void Emitter::branch_target(const Insn& in) {
  lea(rax, ptr[r14 + offset_ + in.len]);
  lea(rax, ptr[rax + int32_t(in.op[0].disp)]);
  if (in.osize == 4)
    mov(eax, eax);
  else if (in.osize == 2)
    movzx(eax, ax);
}

// The block's last instruction, a branch to RIP in rax, retires with the inline ones before it.
void Emitter::retire_exit(const Insn& in) {
  mov(qword[rbx + l_.rip], rax);
  add(qword[rbx + l_.icount], pending_ + 1);
  offset_ += in.len;
  pending_ = 0;
}

} // namespace rrvm::emu
