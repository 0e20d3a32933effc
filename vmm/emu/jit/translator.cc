#include "vmm/emu/jit/translator.h"

#include <utility>

#include "vmm/emu/cpu.h"

namespace rrvm::emu {

namespace {

size_t aligned(size_t offset) {
  return (offset + 15) & ~size_t(15);
}

} // namespace

Translator::Translator(Cpu& cpu, size_t buffer_size)
    : cpu_(cpu), layout_(cpu), forms_(*cpu.code), buffer_(buffer_size) {
  blocks_start_ = aligned(emit_lookup(context(), buffer_.writable(0), kLookupBound));
  used_ = blocks_start_;
}

void Translator::set_chaining(bool allowed) {
  cpu_.unchained = !allowed;
}

EmitContext Translator::context() {
  return {layout_,
          forms_,
          &raised_,
          &next_translation,
          &links_,
          cpu_.code->fast_table(),
          buffer_.executable(0)};
}

bool Translator::run(Block& b) {
  // Translated blocks retire all their instructions unless something stops them: the limit must
  // leave room for the whole block.
  if (cpu_.icount > cpu_.limit || cpu_.limit - cpu_.icount < b.insns.size()) return false;
  if (!b.translation) {
    // Code run once or twice (start-up, or a block whose page the guest keeps writing, which
    // invalidates it) is interpreted: translating it would cost more than it saves.
    if (++b.runs < kRunsBeforeTranslation) return false;
    cpu_.code->set_translation(b, translate(b));
  }
  if (b.translation(&cpu_) && raised_) std::rethrow_exception(std::exchange(raised_, nullptr));
  return true;
}

// execute()'s path between two blocks, for blocks already translated: the fetch (which may walk
// the page tables, as execute() would next; a fault is left for execute() to raise again) and the
// decoded-block lookup. Nothing is translated here: the code running now lives in the buffer a
// translation might flush.
TranslatedBlock Translator::next_translation(Cpu* cpu, ExitLink* link) noexcept {
  Cpu& c = *cpu;
  if (c.unchained || c.stop || c.exit_pending || c.halted || c.interrupt_shadow ||
      (c.flags_raw & rflags::kTF) || c.kicked.load(std::memory_order_relaxed) ||
      c.icount >= c.limit)
    return nullptr;
  uint64_t phys;
  const uint8_t* host;
  const uint64_t la = c.linear(kCS, c.rip);
  try {
    host = c.fetch_page(la, &phys);
  } catch (...) {
    return nullptr;
  }
  if (!host) return nullptr;
  const Block* b = c.code->block(la, phys, host, c.code_bits);
  if (!b || !b->translation || c.limit - c.icount < b->insns.size()) return nullptr;
  // A block decoded into the next page runs whole only while the TLB maps that page as then.
  if (b->spans() && !c.next_page_maps(la, b->second_page)) return nullptr;
  c.inputs.next = 0; // as execute() starts each block
  // Until the fetch epoch moves, RIP leads here again: both code pages map as now.
  *link = {c.rip, c.fetch_epoch, b->insns.size(),
           reinterpret_cast<const uint8_t*>(b->translation) + kBodyEntry};
  return b->translation;
}

TranslatedBlock Translator::translate(const Block& b) {
  const size_t need = emitted_size_bound(b.insns.size());
  if (buffer_.size() - used_ < need) {
    // Nothing runs translated code while a block is being translated, so every translation may go.
    cpu_.code->drop_translations();
    links_.clear();
    used_ = blocks_start_;
    ++flushes_;
  }
  const size_t at = used_;
  used_ = aligned(used_ + emit_block(b, context(), buffer_.writable(at), need));
  ++translated_;
  return reinterpret_cast<TranslatedBlock>(const_cast<uint8_t*>(buffer_.executable(at)));
}

} // namespace rrvm::emu
