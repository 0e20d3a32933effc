// Dynamic translation of emu's decoded blocks to host code (`--emu-translate on`, the default). The
// interpreter stays the reference: a translated block does exactly what the interpreter's block
// loop does, instruction for instruction, so counts, stops and faults land where they land there.
//
// Translations hang off the CodeCache's blocks and die with them (writes to code, set_state(),
// invalidate_code()). The code buffer is bounded: when it is full, every translation is dropped
// and translation starts over.
//
// A block's exits link directly to the translation that ran next (ExitLink); an exit whose link
// misses looks the next translation up in the code cache's table inline (emit_lookup()), which
// links it anew. A link never leads to freed code: it is taken only while Cpu::fetch_epoch is the
// one it was made in (a retired block, whose Insns are freed later, advances it), and links die
// with the buffer's translations when it is flushed (only translations made since, which link only
// to each other, run after it).
#pragma once

#include <cstddef>
#include <deque>
#include <exception>

#include "vmm/emu/code_cache.h"
#include "vmm/emu/jit/block_emitter.h"
#include "vmm/emu/jit/code_buffer.h"
#include "vmm/emu/jit/handler_forms.h"

namespace rrvm::emu {

class Translator {
public:
  // A block is translated on its fourth run: translating on the first made busy_pit_long, whose
  // timer handler writes next to its code and so invalidates the block at every tick, 4x slower
  // than the interpreter (7.2 s against 1.9 s); the Linux boot is the same either way.
  static constexpr uint32_t kRunsBeforeTranslation = 4;
  // `buffer_size` must hold the lookup code (kLookupBound) and the largest block's code
  // (emitted_size_bound of 64 instructions).
  Translator(Cpu& cpu, size_t buffer_size);

  // Runs `b` as the interpreter's block loop would (from the current RIP, up to c.stop, the end of
  // the block or c.limit), in host code, translating it on its kRunsBeforeTranslation-th run (until
  // then it returns false and the interpreter runs it). False when nothing ran: the limit falls
  // inside the block (the interpreter stops there). Throws what a handler threw, with the state the
  // interpreter has at that point; an instruction that stopped unretired (Cpu::unretired) leaves
  // that state too, without a throw.
  bool run(Block& b);

  // Whether a translated block that runs to its end may go straight on to the next one's
  // translation, checking between them what run()'s loop checks between blocks that can change
  // inside one (kick, stop, limit, halt, pending exit, interrupt shadow, TF). Allowed only while
  // nothing else would stop the loop there: no single step, breakpoint, watchpoint, interrupt
  // window, pending event.
  void set_chaining(bool allowed);

  // Translations made and full-buffer flushes so far.
  uint64_t translated() const { return translated_; }
  uint64_t flushes() const { return flushes_; }

private:
  TranslatedBlock translate(const Block& b);
  EmitContext context();
  static TranslatedBlock next_translation(Cpu* c, ExitLink* link) noexcept;

  Cpu& cpu_;
  CpuLayout layout_;
  HandlerForms forms_;
  CodeBuffer buffer_;
  // The buffer starts with emit_lookup()'s code, kept across flushes; blocks follow.
  size_t blocks_start_ = 0;
  size_t used_ = 0;
  // The exit links of the translations in the buffer, dropped with them.
  std::deque<ExitLink> links_;
  std::exception_ptr raised_;
  uint64_t translated_ = 0;
  uint64_t flushes_ = 0;
};

} // namespace rrvm::emu
