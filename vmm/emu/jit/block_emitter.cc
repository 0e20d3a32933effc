#include "vmm/emu/jit/block_emitter.h"

#include <cstddef>

#include "vmm/emu/cpu.h"
#include "vmm/emu/jit/emitter.h"
#include "vmm/error.h"

namespace rrvm::emu {

namespace {

int32_t offset_in(const Cpu& c, const void* field) {
  return int32_t(static_cast<const char*>(field) - reinterpret_cast<const char*>(&c));
}

constexpr size_t kPerInsnBound = 512, kFrameBound = 1024;

} // namespace

CpuLayout::CpuLayout(const Cpu& c)
    : gpr(offset_in(c, &c.gpr[0])), rip(offset_in(c, &c.rip)), next_rip(offset_in(c, &c.next_rip)),
      icount(offset_in(c, &c.icount)), limit(offset_in(c, &c.limit)), stop(offset_in(c, &c.stop)),
      lazy_a(offset_in(c, &c.lazy.a)), lazy_b(offset_in(c, &c.lazy.b)),
      lazy_r(offset_in(c, &c.lazy.r)), lazy_op(offset_in(c, &c.lazy.op)),
      flags_raw(offset_in(c, &c.flags_raw)), seg_base(offset_in(c, &c.seg_base[0])),
      lin_mask(offset_in(c, &c.lin_mask)), inline_checks(offset_in(c, &c.inline_checks)),
      fetch_epoch(offset_in(c, &c.fetch_epoch)), read_tags(offset_in(c, &c.read_tags)),
      write_tags(offset_in(c, &c.write_tags)), exec_tags(offset_in(c, &c.exec_tags)),
      tlb(offset_in(c, c.tlb())), tlb_addends(offset_in(c, c.tlb_addends())),
      inputs_next(offset_in(c, &c.inputs.next)), ss_db(offset_in(c, &c.seg[kSS].db)),
      code_bits(offset_in(c, &c.code_bits)), run_flags(stop) {
  static_assert(sizeof(c.kicked) == 1);
  const int32_t word_end = offset_in(c, c.run_flags_padding + sizeof c.run_flags_padding);
  const std::initializer_list<const void*> others = {&c.exit_pending, &c.interrupt_shadow,
                                                     &c.halted, &c.kicked, &c.unchained};
  for (const void* flag : others)
    if (offset_in(c, flag) < run_flags || offset_in(c, flag) >= word_end)
      throw Error(ExitCode::kInternal, "the Cpu's run flags are not one word");
  if (run_flags % 8 != 0 || word_end != run_flags + 8)
    throw Error(ExitCode::kInternal, "the Cpu's run flags are not one word");
}

bool counts_one_per_insn(const Block& b) {
  for (const Insn& in : b.insns)
    if (in.rep != rep::kNone) return false;
  return true;
}

size_t emitted_size_bound(size_t insns) {
  return kFrameBound + insns * kPerInsnBound;
}

// A block that loops to itself is written twice: the first translation finds which guest
// registers its back edge holds, the second keeps those in host registers across iterations. The
// first one's exit links go with its code.
size_t emit_block(const Block& b, const EmitContext& ctx, uint8_t* at, size_t room) {
  const size_t links = ctx.links->size();
  Emitter first(at, room, ctx);
  first.block(b, Emitter::kNothingCached);
  const std::optional<Emitter::CachedGprs>& held = first.cached_at_back_edge();
  if (!held || *held == Emitter::kNothingCached) return first.getSize();
  ctx.links->resize(links);
  Emitter second(at, room, ctx);
  second.block(b, *held);
  return second.getSize();
}

size_t emit_lookup(const EmitContext& ctx, uint8_t* at, size_t room) {
  Emitter e(at, room, ctx);
  e.lookup();
  return e.getSize();
}

} // namespace rrvm::emu
