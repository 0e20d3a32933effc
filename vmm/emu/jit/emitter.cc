#include "vmm/emu/jit/emitter.h"

#include <bit>
#include <cstddef>

#include "vmm/error.h"

namespace rrvm::emu {

namespace {

// Handlers report guest faults and most stops by C++ exceptions, and generated code has no unwind
// information: they are caught here, before they would have to unwind through it, and handed to
// the C++ caller of the block, which rethrows them. True also when the handler returned without
// retiring its instruction (a port read the machine must answer first): nothing to rethrow.
bool call_handler(Cpu& c, const Insn& in, std::exception_ptr* raised) noexcept {
  try {
    in.fn(c, in);
    return c.unretired;
  } catch (...) {
    *raised = std::current_exception();
    return true;
  }
}

} // namespace

Emitter::Emitter(uint8_t* at, size_t room, const EmitContext& ctx)
    : CodeGenerator(room, at), l_(ctx.layout), forms_(ctx.forms), raised_(ctx.raised),
      next_(ctx.next), links_(ctx.links), fast_table_(ctx.fast_table), lookup_(ctx.lookup) {}

void Emitter::block(const Block& b, const CachedGprs& kept) {
  const bool checked = !counts_one_per_insn(b);
  push_frame();
  mov(rbx, rdi);
  if (getSize() != kBodyEntry) throw Error(ExitCode::kInternal, "block frame is not kBodyEntry");
  mov(r14, qword[rbx + l_.rip]);
  std::vector<InsnPlan> plans;
  plans.reserve(b.insns.size());
  for (const Insn& in : b.insns)
    plans.push_back(checked ? InsnPlan{} : forms_.plan(in));
  insns_ = b.insns.size();
  self_loop_ = branches_to_its_start(b, plans.back());
  kept_ = self_loop_ ? kept : kNothingCached;
  // Whoever entered the block found its code page mapped as it was decoded; the frame's spare
  // slot keeps the epoch under which that holds, for back_edge().
  if (self_loop_) {
    mov(rax, qword[rbx + l_.fetch_epoch]);
    mov(qword[rsp], rax);
  }
  reload_gprs(kept_);
  L(top_);
  // Dirty for all the code knows: the back edge comes with what the iteration changed.
  cached_ = kept_;
  for (size_t slot = 0; slot < cached_.size(); ++slot)
    dirty_[slot] = cached_[slot] != kNoGuest;
  const std::vector<bool> live = flags_live_after(b, plans);
  bool exit_ready = false; // RIP in rax and the exit's link in rsi
  for (const Insn& in : b.insns) {
    const size_t i = size_t(&in - b.insns.data());
    const bool last = i + 1 == b.insns.size();
    InsnPlan plan = plans[i];
    flags_live_ = live[i];
    switch (plan.kind) {
    case InsnPlan::Kind::kAlu:
      emit_alu(in, plan.alu);
      retire_inline(in);
      break;
    case InsnPlan::Kind::kLea:
      emit_lea(in);
      retire_inline(in);
      break;
    case InsnPlan::Kind::kNop:
      retire_inline(in);
      break;
    case InsnPlan::Kind::kNeg:
      emit_neg(in);
      retire_inline(in);
      break;
    case InsnPlan::Kind::kNot:
      emit_not(in);
      retire_inline(in);
      break;
    case InsnPlan::Kind::kExtend:
      emit_extend(in, plan.sign);
      retire_inline(in);
      break;
    case InsnPlan::Kind::kSetcc:
      emit_setcc(in);
      retire_inline(in);
      break;
    case InsnPlan::Kind::kCmovcc:
      emit_cmovcc(in);
      retire_inline(in);
      break;
    case InsnPlan::Kind::kShift:
      emit_shift(in, plan.shift);
      retire_inline(in);
      break;
    case InsnPlan::Kind::kImul:
      emit_imul(in);
      retire_inline(in);
      break;
    case InsnPlan::Kind::kIncDec:
      emit_inc_dec(in, plan.dec);
      retire_inline(in);
      break;
    case InsnPlan::Kind::kLoad:
      emit_load(in);
      retire_inline(in);
      break;
    case InsnPlan::Kind::kLoadExtend:
      emit_load_extend(in, plan.sign_extend);
      retire_inline(in);
      break;
    case InsnPlan::Kind::kAluLoad:
      emit_alu_load(in, plan.alu);
      retire_inline(in);
      break;
    case InsnPlan::Kind::kAluMem:
      emit_alu_mem(in, plan.alu);
      retire_inline(in);
      break;
    case InsnPlan::Kind::kStore:
      emit_store(in);
      retire_inline(in);
      break;
    case InsnPlan::Kind::kPush:
      emit_push(in);
      retire_inline(in);
      break;
    case InsnPlan::Kind::kPop:
      emit_pop(in);
      retire_inline(in);
      break;
    case InsnPlan::Kind::kCall: // CALL and RET end their blocks
      emit_call(in);
      exit_ready = true;
      break;
    case InsnPlan::Kind::kRet:
      emit_ret(in);
      exit_ready = true;
      break;
    case InsnPlan::Kind::kJcc:
    case InsnPlan::Kind::kJmp:
      if (last && in.op[0].disp == int32_t(in.op[0].disp)) {
        if (plan.kind == InsnPlan::Kind::kJcc)
          emit_jcc(in, plan.cc);
        else
          emit_jmp(in);
        exit_ready = true;
        break;
      }
      call_insn(in, false);
      break;
    case InsnPlan::Kind::kDirect:
      if (!last) {
        // Not a branch (branches end blocks): it reads neither RIP nor the count and cannot
        // stop, so it retires as inline code does.
        call_direct(in);
        retire_inline(in);
        known_op_.reset();
        break;
      }
      [[fallthrough]];
    case InsnPlan::Kind::kTrampoline:
      call_insn(in, plan.kind == InsnPlan::Kind::kTrampoline);
      if (last) break;
      // The interpreter's loop condition; the limit only where a REP may have reached it.
      cmp(byte[rbx + l_.stop], 0);
      jne(done_, T_NEAR);
      if (checked) {
        cmp(rax, qword[rbx + l_.limit]);
        jae(done_, T_NEAR);
      }
      break;
    }
    flags_in_host_ = plan.kind == InsnPlan::Kind::kAlu && plan.alu != InlineAlu::kMov;
  }
  if (!exit_ready) {
    commit_inline();
    write_back_gprs();
    mov(rax, qword[rbx + l_.rip]);
    exit_link();
  }
  chain();
  L(done_);
  xor_(eax, eax);
  L(out_);
  pop_frame();
  ret();
  for (SlowAccess& s : slow_accesses_)
    emit_slow_access(s);
}

// Inline instructions count and advance RIP in bulk: the Cpu learns them before the next call
// or exit (none of them can stop, fault or read RIP).
void Emitter::retire_inline(const Insn& in) {
  offset_ += in.len;
  ++pending_;
}

void Emitter::commit_inline() {
  if (!pending_) return;
  add(qword[rbx + l_.icount], pending_);
  lea(rax, ptr[r14 + offset_]);
  mov(qword[rbx + l_.rip], rax);
  pending_ = 0;
}

// A new exit link for the block's exit being emitted, in rsi, once the cache is written back.
void Emitter::exit_link() {
  for (size_t slot = kCalleeSavedSlots; slot < cached_.size(); ++slot)
    forget_slot(slot);
  mov(rsi, reinterpret_cast<uint64_t>(&links_->emplace_back()));
}

// Goes on to the next block's translation when run()'s loop would run it next, as a tail jump
// into its body with this block's frame (it returns to this block's caller): RIP in rax, the
// exit's link in rsi. First what the loop checks between blocks (next_translation()'s own
// checks, inline; the run flags in one load), then the translation the link holds, if it leads
// from this RIP, was made in
// this fetch epoch (the target lives, and CS's base, the code page's mapping and the mode are as
// the lookup found them) and fits under the limit. Else the shared lookup (lookup()).
void Emitter::chain() {
  Xbyak::Label slow;
  write_back_gprs();
  cmp(qword[rbx + l_.run_flags], 0);
  jne(done_, T_NEAR);
  test(qword[rbx + l_.flags_raw], int32_t(rflags::kTF));
  jnz(done_, T_NEAR);
  mov(rcx, qword[rbx + l_.limit]);
  sub(rcx, qword[rbx + l_.icount]);
  jbe(done_, T_NEAR); // the count is at or past the limit
  cmp(rax, qword[rsi + int32_t(offsetof(ExitLink, rip))]);
  jne(slow, T_NEAR);
  mov(r8, qword[rbx + l_.fetch_epoch]);
  cmp(r8, qword[rsi + int32_t(offsetof(ExitLink, epoch))]);
  jne(slow, T_NEAR);
  cmp(rcx, qword[rsi + int32_t(offsetof(ExitLink, insns))]);
  jb(slow, T_NEAR);
  mov(dword[rbx + l_.inputs_next], 0); // as execute() starts each block
  jmp(qword[rsi + int32_t(offsetof(ExitLink, body))]);
  L(slow);
  mov(r11, reinterpret_cast<uint64_t>(lookup_));
  jmp(r11);
}

// Where chain() goes when the link misses, with this block's frame, RIP in rax, the link in rsi
// and the room under the limit in rcx: the translation the code cache's table holds for RIP
// (probe_code_cache()), which the link then holds, else next_translation()'s answer, which also
// sets the link; a tail jump there, or the block's return when there is none.
void Emitter::lookup() {
  Xbyak::Label call_next;
  probe_code_cache(call_next);
  mov(qword[rsi + int32_t(offsetof(ExitLink, rip))], rax);
  mov(r8, qword[rbx + l_.fetch_epoch]);
  mov(qword[rsi + int32_t(offsetof(ExitLink, epoch))], r8);
  mov(r8, qword[r9 + int32_t(offsetof(CodeCache::FastSlot, insns))]);
  mov(qword[rsi + int32_t(offsetof(ExitLink, insns))], r8);
  lea(rax, ptr[r11 + int32_t(kBodyEntry)]);
  mov(qword[rsi + int32_t(offsetof(ExitLink, body))], rax);
  mov(dword[rbx + l_.inputs_next], 0); // as execute() starts each block
  jmp(rax);
  L(call_next);
  mov(rdi, rbx);
  mov(rax, reinterpret_cast<uint64_t>(next_));
  call(rax);
  test(rax, rax);
  jz(done_, T_NEAR);
  enter_body();
  L(done_);
  xor_(eax, eax);
  pop_frame();
  ret();
}

// next_translation()'s lookup inline, for exits whose link misses (returns, indirect jumps, a
// target that changed): the translation in r11 and its slot in r9 when its answer is one, else a
// jump to `miss`, where the call decides. Room under the limit in rcx, RIP in rax; rdx and
// r8..r11 clobbered. It answers from the TLB's exec tag (a hit is
// fetch_page()'s answer without a walk) and the code cache's direct-mapped table (a hit is
// block()'s answer when the block stays in one page; blocks reaching into a second page go to
// the call, which checks that page). The limit is judged against the longest block, so that the
// block's length need not be read: near the limit the call judges.
void Emitter::probe_code_cache(Xbyak::Label& miss) {
  cmp(rcx, int32_t(CodeCache::kMaxBlockInsns));
  jb(miss, T_NEAR);
  mov(rdx, rax);
  add(rdx, qword[rbx + l_.seg_base + int32_t(kCS) * 8]);
  and_(rdx, qword[rbx + l_.lin_mask]);
  mov(r8, rdx);
  shr(r8, 12);
  and_(r8d, uint32_t(Cpu::tlb_entries() - 1));
  mov(r9, rdx);
  and_(r9, int32_t(~0xfff));
  mov(r10, qword[rbx + l_.exec_tags]);
  cmp(r9, qword[r10 + r8 * 8]);
  jne(miss, T_NEAR);
  shl(r8d, std::countr_zero(sizeof(TlbEntry)));
  mov(r10, qword[rbx + r8 + l_.tlb + int32_t(offsetof(TlbEntry, ppn))]);
  shl(r10, 12);
  and_(edx, 0xfff);
  or_(r10, rdx); // the physical address
  // The key's mode from code_bits (16, 32, 64): its bit number less 4.
  static_assert(CodeCache::key_of(0, 16) == 0 &&
                CodeCache::key_of(0, 32) == 1ull << Block::kModeShift &&
                CodeCache::key_of(0, 64) == 2ull << Block::kModeShift);
  bsf(r9d, dword[rbx + l_.code_bits]);
  sub(r9d, 4);
  shl(r9, Block::kModeShift);
  or_(r10, r9); // the key
  mov(r9, r10);
  shr(r9, CodeCache::kFastHashShift);
  xor_(r9, r10);
  and_(r9d, uint32_t(CodeCache::kFastSize - 1));
  static_assert(sizeof(CodeCache::FastSlot) == 32);
  shl(r9, 5);
  mov(r11, reinterpret_cast<uint64_t>(fast_table_));
  add(r9, r11);
  cmp(r10, qword[r9 + int32_t(offsetof(CodeCache::FastSlot, key))]);
  jne(miss, T_NEAR);
  mov(r11, qword[r9 + int32_t(offsetof(CodeCache::FastSlot, one_page_translation))]);
  test(r11, r11);
  jz(miss, T_NEAR);
}

// A tail jump into the body of the translation in rax (kBodyEntry), with this block's frame.
void Emitter::enter_body() {
  add(rax, int32_t(kBodyEntry));
  jmp(rax);
}

// The callee-saved registers a block uses, and the stack 16-byte aligned for its calls.
void Emitter::push_frame() {
  for (const Xbyak::Reg64& r : {rbx, r12, r13, r14, r15, rbp})
    push(r);
  sub(rsp, 8);
}

void Emitter::pop_frame() {
  add(rsp, 8);
  for (const Xbyak::Reg64& r : {rbp, r15, r14, r13, r12, rbx})
    pop(r);
}

// A handler called where it cannot throw; it may read and change any guest register.
void Emitter::call_direct(const Insn& in) {
  write_back_gprs();
  mov(rdi, rbx);
  mov(rsi, reinterpret_cast<uint64_t>(&in));
  mov(rax, reinterpret_cast<uint64_t>(in.fn));
  call(rax);
  forget_gprs();
}

// A handler called through call_handler(), which catches what it throws; true in al when the
// instruction did not retire. It may read and change any guest register.
void Emitter::call_trampoline(const Insn& in) {
  write_back_gprs();
  mov(rdi, rbx);
  mov(rsi, reinterpret_cast<uint64_t>(&in));
  mov(rdx, reinterpret_cast<uint64_t>(raised_));
  mov(rax, reinterpret_cast<uint64_t>(&call_handler));
  call(rax);
  forget_gprs();
}

void Emitter::call_insn(const Insn& in, bool may_throw) {
  commit_inline();
  known_op_.reset();
  lea(rax, ptr[r14 + offset_ + in.len]);
  mov(qword[rbx + l_.next_rip], rax);
  if (may_throw) {
    call_trampoline(in);
    test(al, al);
    jnz(out_, T_NEAR); // the instruction did not retire: RIP and the count stay on it
  } else {
    call_direct(in);
  }
  offset_ += in.len;
  mov(rax, qword[rbx + l_.next_rip]);
  mov(qword[rbx + l_.rip], rax);
  mov(rax, qword[rbx + l_.icount]);
  add(rax, 1);
  mov(qword[rbx + l_.icount], rax);
}

} // namespace rrvm::emu
