// The host code of one translated block: the interpreter's block loop unrolled. Simple register
// instructions are inlined (their results and lazy-flags record written as their handlers write
// them), register forms that cannot raise call their handler directly, and the rest call it
// through a noexcept trampoline; RIP and the count are kept in the Cpu before every call and at
// every exit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>

#include <deque>

#include "vmm/emu/code_cache.h"
#include "vmm/emu/jit/exit_link.h"
#include "vmm/emu/jit/handler_forms.h"

namespace rrvm::emu {

// Where the fields translated code touches lie in a Cpu (measured on an instance: Cpu is not
// standard-layout, so offsetof is not available).
struct CpuLayout {
  explicit CpuLayout(const Cpu& c);
  int32_t gpr, rip, next_rip, icount, limit, stop;
  int32_t lazy_a, lazy_b, lazy_r, lazy_op, flags_raw;
  int32_t seg_base, lin_mask, inline_checks, fetch_epoch, read_tags, write_tags, exec_tags, tlb,
      tlb_addends;
  int32_t inputs_next, ss_db, code_bits;
  int32_t run_flags; // stop, exit_pending, interrupt_shadow, halted, kicked, unchained: one word
};

// True when a block's instructions each count one, so a block entered with room for all of them
// under the limit needs no limit checks. REP string instructions count their iterations.
bool counts_one_per_insn(const Block& b);

// Where a block's code goes on when a block chains to it: past the frame's set-up (push_frame()
// and the Cpu into rbx), for which the chaining block's frame stands in: every block saves the
// same registers and keeps the Cpu in rbx, and a chain is a tail jump, so the stack is as the
// first block's caller left it.
constexpr size_t kBodyEntry = 17;

// The most host code emit_block() writes for a block of `insns` instructions.
size_t emitted_size_bound(size_t insns);

// Called at the end of block `from` when it ran to its end: the translation of the next block
// when it may run at once (what run()'s loop would do next is run it), else nullptr; `link`, the
// exit's link, then leads there directly next time. Never throws.
using NextTranslation = TranslatedBlock (*)(Cpu* c, ExitLink* link);

struct EmitContext {
  const CpuLayout& layout;
  const HandlerForms& forms;
  std::exception_ptr* raised;            // where the trampoline stores a handler's exception
  NextTranslation next;                  // chaining: the successor
  std::deque<ExitLink>* links;           // where the block's exit links are made (stable addresses)
  const CodeCache::FastSlot* fast_table; // CodeCache::fast_table()
  const uint8_t* lookup;                 // emit_lookup()'s code, where it runs
};

// Writes the code for `b` at `at` (the writable view of code that will run at the same offset in
// the executable view). A handler's exception is caught in the trampoline, stored in
// `*ctx.raised`, and the code returns true at once with RIP and the count on the faulting
// instruction, as the interpreter leaves them. Blocks that count one per instruction must be
// entered only with room for all of them under the limit. Returns the bytes written.
size_t emit_block(const Block& b, const EmitContext& ctx, uint8_t* at, size_t room);

// The most host code emit_lookup() writes.
constexpr size_t kLookupBound = 512;

// Writes the code every block's exit goes to when its link misses, shared so that each block
// holds one jump to it: the next block's translation looked up in the code cache's table inline,
// else by `ctx.next`; a tail jump there, or the block's return. Returns the bytes written.
size_t emit_lookup(const EmitContext& ctx, uint8_t* at, size_t room);

} // namespace rrvm::emu
