#include <algorithm>

#include "vmm/emu/jit/emitter.h"
#include "vmm/error.h"

namespace rrvm::emu {

// Guest registers in host registers within a block. The cache is written back: a write to a
// guest register changes its host register alone, which is then dirty, and the Cpu's copy is
// brought up to date only where something may read it there: before a call (a handler, or a
// memory access's slow path, whose stub writes back what was dirty where it was taken), before
// the block's exit, when the host register is given to another guest register, and before a
// byte or word of the register is read or written in the Cpu (gpr_at). A loop's iterations then
// store each register they change once, not once per instruction. A call that may change guest
// registers (a handler's) empties the cache; a slow-path stub reloads what the fast path holds at
// its resume point. The helpers that only read the Cpu's flags (Cpu::cond, commit_flags) keep
// the callee-saved host registers, dirty or not; the others (RSI, RDI) go before such a call
// (spill_call_clobbered()), and before the block's exit, whose link RSI takes (exit_link()).

// The host register that holds guest register `g`'s 64 bits, loaded from the Cpu if none does
// yet (into a free host register, else the least recently used one's). Use it at once: the
// next cached_gpr() may hand its host register to another guest register.
Xbyak::Reg64 Emitter::cached_gpr(unsigned g) {
  const size_t slot = cache_slot(g);
  const Xbyak::Reg64 h = cache_reg(slot);
  if (cached_[slot] != int(g)) {
    mov(h, gpr64(g));
    cached_[slot] = int(g);
  }
  return h;
}

// The host register to write all 64 bits of guest register `g` into, whatever it held (the
// caller writes it at once); dirty from here on.
Xbyak::Reg64 Emitter::claim_gpr(unsigned g) {
  const size_t slot = cache_slot(g);
  cached_[slot] = int(g);
  dirty_[slot] = true;
  return cache_reg(slot);
}

// Guest register `g` set to all 64 bits of `value`.
void Emitter::set_gpr(unsigned g, const Xbyak::Reg64& value) {
  const Xbyak::Reg64 h = claim_gpr(g);
  if (h != value) mov(h, value);
}

// After code that changed cached_gpr(g)'s host register in place.
void Emitter::wrote_gpr(unsigned g) {
  const size_t slot = size_t(std::find(cached_.begin(), cached_.end(), int(g)) - cached_.begin());
  if (slot == cached_.size()) throw Error(ExitCode::kInternal, "wrote an uncached register");
  dirty_[slot] = true;
}

// After code that wrote guest register `g` in the Cpu alone (a byte or word of it, through
// gpr_at(), which wrote the cache's copy back first).
void Emitter::forget_gpr(unsigned g) {
  for (size_t slot = 0; slot < cached_.size(); ++slot)
    if (cached_[slot] == int(g)) forget_slot(slot);
}

// The slot's host register is about to change: what it held must be in the Cpu already.
void Emitter::forget_slot(size_t slot) {
  if (dirty_[slot]) throw Error(ExitCode::kInternal, "a changed register left the cache");
  cached_[slot] = kNoGuest;
}

// After a call that may have changed any guest register (write_back_gprs() came before it).
void Emitter::forget_gprs() {
  cached_.fill(kNoGuest);
  dirty_.fill(false);
}

// The Cpu's copy of every guest register the cache holds changed. Only moves: the host's flags
// stay.
void Emitter::write_back_gprs() {
  for (size_t slot = 0; slot < cached_.size(); ++slot)
    write_back(slot);
}

// Before a call that keeps the Cpu's registers: the cache's caller-saved host registers written
// back and given up.
void Emitter::spill_call_clobbered() {
  for (size_t slot = kCalleeSavedSlots; slot < cached_.size(); ++slot) {
    write_back(slot);
    forget_slot(slot);
  }
}

// The Cpu's copy of guest register `g`, if the cache holds it changed.
void Emitter::write_back_gpr(unsigned g) {
  for (size_t slot = 0; slot < cached_.size(); ++slot)
    if (cached_[slot] == int(g)) write_back(slot);
}

void Emitter::write_back(size_t slot) {
  if (!dirty_[slot]) return;
  mov(gpr64(unsigned(cached_[slot])), cache_reg(slot));
  dirty_[slot] = false;
}

// Guest registers `cached` says the host registers hold, loaded again from the Cpu.
void Emitter::reload_gprs(const CachedGprs& cached) {
  for (size_t slot = 0; slot < cached.size(); ++slot)
    if (cached[slot] != kNoGuest) mov(cache_reg(slot), gpr64(unsigned(cached[slot])));
}

// At a loop's back edge: the cache made to hold what it holds at the loop's top (`to`), each
// guest register in its slot; what else it holds written back. Only moves: the flags stay.
void Emitter::reconcile_gprs(const CachedGprs& to) {
  for (size_t slot = 0; slot < cached_.size(); ++slot) {
    if (cached_[slot] == to[slot]) continue;
    write_back(slot);
    cached_[slot] = kNoGuest;
  }
  for (size_t slot = 0; slot < cached_.size(); ++slot) {
    if (to[slot] == kNoGuest || cached_[slot] == to[slot]) continue;
    mov(cache_reg(slot), gpr64(unsigned(to[slot])));
    cached_[slot] = to[slot];
  }
}

// The slot that holds `g`, else the one to put it in: a free one, else the least recently used,
// whose register is written back first.
size_t Emitter::cache_slot(unsigned g) {
  size_t slot = size_t(std::find(cached_.begin(), cached_.end(), int(g)) - cached_.begin());
  if (slot == cached_.size()) {
    slot = 0;
    for (size_t i = 0; i < cached_.size(); ++i) {
      if (cached_[i] == kNoGuest) {
        slot = i;
        break;
      }
      if (last_use_[i] < last_use_[slot]) slot = i;
    }
    if (cached_[slot] != kNoGuest) write_back(slot);
  }
  last_use_[slot] = ++uses_;
  return slot;
}

Xbyak::Reg64 Emitter::cache_reg(size_t slot) const {
  return Xbyak::Reg64(kCacheRegs[slot]);
}

} // namespace rrvm::emu
